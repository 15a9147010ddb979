// Package protocol defines the JSON messages that the master, the workers and
// job clients exchange, exactly as the seed specifies them, plus a few
// extensions that a seed-only peer never sees, and the helpers that move them
// over TCP (one document per connection) and UDP (heartbeats).
package protocol

// Message types of the seed protocol.
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
)

// Values of Status.Status.
const (
	StatusFinished = "finished"
	// StatusFailed is our extension: the task cannot succeed and Error says why.
	StatusFailed = "failed"
)

// Register is sent by a worker to the master once it listens.
type Register struct {
	MessageType string `json:"message_type"`
	WorkerHost  string `json:"worker_host"`
	WorkerPort  int    `json:"worker_port"`
	WorkerPID   int    `json:"worker_pid"`
}

// RegisterAck is the master's answer to Register, sent to the worker's port.
type RegisterAck struct {
	MessageType string `json:"message_type"`
	WorkerHost  string `json:"worker_host"`
	WorkerPort  int    `json:"worker_port"`
	WorkerPID   int    `json:"worker_pid"`
}

// NewMasterJob asks the master to run a MapReduce job.
type NewMasterJob struct {
	MessageType       string `json:"message_type"`
	InputDirectory    string `json:"input_directory"`
	OutputDirectory   string `json:"output_directory"`
	MapperExecutable  string `json:"mapper_executable"`
	ReducerExecutable string `json:"reducer_executable"`
	NumMappers        int    `json:"num_mappers"`
	NumReducers       int    `json:"num_reducers"`
	// CombinerExecutable is our extension, as Hadoop Streaming's -combiner:
	// a program run over each sorted map output before the merge, to shrink
	// what the merge and the reducers read. Omitted, the job runs as the
	// seed describes.
	CombinerExecutable string `json:"combiner_executable,omitempty"`
}

// NewWorkerJob tells a worker to run Executable over each input file, stdin
// from the file, stdout to OutputDirectory/<the file's base name>.
type NewWorkerJob struct {
	MessageType     string   `json:"message_type"`
	InputFiles      []string `json:"input_files"`
	Executable      string   `json:"executable"`
	OutputDirectory string   `json:"output_directory"`
	WorkerPID       int      `json:"worker_pid"`
}

// NewSortJob tells a worker to sort the lines of its input files into one file.
type NewSortJob struct {
	MessageType string   `json:"message_type"`
	InputFiles  []string `json:"input_files"`
	OutputFile  string   `json:"output_file"`
	WorkerPID   int      `json:"worker_pid"`
}

// Status reports a finished task. The seed uses OutputFiles for map tasks and
// OutputFile for sort and reduce tasks; a worker cannot tell map from reduce,
// so ours sends OutputFiles for every new_worker_job and the master accepts
// either. Workers send WorkerJobStatus or SortJobStatus; Status is what the
// master reads.
type Status struct {
	MessageType string   `json:"message_type"`
	OutputFiles []string `json:"output_files,omitempty"`
	OutputFile  string   `json:"output_file,omitempty"`
	Status      string   `json:"status"`
	WorkerPID   int      `json:"worker_pid"`
	Failure
}

// Failure is our extension of a status whose Status is StatusFailed. A
// seed master ignores it, as it ignores a status other than "finished".
type Failure struct {
	// Error says what went wrong, with the executable's own error text.
	Error string `json:"error,omitempty"`
	// Retry is set when the task may succeed if run again: MissingFiles,
	// its inputs, did not exist. Another task's output may have been lost.
	Retry        bool     `json:"retry,omitempty"`
	MissingFiles []string `json:"missing_files,omitempty"`
}

// WorkerJobStatus is a worker's status for a new_worker_job: output_files
// is always there, a list, even an empty one.
type WorkerJobStatus struct {
	MessageType string   `json:"message_type"`
	OutputFiles []string `json:"output_files"`
	Status      string   `json:"status"`
	WorkerPID   int      `json:"worker_pid"`
	Failure
}

// SortJobStatus is a worker's status for a new_sort_job.
type SortJobStatus struct {
	MessageType string `json:"message_type"`
	OutputFile  string `json:"output_file"`
	Status      string `json:"status"`
	WorkerPID   int    `json:"worker_pid"`
	Failure
}

// Files returns the output files the status names, from either field.
func (s Status) Files() []string {
	if len(s.OutputFiles) > 0 {
		return s.OutputFiles
	}
	if s.OutputFile != "" {
		return []string{s.OutputFile}
	}
	return nil
}

// Heartbeat is sent by each worker over UDP at a fixed interval.
type Heartbeat struct {
	MessageType string `json:"message_type"`
	WorkerPID   int    `json:"worker_pid"`
}

// Shutdown stops the master, which forwards it to every worker.
type Shutdown struct {
	MessageType string `json:"message_type"`
}

// JobStatusRequest asks for the status of one job, or of all when JobID is nil.
type JobStatusRequest struct {
	MessageType string `json:"message_type"`
	JobID       *int   `json:"job_id,omitempty"`
}

// JobAccepted answers a new_master_job with the id the master gave it.
type JobAccepted struct {
	MessageType string `json:"message_type"`
	JobID       int    `json:"job_id"`
}

// Error answers a request the master refused.
type Error struct {
	MessageType string `json:"message_type"`
	Error       string `json:"error"`
}
