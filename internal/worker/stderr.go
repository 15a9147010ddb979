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
// Such lines go to the task's report, not to its log, and count as
// progress, as in Hadoop: a program busy for a long time without reading or
// writing keeps its task alive by reporting.
const reporterPrefix = "reporter:"

// maxReporterLine bounds a reporter line: past it the rest of the line is
// dropped, and the line is handled as cut there (a status line is shorter
// anyway; a counter line that long is not one).
const maxReporterLine = 1 << 10

// taskStderr is where a task's programs write stderr. Reporter lines update
// its counters and status line; every other line goes to its log, of which
// the last protocol.MaxTaskLog bytes are kept. Writes come from the
// goroutine that copies a program's stderr; heartbeats read the status line
// and the progress.
type taskStderr struct {
	mu sync.Mutex
	// line holds the start of a line that may be a reporter line. While
	// passing, the rest of a line that is not one goes to the log; while
	// skipping, the rest of a reporter line past maxReporterLine is dropped.
	line              []byte
	passing, skipping bool
	// log is the end of the task's log; program the end of the running
	// program's part of it, for its error.
	log, program tailBuffer
	counters     protocol.Counters
	statusLine   string
	// reports counts the reporter lines, for progress.
	reports int64
	refused bool
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
		eol := i >= 0
		switch {
		case t.passing:
			t.toLog(chunk)
			t.passing = !eol
		case t.skipping:
			if eol {
				t.skipping = false
				t.endLine()
			}
		default:
			t.line = append(t.line, chunk...)
			switch {
			case !mayBeReporter(t.line):
				t.toLog(t.line)
				t.line, t.passing = t.line[:0], !eol
			case len(t.line) > maxReporterLine:
				t.line = t.line[:maxReporterLine]
				if eol {
					t.endLine()
				} else {
					t.skipping = true
				}
			case eol:
				t.endLine()
			}
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

// endLine handles t.line, a whole line: its newline may be missing (the
// program's last line, or a line cut at maxReporterLine).
func (t *taskStderr) endLine() {
	line := strings.TrimRight(string(t.line), "\r\n")
	if t.report(line) {
		t.reports++
	} else {
		if !bytes.HasSuffix(t.line, []byte{'\n'}) {
			t.line = append(t.line, '\n')
		}
		t.toLog(t.line)
	}
	t.line = t.line[:0]
}

// report applies line if it is a well-formed reporter line. A counter the
// bounds refuse, or one in the built-in group, is noted once in the log.
func (t *taskStderr) report(line string) bool {
	rest, ok := strings.CutPrefix(line, reporterPrefix)
	if !ok {
		return false
	}
	if msg, ok := strings.CutPrefix(rest, "status:"); ok {
		t.statusLine = clipString(strings.TrimSpace(msg), protocol.MaxStatusLine)
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
	if (parts[0] == protocol.CounterGroup || !t.counters.Add(parts[0], parts[1], n)) && !t.refused {
		t.refused = true
		t.toLog([]byte("worker: counter " + clipString(parts[0]+"/"+parts[1], 200) + " refused: group names are 1-128 bytes and counter names 1-64, " +
			protocol.CounterGroup + " is the built-in group, and a task has at most " + strconv.Itoa(protocol.MaxCounters) +
			" counters; later refusals are not noted\n"))
	}
	return true
}

// endProgram ends a program's stderr, a last line without a newline
// counting as a line, and returns the end of what it logged.
func (t *taskStderr) endProgram() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.passing:
		t.toLog([]byte{'\n'})
	case t.skipping || len(t.line) > 0:
		t.endLine()
	}
	t.passing, t.skipping = false, false
	tail := t.program.String()
	t.program.buf = t.program.buf[:0]
	return tail
}

// current returns the status line and the count of reporter lines.
func (t *taskStderr) current() (statusLine string, reports int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.statusLine, t.reports
}

// result returns what the task's programs reported.
func (t *taskStderr) result() protocol.Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	return protocol.Report{Counters: t.counters, StatusLine: t.statusLine, Log: t.log.String()}
}

// clipString returns the first n bytes of s at most, cut at a character.
func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// tailBuffer keeps the last max bytes written to it, however much is
// written: it has no ReadFrom, so io.Copy cannot bypass Write. It holds up
// to twice max between compactions, so that a write costs its own length.
type tailBuffer struct {
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if len(t.buf)+len(p) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-(t.max-len(p)):]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

func (t *tailBuffer) String() string { return string(t.buf[max(len(t.buf)-t.max, 0):]) }
