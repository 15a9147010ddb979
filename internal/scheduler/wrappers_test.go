package scheduler

import (
	"slices"
	"time"

	"mapreduce/internal/split"
	"mapreduce/protocol"
)

// The methods below, with the names and signatures the events had before
// Step, keep the unit tests short. Each goes through Step, as the master
// does, and leaves out the records for the journal, which journal_test.go
// checks.

func (s *Scheduler) Register(now time.Time, msg protocol.Register) []Action {
	return s.apply(now, RegisterEvent{Msg: msg})
}

func (s *Scheduler) Heartbeat(now time.Time, msg protocol.Heartbeat) []Action {
	return s.apply(now, HeartbeatEvent{Msg: msg})
}

func (s *Scheduler) Tick(now time.Time) []Action { return s.apply(now, TickEvent{}) }

func (s *Scheduler) StatusReceived(now time.Time, msg protocol.Status) []Action {
	return s.apply(now, StatusEvent{Msg: msg})
}

func (s *Scheduler) AttemptLogReceived(now time.Time, msg protocol.AttemptLog) []Action {
	return s.apply(now, AttemptLogEvent{Msg: msg})
}

func (s *Scheduler) Submit(now time.Time, spec protocol.NewMasterJob) (int, []Action) {
	actions, r := s.Step(now, SubmitEvent{Spec: spec})
	return r.Job, unjournaled(actions)
}

func (s *Scheduler) Cancel(now time.Time, jobID int) ([]Action, error) {
	actions, r := s.Step(now, CancelEvent{Job: jobID})
	return unjournaled(actions), r.Err
}

func (s *Scheduler) SendFailed(now time.Time, pid, incarnation int, err error) []Action {
	return s.apply(now, SendFailedEvent{PID: pid, Incarnation: incarnation, Err: err})
}

func (s *Scheduler) JobDirsFailed(now time.Time, jobID int, err error) []Action {
	return s.apply(now, JobDirsFailedEvent{Job: jobID, Err: err})
}

func (s *Scheduler) InputScanned(now time.Time, jobID int, files []split.File, err error) []Action {
	return s.apply(now, InputScannedEvent{Job: jobID, Files: files, Err: err})
}

func (s *Scheduler) PartitionMerged(now time.Time, jobID, partition int) []Action {
	return s.apply(now, PartitionMergedEvent{Job: jobID, Partition: partition})
}

func (s *Scheduler) Merged(now time.Time, jobID int, err error) []Action {
	return s.apply(now, MergedEvent{Job: jobID, Err: err})
}

func (s *Scheduler) OutputsMoved(now time.Time, jobID int, err error) []Action {
	return s.apply(now, OutputsMovedEvent{Job: jobID, Err: err})
}

func (s *Scheduler) OutputsCommitted(now time.Time, jobID int, err error) []Action {
	return s.apply(now, OutputsCommittedEvent{Job: jobID, Err: err})
}

// apply is Step for an event that answers nothing.
func (s *Scheduler) apply(now time.Time, ev Event) []Action {
	actions, _ := s.Step(now, ev)
	return unjournaled(actions)
}

// unjournaled is actions without its Persists.
func unjournaled(actions []Action) []Action {
	return slices.DeleteFunc(actions, func(a Action) bool { _, ok := a.(Persist); return ok })
}
