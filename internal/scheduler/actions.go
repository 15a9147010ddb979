package scheduler

import (
	"time"

	"mapreduce/protocol"
)

// Action is something the Scheduler asks its owner to do. Those whose
// result matters report back through the Scheduler method named in their
// comment.
type Action interface{ isAction() }

// Send delivers Msg to a worker's incarnation. A refused connection (a
// worker may register before its port listens) is retried for RetryFor;
// any other failure (a frozen or busy worker) for GiveUpAfter, as long as
// missed heartbeats take to declare the worker dead. Past that, the owner
// calls SendFailed.
type Send struct {
	PID         int
	Incarnation int
	Addr        string
	Msg         protocol.Message
	RetryFor    time.Duration
	GiveUpAfter time.Duration
}

// CloseOutbox drops whatever is still queued for a worker's incarnation
// that died or registered again: those tasks went to other workers. It
// reports nothing back.
type CloseOutbox struct {
	Incarnation int
}

// MakeJobDirs creates a job's directories; on failure the owner calls
// JobDirsFailed.
type MakeJobDirs struct {
	Job  int
	Dirs []string
}

// ScanInput lists the regular files of Dir (sorted, hidden ones skipped, as
// the shell's `cat Dir/*` would read them), checks that each of Executables
// can be run and that OutputDir can be made and written, so that a job that
// cannot succeed fails before any work; the owner calls InputScanned.
type ScanInput struct {
	Job         int
	Dir         string
	Executables []string
	OutputDir   string
}

// Merge merges the sorted Inputs and partitions the lines by key into
// OutputDir/input_0 … input_{Reducers-1}; the owner calls PartitionMerged
// as each partition is complete, then Merged.
type Merge struct {
	Job       int
	Inputs    []string
	OutputDir string
	Reducers  int
}

// MoveOutputs moves Files into Dest, creating it if needed; the owner calls
// OutputsMoved.
type MoveOutputs struct {
	Job   int
	Files []string
	Dest  string
}

func (Send) isAction()        {}
func (CloseOutbox) isAction() {}
func (MakeJobDirs) isAction() {}
func (ScanInput) isAction()   {}
func (Merge) isAction()       {}
func (MoveOutputs) isAction() {}
