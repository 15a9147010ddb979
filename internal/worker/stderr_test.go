package worker

import (
	"strings"
	"testing"

	"mapreduce/protocol"
)

func TestTaskStderr(t *testing.T) {
	long := strings.Repeat("x", 3*maxReporterLine)
	tests := []struct {
		name string
		// writes go to one program, each a Write call, then its end.
		writes   []string
		log      string
		counters protocol.Counters
		status   string
	}{
		{"plain lines", []string{"a\nb\n"}, "a\nb\n", protocol.Counters{}, ""},
		{"counter", []string{"reporter:counter:wc,lines,3\n", "reporter:counter:wc,lines,4\n"}, "",
			protocol.Counters{"wc": {"lines": 7}}, ""},
		{"split across writes", []string{"repo", "rter:coun", "ter:g,n,5\nlog", "ged\n"}, "logged\n",
			protocol.Counters{"g": {"n": 5}}, ""},
		{"status, last one wins", []string{"reporter:status:half\nreporter:status:nearly\n"}, "", protocol.Counters{}, "nearly"},
		{"CRLF", []string{"reporter:counter:g,n,2\r\n"}, "", protocol.Counters{"g": {"n": 2}}, ""},
		{"last line without newline", []string{"x\nreporter:counter:g,n,1"}, "x\n", protocol.Counters{"g": {"n": 1}}, ""},
		{"malformed lines are logged", []string{"reporter:counter:g,n\nreporter:counter:g,n,x\nreporter:other\n"},
			"reporter:counter:g,n\nreporter:counter:g,n,x\nreporter:other\n", protocol.Counters{}, ""},
		{"not at the start of a line", []string{"say reporter:counter:g,n,1\n"}, "say reporter:counter:g,n,1\n", protocol.Counters{}, ""},
		{"negative amount", []string{"reporter:counter:g,n,-4\n"}, "", protocol.Counters{"g": {"n": -4}}, ""},
		{"long line passes through", []string{"say " + long + "\n", "reporter:counter:g,n,1\n"}, "say " + long + "\n",
			protocol.Counters{"g": {"n": 1}}, ""},
		{"long reporter-like line cut", []string{"reporter:" + long + "\n"}, ("reporter:" + long)[:maxReporterLine] + "\n", protocol.Counters{}, ""},
		{"long status in one write", []string{"reporter:status:" + long + "\n"}, "", protocol.Counters{}, long[:protocol.MaxStatusLine]},
		{"long status in pieces", []string{"reporter:status:" + long[:600], long[600:] + "\nafter\n"}, "after\n", protocol.Counters{}, long[:protocol.MaxStatusLine]},
		{"built-in group refused", []string{"reporter:counter:mapreduce,map_input_records,5\n"},
			"worker: counter mapreduce/map_input_records refused", protocol.Counters{}, ""},
		{"status trimmed", []string{"reporter:status:  done \n"}, "", protocol.Counters{}, "done"},
		{"long status clipped", []string{"reporter:status:" + strings.Repeat("s", 500) + "\n"}, "", protocol.Counters{},
			strings.Repeat("s", protocol.MaxStatusLine)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTaskStderr()
			for _, w := range tt.writes {
				if n, err := s.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			s.endProgram()
			r := s.result()
			if r.Log != tt.log && !(strings.HasPrefix(tt.log, "worker: ") && strings.HasPrefix(r.Log, tt.log)) {
				t.Errorf("log %q, want %q", r.Log, tt.log)
			}
			if !equalCounters(r.Counters, tt.counters) {
				t.Errorf("counters %v, want %v", r.Counters, tt.counters)
			}
			if r.StatusLine != tt.status {
				t.Errorf("status line %q, want %q", r.StatusLine, tt.status)
			}
		})
	}
}

func TestTaskStderrBounds(t *testing.T) {
	s := newTaskStderr()
	for i := range protocol.MaxCounters + 5 {
		s.Write([]byte("reporter:counter:g,c" + strings.Repeat("0", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ",1\n"))
	}
	s.Write([]byte(strings.Repeat("y", 2*protocol.MaxTaskLog)))
	tail := s.endProgram()
	r := s.result()
	if r.Counters.Len() != protocol.MaxCounters {
		t.Errorf("%d counters, want MaxCounters (%d)", r.Counters.Len(), protocol.MaxCounters)
	}
	if len(r.Log) != protocol.MaxTaskLog {
		t.Errorf("log of %d bytes, want MaxTaskLog (%d)", len(r.Log), protocol.MaxTaskLog)
	}
	if len(tail) != stderrTail {
		t.Errorf("program's tail of %d bytes, want %d", len(tail), stderrTail)
	}
	s.Write([]byte("refused " + strings.Repeat("z", 10)))
	if !strings.HasPrefix(s.endProgram(), "refused") {
		t.Error("the next program's tail holds the last one's")
	}
}

func equalCounters(a, b protocol.Counters) bool {
	if a.Len() != b.Len() {
		return false
	}
	for g, names := range a {
		for n, v := range names {
			if b[g][n] != v {
				return false
			}
		}
	}
	return true
}

// TestTaskStderrPrograms: a program's last line without a newline ends
// there, and reporter lines count as progress.
func TestTaskStderrPrograms(t *testing.T) {
	s := newTaskStderr()
	s.Write([]byte("first program's last words"))
	s.endProgram()
	s.Write([]byte("reporter:sta"))
	s.endProgram()
	s.Write([]byte("second\nreporter:status:x\nreporter:counter:g,n,1\n"))
	s.endProgram()
	if got, want := s.result().Log, "first program's last words\nreporter:sta\nsecond\n"; got != want {
		t.Errorf("log %q, want %q", got, want)
	}
	if _, reports := s.current(); reports != 2 {
		t.Errorf("%d reporter lines counted, want 2", reports)
	}
}

func TestTailBuffer(t *testing.T) {
	b := tailBuffer{max: 8}
	var all strings.Builder
	for i := range 100 {
		piece := strings.Repeat(string(rune('a'+i%26)), i%11)
		b.Write([]byte(piece))
		all.WriteString(piece)
		want := all.String()
		want = want[max(len(want)-8, 0):]
		if b.String() != want {
			t.Fatalf("after %d writes: %q, want %q", i+1, b.String(), want)
		}
		if cap(b.buf) > 64 {
			t.Fatalf("buffer grew to %d", cap(b.buf))
		}
	}
}

// TestTailBufferBounded: however much is written, in pieces of any size,
// the buffer holds at most twice its max bytes, and its memory stays
// within a small multiple of that.
func TestTailBufferBounded(t *testing.T) {
	for _, size := range []int{1, 3, 7, 8, 9, 100} {
		b := tailBuffer{max: 8}
		piece := []byte(strings.Repeat("p", size))
		for i := range 1000 {
			b.Write(piece)
			if len(b.buf) > 2*b.max || cap(b.buf) > 4*b.max {
				t.Fatalf("pieces of %d bytes: after %d writes the buffer holds %d bytes in %d, want at most %d in %d",
					size, i+1, len(b.buf), cap(b.buf), 2*b.max, 4*b.max)
			}
		}
	}
}

// TestTaskStderrMemoryBounded: a program that writes megabytes of stderr,
// in the 32 KiB pieces that os/exec copies, leaves the task's stderr
// holding a bounded amount: the log's and the program's tails, and at most
// a piece of a line.
func TestTaskStderrMemoryBounded(t *testing.T) {
	const piece = 32 << 10
	s := newTaskStderr()
	line := strings.Repeat("l", 99) + "\n"
	chunk := []byte(strings.Repeat(line, piece/len(line)))
	for range (4 << 20) / len(chunk) {
		s.Write(chunk)
		s.Write([]byte("reporter:status:" + strings.Repeat("s", 2*maxReporterLine) + "\n"))
	}
	if got, limit := cap(s.log.buf), 4*protocol.MaxTaskLog; got > limit {
		t.Errorf("the log's tail takes %d bytes, want at most %d", got, limit)
	}
	if got, limit := cap(s.program.buf), 4*stderrTail; got > limit {
		t.Errorf("the program's tail takes %d bytes, want at most %d", got, limit)
	}
	if got, limit := cap(s.line), 2*piece; got > limit {
		t.Errorf("the line being read takes %d bytes, want at most %d", got, limit)
	}
}
