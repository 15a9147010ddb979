package scheduler

import (
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"mapreduce/internal/jobspec"
	"mapreduce/internal/journal"
	"mapreduce/internal/layout"
	"mapreduce/protocol"
)

type job struct {
	id     int
	spec   protocol.NewMasterJob
	dir    layout.Job
	stages []*stage
	// byOutput finds a task by an output file, absolute and clean: a
	// status names its task by its outputs.
	byOutput map[string]*task
	// failed is set once the job has failed; errors say why (clipped, at
	// most MaxJobErrors of them, and errorsDropped counts the others).
	// cancelled is set by a CancelEvent.
	failed        bool
	cancelled     bool
	errors        []string
	errorsDropped int
	submitted     time.Time
	started       time.Time
	ended         time.Time
	// logged: a task's log was kept; logsRemoved: they are gone since.
	logged, logsRemoved bool
	// kindWait: the job's tasks waited for a worker that can run them,
	// and the log said so.
	kindWait bool
	// faulted: a task of the job failed for a fault of its worker's own
	// (health.go).
	faulted bool
	// shuffle: the job runs the shuffle between workers (shuffle.go);
	// cuts are the reducers' key ranges, once chosen.
	shuffle bool
	cuts    [][]byte
	// commitDirMade: the job's tasks write its outputs straight into its
	// commit directory (the shuffle's reducers, a map-only job's mappers),
	// which is discarded if the job does not commit.
	commitDirMade bool
	// pieces are where the runs are, for the reduce tasks' messages
	// (runPieces); nil until asked for once every run is made.
	pieces []protocol.Piece
	// unservable are the workers from which a reducer could not fetch
	// one of the job's runs: the runs they hold are made again, elsewhere
	// if there is another worker.
	unservable map[*worker]bool
	// counterSum, the sum of the tasks' counters, is nil until asked for,
	// and after a task's counters change in a way adding cannot follow
	// (addToCounterSum); counterSumDropped counts what the bounds refused,
	// in the tasks' counters and in the sum.
	counterSum        protocol.Counters
	counterSumDropped int
	// kept is what the journal kept of a job that had not ended when the
	// master restarted, until its map tasks are planned again from it;
	// frozen is the status of one that had ended (journal.go).
	kept   *journal.Job
	frozen *protocol.JobInfo
	// later is what the journal kept of j's stages after map: their plans
	// and the tasks that finished, taken back as the stages plan them.
	later map[string]*journal.Later
	// ranBefore: an earlier master ran j, whose attempts may still be
	// writing its tasks' outputs in place (apart.go).
	ranBefore bool
	// adopted are attempts at j's map tasks, by index, that workers ran
	// for an earlier master, to be taken up when j's map tasks are planned
	// again from kept.
	adopted map[int]adoption
	// life is the master life that accepted or restored j: its new
	// attempts' identities carry it.
	life int
}

// state is the job's public state, derived from its stages.
func (j *job) state() string {
	switch {
	case j.frozen != nil:
		return j.frozen.State
	case j.failed:
		return protocol.JobFailed
	case j.cancelled:
		return protocol.JobCancelled
	case j.started.IsZero():
		return protocol.JobQueued
	}
	for cur := j.current(); cur != nil; cur = j.previous(cur) {
		if state := cur.def().state; state != "" {
			return state
		}
	}
	return protocol.JobDone
}

// mapOnly: the job has no reducers; its map outputs are its outputs.
func (j *job) mapOnly() bool { return jobspec.MapOnly(j.spec) }

func (j *job) over() bool { return !j.ended.IsZero() }

// onSubmit queues a validated job and returns its id. The job's directories
// are made before anything else happens to it.
func (s *Scheduler) onSubmit(now time.Time, spec protocol.NewMasterJob) (int, []Action) {
	j := &job{id: s.first + len(s.jobs), spec: spec, submitted: now, stages: pipeline(spec), life: s.life}
	j.dir = layout.JobDir(s.cfg.VarDir, j.id)
	s.jobs = append(s.jobs, j)
	s.queue = append(s.queue, j)
	s.log.Info().Int("job", j.id).Str("input", spec.InputDirectory).Str("output", spec.OutputDirectory).
		Msg("job queued")
	actions := []Action{acceptedRecord(j), MakeJobDirs{Job: j.id, Dirs: j.dir.Dirs(spec.CombinerExecutable != "")}}
	return j.id, append(actions, s.advance(now)...)
}

// onJobDirsFailed fails a job whose directories could not be made.
func (s *Scheduler) onJobDirsFailed(now time.Time, jobID int, err error) []Action {
	j := s.job(jobID)
	if j == nil || j.over() {
		return nil
	}
	return append(s.fail(now, j, fmt.Sprintf("make job directories: %v", err)), s.advance(now)...)
}

// advance moves the current job, or the next queued one, as far as it can
// go now: it starts jobs, begins and ends stages and hands out tasks.
func (s *Scheduler) advance(now time.Time) []Action {
	var actions []Action
	for {
		if s.current == nil {
			if len(s.queue) == 0 || len(s.liveWorkers()) == 0 || s.rejoining(now, s.queue[0]) {
				return actions
			}
			s.current = s.queue[0]
			s.queue = s.queue[1:]
			s.current.started = now
			s.current.byOutput = make(map[string]*task)
			s.log.Info().Int("job", s.current.id).Msg("job started")
		}
		j := s.current
		actions = append(actions, s.step(now, j)...)
		if s.current == j {
			return actions
		}
	}
}

// succeed ends a job whose every stage has finished. An attempt still
// running (a task run again for a lost input that another copy made
// anyway) is cancelled, so that its worker is free.
func (s *Scheduler) succeed(now time.Time, j *job) []Action {
	s.log.Info().Int("job", j.id).Stringer("took", now.Sub(j.started)).Msg("job done")
	return s.stop(now, j)
}

// fail ends a job as failed, and returns the actions that kill its
// attempts still running; their results will be ignored. why is kept
// clipped to MaxErrorText, whatever built it: it may hold a worker's text.
func (s *Scheduler) fail(now time.Time, j *job, why string) []Action {
	why = clip(why, MaxErrorText)
	s.log.Error().Int("job", j.id).Str("error", why).Msg("job failed")
	j.addError(why)
	j.failed = true
	s.forgive(j)
	return s.stop(now, j)
}

// stop ends job j now: it leaves the queue, or stops being current, and
// its attempts still running are cancelled, killed on the workers that take
// cancel_task. Its directory of intermediates is then removed, unless they
// are kept.
func (s *Scheduler) stop(now time.Time, j *job) []Action {
	j.ended = now
	s.queue = slices.DeleteFunc(s.queue, func(q *job) bool { return q == j })
	var actions []Action
	for _, st := range j.stages {
		for _, t := range st.tasks {
			for _, a := range t.attempts {
				if a.live() {
					actions = append(actions, s.cancelAttempt(t, a)...)
					t.endAttempt(now, a, OutcomeCancelled)
				}
			}
			if t.state != taskPending && t.state != taskRunning {
				continue
			}
			if !j.failed && !j.cancelled && slices.ContainsFunc(t.attempts, func(a *attempt) bool { return a.outcome == OutcomeFinished }) {
				t.setState(taskDone) // its output served the job
			} else {
				t.setState(taskCancelled)
			}
		}
	}
	if s.current == j {
		s.current = nil
	}
	if !s.cfg.KeepIntermediates {
		actions = append(actions, RemoveJobDir{Job: j.id, Dir: string(j.dir)})
	}
	actions = append(actions, s.endShuffle(j)...)
	if (j.failed || j.cancelled) && j.commitDirMade {
		actions = append(actions, DiscardOutputs{Job: j.id, Temp: j.commitDir()})
	}
	actions = append(actions, s.pruneLogs(j)...)
	return append(actions, endedRecord(j))
}

// onCancel ends job jobID as cancelled, queued or running, and returns the
// actions that kill its attempts. It is an error to cancel a job that has
// ended.
func (s *Scheduler) onCancel(now time.Time, jobID int) ([]Action, error) {
	j := s.job(jobID)
	if j == nil {
		return nil, fmt.Errorf("no job %d", jobID)
	}
	if j.over() {
		return nil, fmt.Errorf("job %d has ended: %s", jobID, j.state())
	}
	s.log.Warn().Int("job", j.id).Msg("job cancelled")
	j.cancelled = true
	return append(s.stop(now, j), s.advance(now)...), nil
}

func (s *Scheduler) job(id int) *job {
	if id < s.first || id >= s.first+len(s.jobs) {
		return nil
	}
	return s.jobs[id-s.first]
}

// abs makes a path a worker reported absolute, against the master's
// working directory, and clean.
func (s *Scheduler) abs(p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(s.cfg.WorkDir, p)
	}
	return filepath.Clean(p)
}
