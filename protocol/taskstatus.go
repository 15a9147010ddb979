package protocol

import "encoding/json"

// Status reports the end of a task. The reference protocol names the files
// in output_files for a new_worker_job of the map stage and in output_file
// for a new_sort_job and for the reduce stage; a worker cannot tell map from
// reduce, so ours sends output_files for every new_worker_job and the master
// accepts either. On the wire output_files appears whenever OutputFiles is
// not nil, even empty, and output_file whenever OutputFile is set.
type Status struct {
	OutputFiles []string `json:"output_files,omitempty"`
	OutputFile  string   `json:"output_file,omitempty"`
	Status      string   `json:"status"`
	WorkerPID   int      `json:"worker_pid"`
	// WorkerID is our extension: see Register.WorkerID.
	WorkerID string `json:"worker_id,omitempty"`
	// Task is our extension: the identity the task came with, echoed, so
	// that the master finds the task by it rather than by its outputs.
	Task *TaskIdentity `json:"task,omitempty"`
	// Run is our extension: the run a map task of the shuffle kept.
	Run *RunInfo `json:"run,omitempty"`
	Report
	Failure
}

// Report is our extension of a status: what the task's programs said
// besides their output. A reference master ignores it.
type Report struct {
	// Counters are the task's counters: its programs' reporter:counter:
	// lines and the built-in ones.
	Counters Counters `json:"counters,omitempty"`
	// StatusLine is the last reporter:status: line.
	StatusLine string `json:"status_line,omitempty"`
	// Log is the end of what the programs wrote to stderr, reporter lines
	// left out: at most MaxTaskLog bytes.
	Log string `json:"log,omitempty"`
}

// MaxTaskLog bounds the log a status carries, and the master keeps, for one
// attempt of a task.
const MaxTaskLog = 32 << 10

// MaxStatusLine bounds a task's status line.
const MaxStatusLine = 100

// Failure is our extension of a status whose Status is StatusFailed. A
// reference master ignores it, as it ignores a status other than "finished".
type Failure struct {
	// Error says what went wrong, with the executable's own error text.
	Error string `json:"error,omitempty"`
	// Retry is set when the task may succeed if run again: MissingFiles,
	// its inputs, did not exist. Another task's output may have been lost.
	Retry        bool     `json:"retry,omitempty"`
	MissingFiles []string `json:"missing_files,omitempty"`
	// LostPieces, with Retry, are the pieces a reduce task of the shuffle
	// could not fetch, as it was given them: the map tasks that made them
	// must make them again, unless they have since.
	LostPieces []Piece `json:"lost_pieces,omitempty"`
	// Fault, without Retry, says whose fault the failure is when it is
	// not the program's: FaultWorker, the worker's own (it could not
	// write its files, its disk is full or read-only, it cannot start a
	// program the master found). Our master runs the task on another
	// worker and counts the failure against this one; a reference master
	// sees a failed status. Empty: the program failed, and so does its job.
	Fault string `json:"fault,omitempty"`
}

// FaultWorker is the Fault of a failure that is the worker's own.
const FaultWorker = "worker"

// MarshalJSON writes output_files for a non-nil OutputFiles, even an empty
// one: a reference master indexes it for every new_worker_job status.
func (s Status) MarshalJSON() ([]byte, error) {
	type wire struct {
		OutputFiles *[]string     `json:"output_files,omitempty"`
		OutputFile  string        `json:"output_file,omitempty"`
		Status      string        `json:"status"`
		WorkerPID   int           `json:"worker_pid"`
		WorkerID    string        `json:"worker_id,omitempty"`
		Task        *TaskIdentity `json:"task,omitempty"`
		Run         *RunInfo      `json:"run,omitempty"`
		Report
		Failure
	}
	w := wire{OutputFile: s.OutputFile, Status: s.Status, WorkerPID: s.WorkerPID, WorkerID: s.WorkerID, Task: s.Task, Run: s.Run,
		Report: s.Report, Failure: s.Failure}
	if s.OutputFiles != nil {
		w.OutputFiles = &s.OutputFiles
	}
	return json.Marshal(w)
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
