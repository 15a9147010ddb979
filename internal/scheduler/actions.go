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
// steps a SendFailedEvent.
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

// MakeJobDirs creates a job's directories; on failure the owner steps a
// JobDirsFailedEvent.
type MakeJobDirs struct {
	Job  int
	Dirs []string
}

// ScanInput lists the regular files of Dir (sorted, hidden ones skipped, as
// the shell's `cat Dir/*` would read them), checks that each of Executables
// can be run and that OutputDir is new or empty (an earlier job may have
// filled it since this one was accepted) and can be made and written, so
// that a job that cannot succeed fails before any work; the owner steps an
// InputScannedEvent. WorkDir is the job's working directory, where the
// programs run and bare program names are looked for first; "" for none.
type ScanInput struct {
	Job         int
	Dir         string
	Executables []string
	WorkDir     string
	OutputDir   string
}

// Merge merges the sorted Inputs and partitions the lines by key into
// OutputDir/input_0 … input_{Reducers-1}; the owner steps a
// PartitionMergedEvent as each partition is complete, then a MergedEvent.
type Merge struct {
	Job       int
	Inputs    []string
	OutputDir string
	Reducers  int
}

// MoveOutputs is the first step of a job's commit: it makes Dest if
// missing and Temp, a new directory inside it, and moves Files into Temp:
// by rename, or by copy across file systems. Nothing appears under a final
// name yet. A move that fails removes Temp and all it holds; the owner
// steps an OutputsMovedEvent.
type MoveOutputs struct {
	Job   int
	Files []string
	Dest  string
	Temp  string
}

// CommitOutputs is the second step: it renames each of Names, paths in
// Temp, into Dest under its base name (an output that an attempt wrote
// apart is in a directory of its own in Temp), which must not hold them
// yet, removes Temp (what a late writer keeps adding there is left, and
// logged) and writes an empty layout.SuccessMarker last. If a step fails it removes what it put
// into Dest, which is left as it was found. Renames within a directory
// are quick and atomic: the owner carries it out at once, on the
// goroutine that owns the Scheduler, so that no event (a cancel) comes
// between the decision to commit and the commit; it then steps an
// OutputsCommittedEvent.
type CommitOutputs struct {
	Job   int
	Temp  string
	Dest  string
	Names []string
}

// DiscardOutputs removes Temp, a job's outputs moved for a commit that will
// not happen: the commit failed, or the job ended while they were moved.
// It reports nothing back.
type DiscardOutputs struct {
	Job  int
	Temp string
}

// RemoveJobDir removes Dir, the directory of an ended job's intermediate
// files, and all it holds, off the goroutine that owns the Scheduler.
// Programs of a failed or cancelled job may still run on workers for a
// moment: their outputs fail to be written, and their statuses are
// ignored. It reports nothing back.
type RemoveJobDir struct {
	Job int
	Dir string
}

// KeepLog writes Text, what an attempt of a task wrote to stderr, to Path
// (layout.TaskLog), where task_logs finds it. It is quick: the owner
// carries it out at once, so that a RemoveLogs that follows finds it. It
// reports nothing back.
type KeepLog struct {
	Job  int
	Path string
	Text string
}

// RemoveLogs removes Dir, the logs of a job that is no longer among the
// newest ended jobs whose logs are kept. It reports nothing back.
type RemoveLogs struct {
	Job int
	Dir string
}

func (Send) isAction()           {}
func (KeepLog) isAction()        {}
func (RemoveLogs) isAction()     {}
func (CloseOutbox) isAction()    {}
func (MakeJobDirs) isAction()    {}
func (ScanInput) isAction()      {}
func (Merge) isAction()          {}
func (MoveOutputs) isAction()    {}
func (CommitOutputs) isAction()  {}
func (DiscardOutputs) isAction() {}
func (RemoveJobDir) isAction()   {}
