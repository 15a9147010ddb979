package worker

import (
	"bytes"
	"strconv"
	"strings"
	"sync"

	"mapreduce/protocol"
)

// reporterPrefix starts the lines of Hadoop Streaming's stderr protocol:
//
//	reporter:counter:GROUP,NAME,AMOUNT   adds AMOUNT to the counter GROUP/NAME
//	reporter:status:MESSAGE              sets the task's status line
//
// Such lines go to the task's report, not to its log.
const reporterPrefix = "reporter:"

// maxReporterLine bounds a line held while it may still be a reporter
// line; a longer one is written to the log as it comes.
const maxReporterLine = 1 << 10

// taskStderr is where a task's programs write stderr. Reporter lines update
// its counters and status line; every other line goes to its log, of which
// the last protocol.MaxTaskLog bytes are kept. Writes come from the
// goroutine that copies a program's stderr; heartbeats read the status line.
type taskStderr struct {
	mu sync.Mutex
	// line holds the start of a line that may be a reporter line; passing
	// is set while the rest of a line that is not one goes to the log.
	line    []byte
	passing bool
	// log is the end of the task's log; program the end of the running
	// program's part of it, for its error.
	log, program tailBuffer
	counters     protocol.Counters
	statusLine   string
	refused      bool
}

func newTaskStderr() *taskStderr {
	return &taskStderr{log: tailBuffer{max: protocol.MaxTaskLog}, program: tailBuffer{max: stderrTail}, counters: protocol.Counters{}}
}

// toLog writes p, not a reporter line, to the log.
func (t *taskStderr) toLog(p []byte) {
	t.log.Write(p)
	t.program.Write(p)
}

func (t *taskStderr) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i+1]
		}
		p = p[len(chunk):]
		if t.passing {
			t.toLog(chunk)
			t.passing = i < 0
			continue
		}
		t.line = append(t.line, chunk...)
		switch {
		case i >= 0:
			t.endLine()
		case !mayBeReporter(t.line) || len(t.line) > maxReporterLine:
			t.toLog(t.line)
			t.line, t.passing = t.line[:0], true
		}
	}
	return n, nil
}

// mayBeReporter reports whether line, the start of a line, may be a
// reporter line.
func mayBeReporter(line []byte) bool {
	n := min(len(line), len(reporterPrefix))
	return string(line[:n]) == reporterPrefix[:n]
}

// endLine handles t.line, a whole line (its newline included, if any).
func (t *taskStderr) endLine() {
	line := strings.TrimRight(string(t.line), "\r\n")
	if !t.report(line) {
		t.toLog(t.line)
	}
	t.line = t.line[:0]
}

// report applies line if it is a well-formed reporter line. A counter the
// bounds refuse is noted once in the log.
func (t *taskStderr) report(line string) bool {
	rest, ok := strings.CutPrefix(line, reporterPrefix)
	if !ok {
		return false
	}
	if msg, ok := strings.CutPrefix(rest, "status:"); ok {
		t.statusLine = clipString(msg, protocol.MaxStatusLine)
		return true
	}
	spec, ok := strings.CutPrefix(rest, "counter:")
	if !ok {
		return false
	}
	parts := strings.Split(spec, ",")
	if len(parts) != 3 {
		return false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(parts[2]), 10, 64)
	if err != nil {
		return false
	}
	if !t.counters.Add(parts[0], parts[1], n) && !t.refused {
		t.refused = true
		t.toLog([]byte("worker: counter " + clipString(parts[0]+"/"+parts[1], 200) + " refused: names are 1-128 (group) and 1-64 (name) bytes, at most 120 counters a task; later ones are dropped too\n"))
	}
	return true
}

// endProgram ends a program's stderr, a last line without a newline
// counting as a line, and returns the end of what it logged.
func (t *taskStderr) endProgram() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.line) > 0 {
		t.endLine()
	}
	t.passing = false
	tail := t.program.String()
	t.program.buf = t.program.buf[:0]
	return tail
}

// current returns the status line.
func (t *taskStderr) current() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.statusLine
}

// result returns what the task's programs reported.
func (t *taskStderr) result() protocol.Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	return protocol.Report{Counters: t.counters, StatusLine: t.statusLine, Log: t.log.String()}
}

func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// tailBuffer keeps the last max bytes written to it, however much is
// written: it has no ReadFrom, so io.Copy cannot bypass Write.
type tailBuffer struct {
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > t.max {
		p = p[len(p)-t.max:]
	}
	if extra := len(t.buf) + len(p) - t.max; extra > 0 {
		t.buf = append(t.buf[:0], t.buf[extra:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

func (t *tailBuffer) String() string { return string(t.buf) }
