package protocol

import (
	"fmt"
	"strings"
	"time"
)

// Job states reported in JobInfo.State.
const (
	JobQueued   = "queued"
	JobMapping  = "mapping"
	JobGrouping = "grouping"
	JobReducing = "reducing"
	JobDone     = "done"
	JobFailed   = "failed"
	// JobCancelled: cancel_job ended the job.
	JobCancelled = "cancelled"
)

// Phases of a job: the stages that run tasks on workers, in the order a job
// runs them, as PhaseInfo.Name and TaskInfo.Phase name them. A job without a
// combiner has an empty combine phase.
const (
	PhaseMap     = "map"
	PhaseSort    = "sort"
	PhaseCombine = "combine"
	PhaseReduce  = "reduce"
)

// Phases lists the phases in order.
var Phases = []string{PhaseMap, PhaseSort, PhaseCombine, PhaseReduce}

// ClusterStatus answers a job_status request: the jobs asked for and every
// worker the master knows. An answer for every job lists the tasks of the
// newest jobs and of those not yet ended only, and leaves out the oldest
// jobs if listing them would make it too large: JobsOmitted counts those.
// An answer for one job is whole.
type ClusterStatus struct {
	Jobs        []JobInfo    `json:"jobs"`
	JobsOmitted int          `json:"jobs_omitted,omitempty"`
	Workers     []WorkerInfo `json:"workers"`
}

// JobInfo is one job's state and progress.
type JobInfo struct {
	ID              int         `json:"job_id"`
	State           string      `json:"state"`
	InputDirectory  string      `json:"input_directory"`
	OutputDirectory string      `json:"output_directory"`
	Phases          []PhaseInfo `json:"phases"`
	Errors          []string    `json:"errors,omitempty"`
	Submitted       time.Time   `json:"submitted"`
	Started         *time.Time  `json:"started,omitempty"`
	Ended           *time.Time  `json:"ended,omitempty"`
	Tasks           []TaskInfo  `json:"tasks,omitempty"`
	// Counters sum the counters of the accepted attempt of each task;
	// CountersDropped counts those refused by the bounds (MaxCounters).
	Counters        Counters `json:"counters,omitempty"`
	CountersDropped int      `json:"counters_dropped,omitempty"`
	// Logs: the master keeps logs of the job's tasks (task_logs).
	Logs bool `json:"logs,omitempty"`
	// The job as submitted, and when each of its stages (the master's
	// own among them: merge, partition, commit) began and ended; listed
	// with the tasks only.
	MapperExecutable   string      `json:"mapper_executable,omitempty"`
	ReducerExecutable  string      `json:"reducer_executable,omitempty"`
	CombinerExecutable string      `json:"combiner_executable,omitempty"`
	NumMappers         int         `json:"num_mappers,omitempty"`
	NumReducers        int         `json:"num_reducers,omitempty"`
	Stages             []StageInfo `json:"stages,omitempty"`
	// Waiting says why a job that has not ended cannot go on now, such
	// as "no worker registered"; empty when it can.
	Waiting string `json:"waiting,omitempty"`
}

// StageInfo is when one stage of a job began and ended.
type StageInfo struct {
	Name    string     `json:"name"`
	Started *time.Time `json:"started,omitempty"`
	Ended   *time.Time `json:"ended,omitempty"`
}

// Progress sums up what a brief answer says of the job's progress, for
// JobStatusRequest.Seen: its state, its phases' counts, its errors and why
// it waits.
func (j JobInfo) Progress() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s %d %q", j.ID, j.State, len(j.Errors), j.Waiting)
	for _, p := range j.Phases {
		fmt.Fprintf(&b, " %s %d/%d", p.Name, p.Done, p.Total)
	}
	return b.String()
}

// PhaseInfo counts a phase's tasks.
type PhaseInfo struct {
	Name  string `json:"name"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

// TaskInfo is one task and every attempt to run it, the master's record of
// who ran what and when.
type TaskInfo struct {
	Phase    string        `json:"phase"`
	Index    int           `json:"index"`
	State    string        `json:"state"`
	Attempts []AttemptInfo `json:"attempts"`
	// IO is what the task's accepted attempt read and wrote, from its
	// built-in counters; nil until it finished, or if its worker sends
	// no counters (a reference-only worker).
	IO *TaskIO `json:"io,omitempty"`
}

// TaskIO is a task's built-in counters (BuiltinCounter) for its phase.
type TaskIO struct {
	InputRecords  int64 `json:"input_records"`
	InputBytes    int64 `json:"input_bytes"`
	OutputRecords int64 `json:"output_records"`
	OutputBytes   int64 `json:"output_bytes"`
}

// TaskIOFrom takes phase's built-in counters from c; nil if c has none.
func TaskIOFrom(c Counters, phase string) *TaskIO {
	g, ok := c[CounterGroup]
	if !ok {
		return nil
	}
	in, inOK := g[BuiltinCounter(phase, "input_bytes")]
	out, outOK := g[BuiltinCounter(phase, "output_bytes")]
	if !inOK && !outOK {
		return nil
	}
	return &TaskIO{
		InputRecords: g[BuiltinCounter(phase, "input_records")], InputBytes: in,
		OutputRecords: g[BuiltinCounter(phase, "output_records")], OutputBytes: out,
	}
}

// AttemptInfo is one assignment of a task to a worker.
type AttemptInfo struct {
	WorkerPID int        `json:"worker_pid"`
	Start     time.Time  `json:"start"`
	End       *time.Time `json:"end,omitempty"`
	// Outcome is empty while running, then finished, failed, worker_dead,
	// cancelled (the job failed), retry (an input was missing; the task
	// runs again), worker_fault (the worker failed it for a fault of its
	// own; the task runs again, elsewhere) or superseded (a speculative
	// copy that lost).
	Outcome string `json:"outcome,omitempty"`
	// StatusLine is the attempt's last reporter:status: line.
	StatusLine string `json:"status_line,omitempty"`
	// Log: the master keeps what the attempt wrote to stderr; ask for it
	// with task_logs.
	Log bool `json:"log,omitempty"`
}

// WorkerInfo is one worker as the master sees it.
type WorkerInfo struct {
	PID           int       `json:"worker_pid"`
	Host          string    `json:"worker_host"`
	Port          int       `json:"worker_port"`
	State         string    `json:"state"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	Tasks         int       `json:"tasks"`
	// Excluded says why a worker in state excluded takes no task (the
	// failures of its own that excluded it), and ExcludedUntil when it
	// takes tasks again.
	Excluded      string     `json:"excluded,omitempty"`
	ExcludedUntil *time.Time `json:"excluded_until,omitempty"`
}
