// Package protocol defines the JSON messages that the master, the workers and
// job clients exchange and the Transport that moves them: TCP with one
// document per connection and UDP heartbeats, or an in-memory network for
// tests.
//
// The reference protocol is a 2017 course's project spec ("Project 4: Make
// MapReduce Great Again", not in this repository): its eight messages are kept
// exactly, field names included. Our extensions (extra message types, extra
// fields, extra status values) are marked as such; a peer that knows only
// the reference protocol never sees them, or ignores them as it ignores any
// unknown field. docs/protocol.md describes every message.
package protocol

import "time"

// Message is one protocol message. Type is the message_type that Encode
// stamps on the wire and that Decode dispatches on.
type Message interface{ Type() string }

// Message types of the reference protocol.
const (
	TypeRegister     = "register"
	TypeRegisterAck  = "register_ack"
	TypeNewMasterJob = "new_master_job"
	TypeNewWorkerJob = "new_worker_job"
	TypeNewSortJob   = "new_sort_job"
	TypeStatus       = "status"
	TypeHeartbeat    = "heartbeat"
	TypeShutdown     = "shutdown"
)

// Message types of our extensions. Only clients that ask for them see them.
const (
	// TypeJobStatus asks the master for the state of its jobs and workers;
	// the answer comes back on the same connection.
	TypeJobStatus = "job_status"
	// TypeJobStatusReply is that answer, a ClusterStatus.
	TypeJobStatusReply = "job_status_reply"
	// TypeJobAccepted answers a new_master_job on its own connection.
	TypeJobAccepted = "job_accepted"
	// TypeError answers a request the master refused.
	TypeError = "error"
	// TypeCancelTask tells a worker that announced CapCancel to kill a task.
	TypeCancelTask = "cancel_task"
	// TypeCancelJob asks the master to cancel a job; the answer is the job's
	// job_status_reply, or an error.
	TypeCancelJob = "cancel_job"
	// TypeTaskLogs asks the master for the logs of a job's tasks; the
	// answer is a task_logs_reply, or an error.
	TypeTaskLogs      = "task_logs"
	TypeTaskLogsReply = "task_logs_reply"
	// TypeAttemptLog carries the report of an attempt that cancel_task
	// killed, from a worker to a master that announced CapReport.
	TypeAttemptLog = "attempt_log"
	// TypeStatusAck answers a status, on its own connection, from a master
	// that announced CapAck: the report is recorded.
	TypeStatusAck = "status_ack"
)

// Capabilities a worker announces in Register, our extension: a reference
// master ignores the field, and a master sends an extension message to a
// worker only when the worker announced it.
const (
	// CapProgress: the worker's heartbeats list the tasks it holds, each
	// with a count that grows while the task reads or writes.
	CapProgress = "progress"
	// CapCancel: the worker takes cancel_task.
	CapCancel = "cancel"
	// CapTask: the worker takes the task field of new_worker_job, and
	// gives its programs Hadoop Streaming's environment.
	CapTask = "task"
	// CapReport, announced by the master in register_ack: it takes the
	// report fields of status (counters, status_line, log) and the status
	// lines of heartbeats. A worker sends them only to such a master: a
	// reference master may not read a large status whole.
	CapReport = "report"
	// CapSplits: the worker takes the split field of new_worker_job: it
	// runs the executable once over byte ranges of its input files.
	CapSplits = "splits"
	// CapPrograms: the worker takes the program field of new_worker_job:
	// arguments, the job's environment (cmdenv), its working directory
	// and the input key. A task of a job that asks for any of them goes
	// only to such workers.
	CapPrograms = "programs"
	// CapAck, announced by the master in register_ack: it answers every
	// status with a status_ack once the status is recorded, so that a
	// worker can send a report again until it is acknowledged. A
	// reference master answers nothing, and a worker sends it a status the
	// reference way, once.
	CapAck = "ack"
)

// MaxHeartbeatSize bounds an extended heartbeat, so that it fits in one
// unfragmented datagram; a worker holding more tasks than fit lists some,
// in turns, and sets TasksCut.
const MaxHeartbeatSize = 1400

// Values of Status.Status.
const (
	StatusFinished = "finished"
	// StatusFailed is our extension: the task cannot succeed and Error says why.
	StatusFailed = "failed"
)

// Register is sent by a worker to the master once it listens.
type Register struct {
	WorkerHost string `json:"worker_host"`
	WorkerPort int    `json:"worker_port"`
	WorkerPID  int    `json:"worker_pid"`
	// Capabilities is our extension: the extensions the worker takes.
	Capabilities []string `json:"capabilities,omitempty"`
	// WorkerID is our extension: an id our worker draws at random when it
	// starts, so that workers whose pids repeat (in other pid namespaces
	// or on other hosts) are told apart. It comes with every heartbeat and
	// status the worker sends.
	WorkerID string `json:"worker_id,omitempty"`
}

// RegisterAck is the master's answer to Register, sent to the worker's port.
type RegisterAck struct {
	WorkerHost string `json:"worker_host"`
	WorkerPort int    `json:"worker_port"`
	WorkerPID  int    `json:"worker_pid"`
	// Capabilities is our extension: the extensions the master takes
	// (CapProgress: heartbeats with tasks and a registration). A worker
	// sends a reference master, which announces none, plain heartbeats.
	Capabilities []string `json:"capabilities,omitempty"`
}

// NewMasterJob asks the master to run a MapReduce job.
type NewMasterJob struct {
	InputDirectory    string `json:"input_directory"`
	OutputDirectory   string `json:"output_directory"`
	MapperExecutable  string `json:"mapper_executable"`
	ReducerExecutable string `json:"reducer_executable"`
	NumMappers        int    `json:"num_mappers"`
	NumReducers       int    `json:"num_reducers"`
	// CombinerExecutable is our extension, as Hadoop Streaming's -combiner:
	// a program run over each sorted map output before the merge, to shrink
	// what the merge and the reducers read. Omitted, the job runs as the
	// reference protocol describes.
	CombinerExecutable string `json:"combiner_executable,omitempty"`
	// JobPrograms are our extension: the programs' arguments, environment
	// and working directory, and how map input is given. A reference
	// master ignores them.
	JobPrograms
}

// JobPrograms are the fields of new_master_job that say how the job's
// programs run, beyond the executables' paths: our extension.
type JobPrograms struct {
	// MapperArgs, ReducerArgs and CombinerArgs follow the executables on
	// their command lines (sendjob --mapper "python3 m.py" sends
	// python3 and [m.py]).
	MapperArgs   []string `json:"mapper_args,omitempty"`
	ReducerArgs  []string `json:"reducer_args,omitempty"`
	CombinerArgs []string `json:"combiner_args,omitempty"`
	// Cmdenv is NAME=VALUE settings added to every program's environment,
	// as Hadoop Streaming's -cmdenv.
	Cmdenv []string `json:"cmdenv,omitempty"`
	// WorkDir is the directory the job was sent from: programs run there,
	// and relative paths in the job are taken from there. Every worker
	// must see it at the same path.
	WorkDir string `json:"work_dir,omitempty"`
	// InputKey "file" gives the mapper each record as FILE<tab>LINE.
	InputKey string `json:"input_key,omitempty"`
	// SplitPerFile gives each input file map tasks of its own: a split
	// never packs several files.
	SplitPerFile bool `json:"split_per_file,omitempty"`
}

// InputKeyFile is the InputKey that prefixes each map input line with its
// file's path and a tab.
const InputKeyFile = "file"

// NeedsPrograms reports whether the job's programs need a worker that
// announced CapPrograms: it has arguments, an environment or an input
// key, which a reference worker would drop. A working directory alone
// does not: a reference worker runs the programs in its own.
func (p JobPrograms) NeedsPrograms() bool {
	return len(p.MapperArgs)+len(p.ReducerArgs)+len(p.CombinerArgs)+len(p.Cmdenv) > 0 || p.InputKey != ""
}

// NewWorkerJob tells a worker to run Executable over each input file, stdin
// from the file, stdout to OutputDirectory/<the file's base name>.
type NewWorkerJob struct {
	InputFiles      []string `json:"input_files"`
	Executable      string   `json:"executable"`
	OutputDirectory string   `json:"output_directory"`
	WorkerPID       int      `json:"worker_pid"`
	// Task is our extension, sent only to a worker that announced
	// CapTask: which task of which job this is.
	Task *TaskIdentity `json:"task,omitempty"`
	// Split is our extension, sent only to a worker that announced
	// CapSplits: the executable runs once, over these ranges of
	// InputFiles, into one output file.
	Split *Split `json:"split,omitempty"`
	// MapOutput and ReduceInput are our extension, sent only to a worker
	// that announced CapShuffle: a map task keeps its output as a run on
	// the worker; a reduce task reads its key range of every run.
	MapOutput   *MapOutput   `json:"map_output,omitempty"`
	ReduceInput *ReduceInput `json:"reduce_input,omitempty"`
	// Program is our extension, sent only to a worker that announced
	// CapPrograms: how to run Executable.
	Program *Program `json:"program,omitempty"`
}

// Program says how a worker runs a task's executable beyond its path.
type Program struct {
	// Args follow Executable on its command line; CombinerArgs follow
	// MapOutput.Combiner.
	Args         []string `json:"args,omitempty"`
	CombinerArgs []string `json:"combiner_args,omitempty"`
	// Env is NAME=VALUE settings added to the program's environment.
	Env []string `json:"env,omitempty"`
	// WorkDir is the job's working directory, where the program runs.
	WorkDir string `json:"work_dir,omitempty"`
	// InputKey, for a map task, is how records reach the mapper:
	// InputKeyFile prefixes each line with its file's path and a tab.
	InputKey string `json:"input_key,omitempty"`
	// Maps and Reduces are the job's numbers of map and reduce tasks
	// (Hadoop's mapreduce_job_maps and mapreduce_job_reduces).
	Maps    int `json:"maps"`
	Reduces int `json:"reduces"`
}

// Split is a map task's input as byte ranges of files, read as one stream
// into OutputFile. A range owns the lines that begin inside it: one that
// does not start a file skips its first partial line, and the last line
// it begins is read to its end, past the range if need be, as Hadoop's
// LineRecordReader reads a FileSplit. A newline goes between two files'
// lines where the first lacks a final one.
type Split struct {
	Ranges     []InputRange `json:"ranges"`
	OutputFile string       `json:"output_file"`
}

// InputRange is Length bytes of File from byte Start.
type InputRange struct {
	File   string `json:"file"`
	Start  int64  `json:"start"`
	Length int64  `json:"length"`
}

// TaskIdentity names a task: its job, its stage (map, sort, combine or reduce),
// its index in the stage and which attempt this is, from 1.
type TaskIdentity struct {
	JobID   int    `json:"job_id"`
	Stage   string `json:"stage"`
	Index   int    `json:"index"`
	Attempt int    `json:"attempt"`
	// Life numbers the master's starts on its var (its journal counts
	// them): attempts that masters before a restart sent are told apart
	// from this one's, whose numbers start again. Omitted: 0.
	Life int `json:"life,omitempty"`
}

// NewSortJob tells a worker to sort the lines of its input files into one file.
type NewSortJob struct {
	InputFiles []string `json:"input_files"`
	OutputFile string   `json:"output_file"`
	WorkerPID  int      `json:"worker_pid"`
	// Task is our extension, as in NewWorkerJob.
	Task *TaskIdentity `json:"task,omitempty"`
}

// Heartbeat is sent by each worker over UDP at a fixed interval.
type Heartbeat struct {
	WorkerPID int `json:"worker_pid"`
	// Tasks is our extension, sent by a worker with CapProgress: every task
	// it holds (at most MaxHeartbeatTasks), queued or running.
	Tasks []TaskProgress `json:"tasks,omitempty"`
	// TasksCut: the worker holds more tasks than it lists; those it lists
	// take turns from one heartbeat to the next.
	TasksCut bool `json:"tasks_cut,omitempty"`
	// WorkerID, WorkerHost, WorkerPort and Capabilities are our extension:
	// our worker repeats its registration in every heartbeat, so that a
	// master that does not know it (one restarted since) admits it as if
	// it had registered.
	WorkerID     string   `json:"worker_id,omitempty"`
	WorkerHost   string   `json:"worker_host,omitempty"`
	WorkerPort   int      `json:"worker_port,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
}

// TaskProgress is one task a worker holds. Output names the task as its
// status will: the first of its output_files, or its output_file. Progress
// changes while the task makes progress: our worker counts the bytes the
// task has read and written, or gives the time while the task waits for a
// slot or sorts.
type TaskProgress struct {
	Output   string `json:"output"`
	Progress int64  `json:"progress"`
	// Task is the task's identity, for a task that came with one.
	Task *TaskIdentity `json:"task,omitempty"`
	// StatusLine is the task's last reporter:status: line, at most
	// MaxStatusLine bytes.
	StatusLine string `json:"status_line,omitempty"`
}

// CancelTask tells a worker to kill the task whose first output is Output
// and to report nothing for it.
type CancelTask struct {
	Output string `json:"output"`
	// Task names the task by its identity, for a worker that announced
	// CapTask: it kills the task with that identity, whatever its output.
	Task *TaskIdentity `json:"task,omitempty"`
}

// CancelJob asks the master to cancel job JobID, queued or running.
type CancelJob struct {
	JobID int `json:"job_id"`
}

// Shutdown stops the master, which forwards it to every worker.
type Shutdown struct{}

// JobStatusRequest asks for the status of one job, or of all when JobID is nil.
type JobStatusRequest struct {
	JobID *int `json:"job_id,omitempty"`
	// Brief leaves the jobs' tasks out of the answer: what a client that
	// polls for progress needs, at a small cost however large the job.
	Brief bool `json:"brief,omitempty"`
	// WaitMS and Seen ask for one job's answer only once its progress
	// (JobInfo.Progress) is no longer Seen, or after WaitMS milliseconds
	// (at most MaxStatusWait): a client following a job asks again at
	// once, and the master answers as things change rather than as often
	// as the client asks. A master that does not know them answers at
	// once.
	WaitMS int    `json:"wait_ms,omitempty"`
	Seen   string `json:"seen,omitempty"`
}

// MaxStatusWait bounds how long a master holds a job_status answer for
// WaitMS, well within the time a request may take.
const MaxStatusWait = 5 * time.Second

// TaskLogsRequest asks the master for the logs kept of job JobID's tasks:
// of every task, or of the one Task names (as TaskLog.Task does). The
// master answers with TaskLogs or Error.
type TaskLogsRequest struct {
	JobID int    `json:"job_id"`
	Task  string `json:"task,omitempty"`
}

// TaskLogs answers a TaskLogsRequest: the logs of each attempt, by task and
// attempt. Omitted counts the logs left out to keep the answer within
// MaxMessageSize; ask for one task to see them.
type TaskLogs struct {
	JobID   int       `json:"job_id"`
	Logs    []TaskLog `json:"logs"`
	Omitted int       `json:"omitted,omitempty"`
}

// TaskLog is what one attempt of a task wrote to stderr (its end, at most
// MaxTaskLog bytes). Task names the task as STAGE-INDEX, such as map-3;
// attempts count from 1.
type TaskLog struct {
	Task    string `json:"task"`
	Attempt int    `json:"attempt"`
	Text    string `json:"text"`
}

// AttemptLog is the report of a task's attempt that cancel_task killed (it
// timed out, lost to a copy, or its job ended): its log and status line,
// for the master to keep with the attempt. Output names the task as
// cancel_task did. Counters are not kept: the attempt did not finish.
type AttemptLog struct {
	Output    string `json:"output"`
	WorkerPID int    `json:"worker_pid"`
	WorkerID  string `json:"worker_id,omitempty"`
	// Task is the killed task's identity, when it came with one.
	Task *TaskIdentity `json:"task,omitempty"`
	Report
}

// JobAccepted answers a new_master_job with the id the master gave it.
type JobAccepted struct {
	JobID int `json:"job_id"`
}

// StatusAck answers a status from a worker that sent it as a request: the
// master has recorded the report (or already had), and journaled it.
type StatusAck struct{}

// Error answers a request the master refused.
type Error struct {
	Error string `json:"error"`
}

func (Register) Type() string         { return TypeRegister }
func (RegisterAck) Type() string      { return TypeRegisterAck }
func (NewMasterJob) Type() string     { return TypeNewMasterJob }
func (NewWorkerJob) Type() string     { return TypeNewWorkerJob }
func (NewSortJob) Type() string       { return TypeNewSortJob }
func (Status) Type() string           { return TypeStatus }
func (Heartbeat) Type() string        { return TypeHeartbeat }
func (Shutdown) Type() string         { return TypeShutdown }
func (JobStatusRequest) Type() string { return TypeJobStatus }
func (ClusterStatus) Type() string    { return TypeJobStatusReply }
func (JobAccepted) Type() string      { return TypeJobAccepted }
func (Error) Type() string            { return TypeError }
func (CancelTask) Type() string       { return TypeCancelTask }
func (CancelJob) Type() string        { return TypeCancelJob }
func (TaskLogsRequest) Type() string  { return TypeTaskLogs }
func (TaskLogs) Type() string         { return TypeTaskLogsReply }
func (AttemptLog) Type() string       { return TypeAttemptLog }
func (StatusAck) Type() string        { return TypeStatusAck }
