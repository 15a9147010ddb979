package scheduler

import (
	"fmt"
	"time"

	"mapreduce/internal/split"
	"mapreduce/protocol"
)

// Event is an input that may change the scheduler's state: a message from
// a worker or a client, a tick of the clock, or the result of I/O that an
// Action asked for. The set is closed (isEvent is unexported) so that Step
// can handle every kind, and the master can pass events as plain values.
// Read-only queries (Snapshot, LogsKept, ShutdownTargets) are not events.
type Event interface{ isEvent() }

// RegisterEvent: a worker registered.
type RegisterEvent struct{ Msg protocol.Register }

// HeartbeatEvent: a worker's heartbeat arrived, perhaps with its tasks'
// progress.
type HeartbeatEvent struct{ Msg protocol.Heartbeat }

// TickEvent: time passed. The scheduler judges dead workers, timed-out
// tasks and speculation on ticks.
type TickEvent struct{}

// StatusEvent: a worker reported on a task.
type StatusEvent struct{ Msg protocol.Status }

// AttemptLogEvent: a worker sent the log of an attempt that cancel_task
// killed.
type AttemptLogEvent struct{ Msg protocol.AttemptLog }

// SubmitEvent: a client submitted a validated job. Step's Result.Job is
// the new job's id.
type SubmitEvent struct{ Spec protocol.NewMasterJob }

// CancelEvent: a client asked to cancel a job. Step's Result.Err says why
// it could not be (the job has ended, or there is no such job).
type CancelEvent struct{ Job int }

// SendFailedEvent: a message to a worker incarnation could not be
// delivered.
type SendFailedEvent struct {
	PID, Incarnation int
	Err              error
}

// JobDirsFailedEvent: MakeJobDirs failed.
type JobDirsFailedEvent struct {
	Job int
	Err error
}

// InputScannedEvent: ScanInput listed the job's input files, or failed.
type InputScannedEvent struct {
	Job   int
	Files []split.File
	Err   error
}

// PartitionMergedEvent: the Merge, still going on, finished one partition.
type PartitionMergedEvent struct{ Job, Partition int }

// MergedEvent: the Merge ended, or failed.
type MergedEvent struct {
	Job int
	Err error
}

// OutputsMovedEvent: MoveOutputs ended, or failed.
type OutputsMovedEvent struct {
	Job int
	Err error
}

// OutputsCommittedEvent: CommitOutputs ended, or failed.
type OutputsCommittedEvent struct {
	Job int
	Err error
}

func (RegisterEvent) isEvent()         {}
func (HeartbeatEvent) isEvent()        {}
func (TickEvent) isEvent()             {}
func (StatusEvent) isEvent()           {}
func (AttemptLogEvent) isEvent()       {}
func (SubmitEvent) isEvent()           {}
func (CancelEvent) isEvent()           {}
func (SendFailedEvent) isEvent()       {}
func (JobDirsFailedEvent) isEvent()    {}
func (InputScannedEvent) isEvent()     {}
func (PartitionMergedEvent) isEvent()  {}
func (MergedEvent) isEvent()           {}
func (OutputsMovedEvent) isEvent()     {}
func (OutputsCommittedEvent) isEvent() {}

// Result is what an event answers besides its actions; only SubmitEvent
// and CancelEvent answer anything, and the master replies with it once
// the actions are carried out.
type Result struct {
	// Job is the id a SubmitEvent's job was given.
	Job int
	// Err is why a CancelEvent did not cancel.
	Err error
	// Later: the scheduler cannot take a StatusEvent's status yet: it
	// restarted, and does not know the worker again yet (or knows it
	// only as one to rejoin), or the status's job waits to start again.
	// The task may be one it adopts once the worker's heartbeat comes:
	// the status must not be acknowledged, and must come again.
	Later bool
}

// Step is the one entry point for events: it applies ev at time now and
// returns the actions the caller must carry out, and for the events that
// answer something, the answer.
func (s *Scheduler) Step(now time.Time, ev Event) ([]Action, Result) {
	switch ev := ev.(type) {
	case RegisterEvent:
		return s.onRegister(now, ev.Msg), Result{}
	case HeartbeatEvent:
		return s.onHeartbeat(now, ev.Msg), Result{}
	case TickEvent:
		return s.onTick(now), Result{}
	case StatusEvent:
		later := s.takesLater(ev.Msg)
		return s.onStatusReceived(now, ev.Msg), Result{Later: later}
	case AttemptLogEvent:
		return s.onAttemptLogReceived(now, ev.Msg), Result{}
	case SubmitEvent:
		id, actions := s.onSubmit(now, ev.Spec)
		return actions, Result{Job: id}
	case CancelEvent:
		actions, err := s.onCancel(now, ev.Job)
		return actions, Result{Err: err}
	case SendFailedEvent:
		return s.onSendFailed(now, ev.PID, ev.Incarnation, ev.Err), Result{}
	case JobDirsFailedEvent:
		return s.onJobDirsFailed(now, ev.Job, ev.Err), Result{}
	case InputScannedEvent:
		return s.onInputScanned(now, ev.Job, ev.Files, ev.Err), Result{}
	case PartitionMergedEvent:
		return s.onPartitionMerged(now, ev.Job, ev.Partition), Result{}
	case MergedEvent:
		return s.onMerged(now, ev.Job, ev.Err), Result{}
	case OutputsMovedEvent:
		return s.onOutputsMoved(now, ev.Job, ev.Err), Result{}
	case OutputsCommittedEvent:
		return s.onOutputsCommitted(now, ev.Job, ev.Err), Result{}
	case RestoreEvent:
		return s.onRestore(now, ev.State), Result{}
	default:
		panic(fmt.Sprintf("unknown event %T", ev))
	}
}
