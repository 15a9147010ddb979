package scheduler

import (
	"fmt"
	"unicode/utf8"
)

// What the master keeps of text a worker sent, and how much of a job's
// history a job_status reply for every job carries, so that neither the
// master's memory nor its replies grow with what workers send or with the
// number of jobs. A worker's status may carry up to protocol.MaxMessageSize
// of error text: ours sends the last 4 KiB of a program's stderr, but a
// reference-only worker may send anything.
const (
	// MaxErrorText bounds one error a job keeps: its head and its tail,
	// with a marker saying how much was cut between them. An error from
	// our worker (the command, its exit status and 4 KiB of stderr) fits.
	MaxErrorText = 8 << 10
	// errorHead is how much of the head of a longer error is kept; the
	// rest of MaxErrorText goes to its tail, where a program's last words
	// are.
	errorHead = 2 << 10
	// MaxJobErrors bounds the errors one job keeps; one more says how many
	// were not kept.
	MaxJobErrors = 10
	// DetailedJobs is how many of the newest jobs a reply for every job
	// lists with their tasks, besides every job not yet ended; the others
	// are listed without tasks.
	DetailedJobs = 10
	// StatusBudget bounds the jobs of a reply for every job, in bytes of
	// JSON: a quarter of protocol.MaxMessageSize, leaving room for the
	// workers. The newest jobs are listed first; the older ones that do
	// not fit are left out and counted.
	StatusBudget = 4 << 20
	// MaxWorkers bounds the worker table: registrations of new workers
	// past it are refused until dead ones are forgotten.
	MaxWorkers = 10000
	// maxHostName bounds a worker_host: a DNS name has at most 253 bytes.
	maxHostName = 255
	// maxLoggedFiles bounds the files of a status that a log line names.
	maxLoggedFiles = 3
	// maxLoggedText bounds a worker's string (a status value, a file name)
	// in a log line.
	maxLoggedText = 512
)

// clip returns s if it is at most limit bytes long, else its head and its
// tail around a marker saying how many bytes were cut, limit bytes at most
// in all, cut at UTF-8 character boundaries.
func clip(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	head := min(errorHead, limit/4)
	// The marker's length depends on the count it gives, which depends on
	// the marker's length: take the widest count, len(s).
	marker := fmt.Sprintf(" […%d bytes cut…] ", len(s))
	tail := max(0, limit-head-len(marker))
	h := head
	for h > 0 && !utf8.RuneStart(s[h]) {
		h--
	}
	t := len(s) - tail
	for t < len(s) && !utf8.RuneStart(s[t]) {
		t++
	}
	return s[:h] + fmt.Sprintf(" […%d bytes cut…] ", t-h) + s[t:]
}

// clipFiles returns at most maxLoggedFiles of files, each clipped, for a
// log line.
func clipFiles(files []string) []string {
	logged := make([]string, 0, min(len(files), maxLoggedFiles+1))
	for _, f := range files[:min(len(files), maxLoggedFiles)] {
		logged = append(logged, clip(f, maxLoggedText))
	}
	if len(files) > maxLoggedFiles {
		logged = append(logged, fmt.Sprintf("(%d more)", len(files)-maxLoggedFiles))
	}
	return logged
}

// addError records why job j failed, clipped, unless j has MaxJobErrors
// already: then it only counts.
func (j *job) addError(why string) {
	if len(j.errors) >= MaxJobErrors {
		j.errorsDropped++
		return
	}
	j.errors = append(j.errors, clip(why, MaxErrorText))
}

// errorList is j's errors as a reply gives them.
func (j *job) errorList() []string {
	if j.errorsDropped == 0 {
		return j.errors
	}
	return append(j.errors[:len(j.errors):len(j.errors)], fmt.Sprintf("(%d more errors not kept)", j.errorsDropped))
}
