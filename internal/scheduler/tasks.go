package scheduler

import (
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/partition"
	"mapreduce/internal/split"
	"mapreduce/protocol"
)

// Attempt outcomes.
const (
	OutcomeFinished   = "finished"
	OutcomeFailed     = "failed"
	OutcomeWorkerDead = "worker_dead"
	OutcomeCancelled  = "cancelled"
	// OutcomeRetry ends an attempt that failed for want of an input that
	// may be produced again; the task runs again.
	OutcomeRetry = "retry"
	// OutcomeSuperseded ends a speculative copy that lost: another copy of
	// its task finished first.
	OutcomeSuperseded = "superseded"
	// OutcomeTimedOut ends an attempt that made no progress for its
	// timeout; the task runs again, up to Config.MaxAttempts times.
	OutcomeTimedOut = "timed_out"
	// OutcomeLost ends an attempt that a worker reporting progress never
	// listed: the task message was lost.
	OutcomeLost = "lost"
	// OutcomeWorkerFault ends an attempt that its worker failed for a
	// fault of its own (health.go); the task runs again, elsewhere if it
	// can.
	OutcomeWorkerFault = "worker_fault"
)

// maxRetries bounds how often a task that failed for a missing input runs
// again before its job fails.
const maxRetries = 3

type taskState int

const (
	taskPending taskState = iota
	taskRunning
	taskDone
	taskFailed
	// taskCancelled is a task of a failed job that never finished.
	taskCancelled
)

var taskStateNames = [...]string{"pending", "running", "done", "failed", "cancelled"}

// attempt is one assignment of a task to a worker.
type attempt struct {
	worker  *worker
	start   time.Time
	end     time.Time
	outcome string
	// progress is the last count the worker's heartbeats gave, progressed
	// when it last changed (start, before any); listed, whether a heartbeat
	// has listed the attempt at all; missed, how many left it out since.
	progress   int64
	progressed time.Time
	listed     bool
	missed     int
	// statusLine is the last reporter:status: line the worker gave;
	// logged, whether the master keeps the attempt's log.
	statusLine string
	logged     bool
	// number numbers the attempt among its task's, from 1, as its
	// identity does on the wire: in order, except an attempt adopted from
	// a worker after a restart, which keeps the number it was sent with.
	number int
	// life is the master life that sent the attempt: this one's
	// (Scheduler.life), or an earlier one's for an adopted attempt.
	life int
	// output is the directory (or a sort task's file) the attempt was
	// sent to write, and outputs the files it writes: its task's own, or
	// apart (apart.go).
	output  string
	outputs []string
}

func (a *attempt) live() bool { return a.end.IsZero() }

// taskKind is what a task is on the wire, and so which workers can run it.
type taskKind int

const (
	// kindFiles is a new_worker_job over whole files, an output per input,
	// as the reference protocol has it.
	kindFiles taskKind = iota
	// kindSplit is a new_worker_job over byte ranges of files into one
	// output (our extension: only workers that announce CapSplits).
	kindSplit
	// kindSort is a new_sort_job.
	kindSort
	// kindShuffleMap is a new_worker_job over a split whose output stays
	// on its worker as a run (shuffle.go).
	kindShuffleMap
	// kindShuffleReduce is a new_worker_job that reads a key range of
	// every run.
	kindShuffleReduce
)

// taskKindDef is what differs between kinds of task.
type taskKindDef struct {
	name string
	// needs is the capability a worker must announce to run the task; ""
	// for the reference protocol's tasks, which any worker runs.
	needs string
	// files: the task's outputs are files under the master's var, which
	// later tasks read and statuses may name (job.byOutput).
	files bool
}

var taskKinds = [...]taskKindDef{
	kindFiles:         {name: "files", files: true},
	kindSplit:         {name: "split", needs: protocol.CapSplits, files: true},
	kindSort:          {name: "sort", files: true},
	kindShuffleMap:    {name: "shuffle-map", needs: protocol.CapShuffle},
	kindShuffleReduce: {name: "shuffle-reduce", needs: protocol.CapShuffle},
}

func (k taskKind) String() string { return taskKinds[k].name }

// task is one unit of a stage that a worker runs: a new_worker_job or a
// new_sort_job. It is known by its job, its stage and its index there
// (the identity our workers echo), and, for a reference-only worker,
// which echoes only paths, by its outputs (job.byOutput).
type task struct {
	job   *job
	stage *stage
	index int
	kind  taskKind
	// inputs are the files the task reads.
	inputs []string
	// ranges, for a map task that reads a split, are the byte ranges of
	// inputs it reads; nil for a task that reads whole files. Only a
	// worker that takes splits runs it.
	ranges []protocol.InputRange
	// output is the directory (map, combine, reduce) or file (sort) the
	// worker writes.
	output string
	// own are the files the task produces, absolute and clean, as planned
	// (the tasks that read them are planned with these); outputs those of
	// its accepted attempt, which they are sent: its own, or an attempt's
	// that wrote apart (apart.go). A status naming any of them reports
	// this task. inPlace is the attempt of a reference-only worker that
	// may still be writing own in place; unknownInPlace, one that an
	// earlier master sent may.
	own            []string
	outputs        []string
	inPlace        *attempt
	unknownInPlace bool
	state          taskState
	attempts       []*attempt
	retries        int
	// counters are those of the accepted attempt (see reports.go);
	// countersRefused counts those of its status the bounds refused.
	counters        protocol.Counters
	countersRefused int
	// holder, for a finished map task of the shuffle, is the worker that
	// keeps its run; samples are the run's sample keys, until the
	// reducers' ranges are chosen. fetchRetries counts a reduce task's
	// runs again for runs it could not fetch.
	holder       *worker
	samples      []partition.Sample
	fetchRetries int
}

// logger adds the task's coordinates to a log event.
func (t *task) logger(e *zerolog.Event) *zerolog.Event {
	return e.Int("job", t.job.id).Str("stage", t.stage.kind.String()).Int("task", t.index)
}

// attemptOn returns w's live attempt at t, or nil.
func (t *task) attemptOn(w *worker) *attempt {
	for _, a := range t.attempts {
		if a.worker == w && a.live() {
			return a
		}
	}
	return nil
}

// needs is what a worker must announce to run a task: the capability of
// its kind, and CapPrograms for a task that runs a program of a job whose
// programs need it (arguments, cmdenv, an input key).
type needs struct {
	kind     string
	programs bool
}

// needs is what a worker must announce to run t.
func (t *task) needs() needs {
	return needs{kind: taskKinds[t.kind].needs, programs: t.kind != kindSort && t.job.spec.NeedsPrograms()}
}

// takes reports whether w can run t.
func (t *task) takes(w *worker) bool { return w.can(t.needs()) }

// identity is the task's identity in a message to a worker about attempt
// a.
func (t *task) identity(a *attempt) *protocol.TaskIdentity {
	return &protocol.TaskIdentity{JobID: t.job.id, Stage: t.stage.kind.String(), Index: t.index, Attempt: a.number, Life: a.life}
}

// describeInputs names what t reads, for error messages.
func (t *task) describeInputs() string {
	if t.ranges != nil {
		return split.Describe(t.ranges)
	}
	return strings.Join(t.inputs, ", ")
}

// taskAt returns j's task with identity id, or nil.
func (j *job) taskAt(id protocol.TaskIdentity) *task {
	if id.JobID != j.id || id.Index < 0 {
		return nil
	}
	for _, st := range j.stages {
		if st.kind.String() == id.Stage && id.Index < len(st.tasks) {
			return st.tasks[id.Index]
		}
	}
	return nil
}

// reported finds the task of the current job that a worker's message
// names: by the identity our workers echo, else by its output, as a
// reference-only worker names it. Nil if there is none.
func (s *Scheduler) reported(id *protocol.TaskIdentity, output string) *task {
	j := s.current
	switch {
	case j == nil:
		return nil
	case id != nil:
		return j.taskAt(*id)
	}
	return j.byOutput[s.abs(output)]
}

// finishedEarlier reports whether id names an attempt on w that finished,
// of a job that is no longer the current one.
func (s *Scheduler) finishedEarlier(w *worker, id *protocol.TaskIdentity) bool {
	if id == nil {
		return false
	}
	j := s.job(id.JobID)
	if j == nil || j == s.current {
		return false
	}
	t := j.taskAt(*id)
	return t != nil && t.finishedOn(w, id)
}

// finishedOn reports whether the attempt of t that id names (the last
// on w, when id is nil) finished on w.
func (t *task) finishedOn(w *worker, id *protocol.TaskIdentity) bool {
	for i := len(t.attempts) - 1; i >= 0; i-- {
		if a := t.attempts[i]; a.worker == w && sameAttempt(id, t, a) {
			return a.outcome == OutcomeFinished
		}
	}
	return false
}

// triedOn reports whether an attempt of t timed out on w, or failed there
// for w's own fault: another worker is a better bet for it.
func (t *task) triedOn(w *worker) bool {
	return slices.ContainsFunc(t.attempts, func(a *attempt) bool {
		return a.worker == w && (a.outcome == OutcomeTimedOut || a.outcome == OutcomeWorkerFault)
	})
}

// liveAttempt returns t's first live attempt, or nil.
func (t *task) liveAttempt() *attempt {
	for _, a := range t.attempts {
		if a.live() {
			return a
		}
	}
	return nil
}

// running counts t's live attempts: more than one only when speculating.
func (t *task) running() int {
	n := 0
	for _, a := range t.attempts {
		if a.live() {
			n++
		}
	}
	return n
}

// endAttempt ends attempt a at t and takes t from a's worker.
func (t *task) endAttempt(now time.Time, a *attempt, outcome string) {
	a.end = now
	a.outcome = outcome
	t.stage.live--
	if outcome == OutcomeFinished {
		t.stage.noteFinished(a)
	}
	a.worker.held = slices.DeleteFunc(a.worker.held, func(h *task) bool { return h == t })
}

// abandon ends attempt a of t, which did not finish, as outcome. t goes
// back to pending unless another attempt of it is live (speculating); it
// reports whether t went back. This is the one place an attempt that did
// not finish gives its task back.
func (t *task) abandon(now time.Time, a *attempt, outcome string) bool {
	t.endAttempt(now, a, outcome)
	if t.running() > 0 {
		return false
	}
	t.setState(taskPending)
	return true
}

// setState moves t to state, keeping its stage's counts.
func (t *task) setState(state taskState) {
	t.stage.count[t.state]--
	t.stage.count[state]++
	t.state = state
}
