package fdnode

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// run feeds input to Run and returns what it wrote to out and errOut.
func run(t *testing.T, input string) (out, errOut string) {
	t.Helper()
	var o, e bytes.Buffer
	if err := Run(strings.NewReader(input), &o, &e); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return o.String(), e.String()
}

// The failure-detector spec's sample cases, input and expected output byte for byte.
func TestSpecSamples(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{
			name: "Record heartbeat",
			input: `{
"src": "w1",
"dest": "master",
"body": {
"type": "heartbeat",
"msg_id": 1,
"worker_id": "w1",
"timestamp": 1700000000000
}
}`,
			want: `{"type": "heartbeat_ok", "in_reply_to": 1}` + "\n",
		},
		{
			name: "Detect timed-out worker",
			input: `{"src":"w1","dest":"master","body":{"type":"heartbeat","msg_id":1,"worker_id":"w1","timestamp":1700000000000}}
{"src":"monitor","dest":"master","body":{"type":"check_failures","msg_id":2,"timeout_ms":5000,"now":1700000010000}}
`,
			want: `{"type": "heartbeat_ok", "in_reply_to": 1}
{"type": "failures_detected", "in_reply_to": 2, "failed_workers": ["w1"]}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut := run(t, tt.input)
			if out != tt.want {
				t.Errorf("output:\n%s\nwant:\n%s", out, tt.want)
			}
			if errOut != "" {
				t.Errorf("errOut = %q, want nothing", errOut)
			}
		})
	}
}

// Each case is a session of bare bodies, one request a line, and the
// replies expected, one a line.
func TestRequests(t *testing.T) {
	const (
		beat = `{"type": "heartbeat", "msg_id": 1, "worker_id": "w1", "timestamp": 1700000000000}`
		ok1  = `{"type": "heartbeat_ok", "in_reply_to": 1}`
	)
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{
			name: "no heartbeats yet",
			in:   []string{`{"type": "check_failures", "msg_id": 1, "timeout_ms": 5000, "now": 1700000010000}`},
			want: []string{`{"type": "failures_detected", "in_reply_to": 1, "failed_workers": []}`},
		},
		{
			name: "exactly the timeout is not failed",
			in:   []string{beat, `{"type": "check_failures", "msg_id": 2, "timeout_ms": 5000, "now": 1700000005000}`},
			want: []string{ok1, `{"type": "failures_detected", "in_reply_to": 2, "failed_workers": []}`},
		},
		{
			name: "one millisecond past the timeout is failed",
			in:   []string{beat, `{"type": "check_failures", "msg_id": 2, "timeout_ms": 5000, "now": 1700000005001}`},
			want: []string{ok1, `{"type": "failures_detected", "in_reply_to": 2, "failed_workers": ["w1"]}`},
		},
		{
			name: "several workers, sorted",
			in: []string{
				`{"type": "heartbeat", "msg_id": 1, "worker_id": "w3", "timestamp": 1000}`,
				`{"type": "heartbeat", "msg_id": 2, "worker_id": "w2", "timestamp": 9000}`,
				`{"type": "heartbeat", "msg_id": 3, "worker_id": "w1", "timestamp": 2000}`,
				`{"type": "check_failures", "msg_id": 4, "timeout_ms": 5000, "now": 10000}`,
			},
			want: []string{
				`{"type": "heartbeat_ok", "in_reply_to": 1}`,
				`{"type": "heartbeat_ok", "in_reply_to": 2}`,
				`{"type": "heartbeat_ok", "in_reply_to": 3}`,
				`{"type": "failures_detected", "in_reply_to": 4, "failed_workers": ["w1", "w3"]}`,
			},
		},
		{
			name: "a worker recovers after a new heartbeat",
			in: []string{
				beat,
				`{"type": "check_failures", "msg_id": 2, "timeout_ms": 5000, "now": 1700000010000}`,
				`{"type": "heartbeat", "msg_id": 3, "worker_id": "w1", "timestamp": 1700000009000}`,
				`{"type": "check_failures", "msg_id": 4, "timeout_ms": 5000, "now": 1700000010000}`,
			},
			want: []string{
				ok1,
				`{"type": "failures_detected", "in_reply_to": 2, "failed_workers": ["w1"]}`,
				`{"type": "heartbeat_ok", "in_reply_to": 3}`,
				`{"type": "failures_detected", "in_reply_to": 4, "failed_workers": []}`,
			},
		},
		{
			name: "an older heartbeat does not move the time back",
			in: []string{
				`{"type": "heartbeat", "msg_id": 1, "worker_id": "w1", "timestamp": 9000}`,
				`{"type": "heartbeat", "msg_id": 2, "worker_id": "w1", "timestamp": 1000}`,
				`{"type": "check_failures", "msg_id": 3, "timeout_ms": 5000, "now": 10000}`,
			},
			want: []string{
				`{"type": "heartbeat_ok", "in_reply_to": 1}`,
				`{"type": "heartbeat_ok", "in_reply_to": 2}`,
				`{"type": "failures_detected", "in_reply_to": 3, "failed_workers": []}`,
			},
		},
		{
			name: "reassign answers the ids in the given order",
			in: []string{`{"type": "reassign", "msg_id": 3, "failed_worker": "w2", "healthy_worker": "w3",
				"tasks": [{"id": "t2", "chunk": ["b"]}, {"id": "t1", "chunk": ["hello world"]}, {"id": "t10", "chunk": []}]}`},
			want: []string{`{"type": "reassigned", "in_reply_to": 3, "reassigned_tasks": ["t2", "t1", "t10"]}`},
		},
		{
			name: "reassign of an unknown worker",
			in: []string{
				`{"type": "reassign", "msg_id": 1, "failed_worker": "ghost", "healthy_worker": "w3", "tasks": [{"id": "t1", "chunk": ["x"]}]}`,
				`{"type": "check_failures", "msg_id": 2, "timeout_ms": 5000, "now": 1700000010000}`,
			},
			want: []string{
				`{"type": "reassigned", "in_reply_to": 1, "reassigned_tasks": ["t1"]}`,
				`{"type": "failures_detected", "in_reply_to": 2, "failed_workers": []}`,
			},
		},
		{
			name: "reassign with no tasks",
			in:   []string{`{"type": "reassign", "msg_id": 1, "failed_worker": "w1", "healthy_worker": "w2", "tasks": []}`},
			want: []string{`{"type": "reassigned", "in_reply_to": 1, "reassigned_tasks": []}`},
		},
		{
			name: "a reassigned worker is still reported failed",
			in: []string{
				beat,
				`{"type": "reassign", "msg_id": 2, "failed_worker": "w1", "healthy_worker": "w2", "tasks": [{"id": "t1", "chunk": ["x"]}]}`,
				`{"type": "check_failures", "msg_id": 3, "timeout_ms": 5000, "now": 1700000010000}`,
			},
			want: []string{
				ok1,
				`{"type": "reassigned", "in_reply_to": 2, "reassigned_tasks": ["t1"]}`,
				`{"type": "failures_detected", "in_reply_to": 3, "failed_workers": ["w1"]}`,
			},
		},
		{
			name: "msg_id is echoed as given",
			in: []string{
				`{"type": "heartbeat", "msg_id": 12345678901234567890, "worker_id": "w1", "timestamp": 1}`,
				`{"type": "heartbeat", "msg_id": 2.50, "worker_id": "w1", "timestamp": 1}`,
				`{"type": "heartbeat", "msg_id": -1e3, "worker_id": "w1", "timestamp": 1}`,
			},
			want: []string{
				`{"type": "heartbeat_ok", "in_reply_to": 12345678901234567890}`,
				`{"type": "heartbeat_ok", "in_reply_to": 2.50}`,
				`{"type": "heartbeat_ok", "in_reply_to": -1e3}`,
			},
		},
		{
			name: "a missing msg_id is answered with null",
			in:   []string{`{"type": "heartbeat", "worker_id": "w1", "timestamp": 1}`},
			want: []string{`{"type": "heartbeat_ok", "in_reply_to": null}`},
		},
		{
			name: "strings are escaped as Python does",
			in: []string{
				`{"type": "heartbeat", "msg_id": 1, "worker_id": "wé\"😀", "timestamp": 1}`,
				`{"type": "check_failures", "msg_id": 2, "timeout_ms": 0, "now": 2}`,
			},
			want: []string{
				ok1,
				`{"type": "failures_detected", "in_reply_to": 2, "failed_workers": ["w\u00e9\"\ud83d\ude00"]}`,
			},
		},
		{
			name: "Maelstrom init",
			in:   []string{`{"type": "init", "msg_id": 1, "node_id": "n0", "node_ids": ["n0"]}`},
			want: []string{`{"type": "init_ok", "in_reply_to": 1}`},
		},
		{
			name: "unknown type",
			in:   []string{`{"type": "speculate", "msg_id": 7}`},
			want: []string{`{"type": "error", "in_reply_to": 7, "code": 10, "text": "unsupported message type \"speculate\""}`},
		},
		{
			name: "missing type",
			in:   []string{`{"msg_id": 7, "worker_id": "w1"}`},
			want: []string{`{"type": "error", "in_reply_to": 7, "code": 12, "text": "missing type"}`},
		},
		{
			name: "type not a string",
			in:   []string{`{"type": 3, "msg_id": 7}`},
			want: []string{`{"type": "error", "in_reply_to": 7, "code": 12, "text": "type is not a string"}`},
		},
		{
			name: "msg_id not a number",
			in:   []string{`{"type": "heartbeat", "msg_id": "7", "worker_id": "w1", "timestamp": 1}`},
			want: []string{`{"type": "error", "in_reply_to": null, "code": 12, "text": "msg_id is not a number"}`},
		},
		{
			name: "heartbeat missing worker_id",
			in:   []string{`{"type": "heartbeat", "msg_id": 1, "timestamp": 1}`},
			want: []string{`{"type": "error", "in_reply_to": 1, "code": 12, "text": "heartbeat: missing worker_id"}`},
		},
		{
			name: "heartbeat missing timestamp",
			in:   []string{`{"type": "heartbeat", "msg_id": 1, "worker_id": "w1"}`},
			want: []string{`{"type": "error", "in_reply_to": 1, "code": 12, "text": "heartbeat: missing timestamp"}`},
		},
		{
			name: "fractional timestamp",
			in:   []string{`{"type": "heartbeat", "msg_id": 1, "worker_id": "w1", "timestamp": 1.5}`},
			want: []string{`{"type": "error", "in_reply_to": 1, "code": 12, "text": "heartbeat: timestamp 1.5 is not a whole number of milliseconds"}`},
		},
		{
			name: "check_failures missing now",
			in:   []string{`{"type": "check_failures", "msg_id": 1, "timeout_ms": 5000}`},
			want: []string{`{"type": "error", "in_reply_to": 1, "code": 12, "text": "check_failures: missing now"}`},
		},
		{
			name: "negative timeout",
			in:   []string{`{"type": "check_failures", "msg_id": 1, "timeout_ms": -1, "now": 5}`},
			want: []string{`{"type": "error", "in_reply_to": 1, "code": 12, "text": "check_failures: timeout_ms -1 out of range"}`},
		},
		{
			name: "reassign missing tasks",
			in:   []string{`{"type": "reassign", "msg_id": 1, "failed_worker": "w1", "healthy_worker": "w2"}`},
			want: []string{`{"type": "error", "in_reply_to": 1, "code": 12, "text": "reassign: missing tasks"}`},
		},
		{
			name: "reassign of a task without an id changes nothing",
			in: []string{
				`{"type": "reassign", "msg_id": 1, "failed_worker": "w1", "healthy_worker": "w2", "tasks": [{"id": "t1"}, {"chunk": ["x"]}]}`,
				`{"type": "reassign", "msg_id": 2, "failed_worker": "w2", "healthy_worker": "w3", "tasks": []}`,
			},
			want: []string{
				`{"type": "error", "in_reply_to": 1, "code": 12, "text": "reassign: tasks[1]: missing id"}`,
				`{"type": "reassigned", "in_reply_to": 2, "reassigned_tasks": []}`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut := run(t, strings.Join(tt.in, "\n")+"\n")
			if want := strings.Join(tt.want, "\n") + "\n"; out != want {
				t.Errorf("output:\n%s\nwant:\n%s", out, want)
			}
			if errOut != "" {
				t.Errorf("errOut = %q, want nothing", errOut)
			}
		})
	}
}

// Lines that are not JSON messages are reported on errOut, and the lines
// after them are still served.
func TestBadLines(t *testing.T) {
	input := strings.Join([]string{
		`not json`,
		``,
		`{"type": "heartbeat", "msg_id": 1, "worker_id": "w1", "timestamp": 1}`,
		`[1, 2]`,
		`{"type": "heartbeat", "msg_id": 2, "worker_id": "w1"`, // cut short
		`{"src": "w1", "dest": "master", "body": {"type": "heartbeat", "msg_id": 3, "worker_id": "w1", "timestamp": 2}}`,
		`null`,
		`{"type": "heartbeat", "msg_id": 4, "worker_id": "w1", "timestamp": 3} {}`,
		`{"src": "w1",`, // unfinished at EOF
	}, "\r\n")
	out, errOut := run(t, input)
	want := `{"type": "heartbeat_ok", "in_reply_to": 1}
{"type": "heartbeat_ok", "in_reply_to": 3}
`
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	for _, report := range []string{"line 1: not JSON", "line 4: not JSON", "line 5: not JSON", "line 7: not JSON", "line 8: not JSON", "line 9: input ends inside"} {
		if !strings.Contains(errOut, report) {
			t.Errorf("errOut lacks %q:\n%s", report, errOut)
		}
	}
	if n := strings.Count(errOut, "\n"); n != 6 {
		t.Errorf("errOut has %d reports, want 6:\n%s", n, errOut)
	}
}

func TestFlushesBufferedOutput(t *testing.T) {
	var dst bytes.Buffer
	out := bufio.NewWriter(&dst)
	in := `{"type": "heartbeat", "msg_id": 1, "worker_id": "w1", "timestamp": 1}`
	if err := Run(strings.NewReader(in), out, &bytes.Buffer{}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if want := `{"type": "heartbeat_ok", "in_reply_to": 1}` + "\n"; dst.String() != want {
		t.Errorf("flushed %q, want %q", dst.String(), want)
	}
}

type failingWriter struct{}

var errWrite = errors.New("broken pipe")

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWriteErrorEndsRun(t *testing.T) {
	in := `{"type": "heartbeat", "msg_id": 1, "worker_id": "w1", "timestamp": 1}`
	err := Run(strings.NewReader(in), failingWriter{}, &bytes.Buffer{})
	if !errors.Is(err, errWrite) {
		t.Errorf("Run = %v, want %v", err, errWrite)
	}
}

// heldBy returns, sorted, the ids of the tasks worker holds.
func (tt *taskTable) heldBy(worker string) []string {
	var ids []string
	for id, t := range tt.byID {
		if t.worker == worker {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// After a reassign the failed worker holds nothing: the listed tasks and
// any it held from before go to the healthy worker.
func TestReassignEmptiesFailedWorker(t *testing.T) {
	n := &node{tasks: newTaskTable()}
	for _, body := range []string{
		`{"type": "reassign", "msg_id": 1, "failed_worker": "w1", "healthy_worker": "w2", "tasks": [{"id": "t1", "chunk": ["a"]}, {"id": "t2", "chunk": ["b"]}]}`,
		`{"type": "reassign", "msg_id": 2, "failed_worker": "w2", "healthy_worker": "w3", "tasks": [{"id": "t3", "chunk": ["c"]}]}`,
	} {
		n.handle(json.RawMessage(body))
	}
	if got := n.tasks.heldBy("w2"); len(got) != 0 {
		t.Errorf("failed w2 holds %v, want nothing", got)
	}
	if got, want := n.tasks.heldBy("w3"), []string{"t1", "t2", "t3"}; !slices.Equal(got, want) {
		t.Errorf("w3 holds %v, want %v", got, want)
	}
	if got := string(n.tasks.byID["t2"].chunk); got != `["b"]` {
		t.Errorf("t2's chunk = %s, want [\"b\"]", got)
	}
}

func TestQuote(t *testing.T) {
	// Expected values are Python's json.dumps of the same strings.
	tests := map[string]string{
		"w1":                                `"w1"`,
		`a"b\c`:                             `"a\"b\\c"`,
		"\n\r\t\b\f\x00\x1f\x7f":            `"\n\r\t\b\f\u0000\u001f\u007f"`,
		"é€":                                `"\u00e9\u20ac"`,
		"😀":                                 `"\ud83d\ude00"`,
		"/<>&\u2028":                        `"/<>&\u2028"`,
		"":                                  `""`,
		"mixed ascii and \u00fcnicode text": `"mixed ascii and \u00fcnicode text"`,
	}
	for in, want := range tests {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}
