// Package scheduler holds the master's state: its jobs, their stages and
// tasks, and the workers that run them. It does no I/O and reads no clock.
// Each event (a message, a tick, the result of some I/O) is a value of the
// closed set in events.go, passed with the time to Step, which returns the
// Actions the caller must carry out; the results of those actions come back
// as further events. One goroutine owns a Scheduler.
//
// Files by concern:
//
//	events.go    the events and Step, the one entry point for them
//	workers.go   registration, heartbeats, death, the worker list
//	jobs.go      submission, the job queue, a job's end
//	stages.go    a job's pipeline of stages: what each plans and when it ends
//	commit.go    the commit stage: a job's outputs into place, whole
//	tasks.go     tasks and their attempts
//	dispatch.go  handing tasks to workers, speculation
//	status.go    a worker's status for a task
//	health.go    failures of a worker's own; excluded workers
//	deadlines.go task deadlines: progress, timeouts, lost task messages
//	reports.go   what tasks report: counters, status lines, logs
//	snapshot.go  the job_status reply
//	journal.go   what the journal keeps, and jobs rebuilt from it
package scheduler

import (
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/liveness"
)

// Scheduler is the master's state. Its methods are not safe for concurrent
// use: one goroutine owns it.
type Scheduler struct {
	cfg Config
	log zerolog.Logger
	// jobs are by id, from first: ids count on from those of the journal
	// a master started with --fresh emptied.
	jobs  []*job
	first int
	// life numbers this master's start on its var (journal.State.Lives);
	// restored is when it restored the journal's jobs.
	life     int
	restored time.Time
	queue    []*job
	current  *job
	// workers are by workerKey.
	workers map[string]*worker
	// seq numbers worker incarnations.
	seq   int
	beats *liveness.Tracker[string]
	// dead are the workers found dead, in the order they died (some may
	// have come back since), to be forgotten (forgetDead).
	dead []*worker
	// excluded are the workers excluded for failures of their own, until
	// readmit ends their exclusion (health.go).
	excluded []*worker
	// logged lists the ended jobs whose logs are kept, oldest first.
	logged []int
}

// New returns a Scheduler with no jobs and no workers.
func New(cfg Config, log zerolog.Logger) *Scheduler {
	return &Scheduler{
		cfg:     cfg,
		log:     log,
		workers: make(map[string]*worker),
		beats:   liveness.New[string](),
	}
}
