package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// referenceExamples are the reference protocol's messages written out as literal JSON with
// concrete values, and the Go value that must encode to exactly that JSON
// and that Decode must return for it.
var referenceExamples = []struct {
	name string
	json string
	msg  Message
}{
	{
		"register",
		`{"message_type": "register", "worker_host": "localhost", "worker_port": 6001, "worker_pid": 77}`,
		Register{WorkerHost: "localhost", WorkerPort: 6001, WorkerPID: 77},
	},
	{
		"register_ack",
		`{"message_type": "register_ack", "worker_host": "localhost", "worker_port": 6001, "worker_pid": 77}`,
		RegisterAck{WorkerHost: "localhost", WorkerPort: 6001, WorkerPID: 77},
	},
	{
		"new_master_job",
		`{"message_type": "new_master_job", "input_directory": "input/sample1", "output_directory": "out",
		  "mapper_executable": "exec/wc/map.py", "reducer_executable": "exec/wc/reduce.py",
		  "num_mappers": 4, "num_reducers": 2}`,
		NewMasterJob{
			InputDirectory: "input/sample1", OutputDirectory: "out",
			MapperExecutable: "exec/wc/map.py", ReducerExecutable: "exec/wc/reduce.py",
			NumMappers: 4, NumReducers: 2,
		},
	},
	{
		"new_worker_job",
		`{"message_type": "new_worker_job", "input_files": ["data/input/file_001.txt", "data/input/file_002.txt"],
		  "executable": "exec/wc/map.py", "output_directory": "var/job-0/mapper-output/", "worker_pid": 77}`,
		NewWorkerJob{
			InputFiles: []string{"data/input/file_001.txt", "data/input/file_002.txt"},
			Executable: "exec/wc/map.py", OutputDirectory: "var/job-0/mapper-output/", WorkerPID: 77,
		},
	},
	{
		"new_sort_job",
		`{"message_type": "new_sort_job", "input_files": ["var/job-0/mapper-output/a", "var/job-0/mapper-output/b"],
		  "output_file": "var/job-0/grouper-output/sorted_0", "worker_pid": 77}`,
		NewSortJob{
			InputFiles: []string{"var/job-0/mapper-output/a", "var/job-0/mapper-output/b"},
			OutputFile: "var/job-0/grouper-output/sorted_0", WorkerPID: 77,
		},
	},
	{
		"status of a map task (output_files)",
		`{"message_type": "status", "output_files": ["var/job-0/mapper-output/file_001.txt"], "status": "finished", "worker_pid": 77}`,
		Status{OutputFiles: []string{"var/job-0/mapper-output/file_001.txt"}, Status: StatusFinished, WorkerPID: 77},
	},
	{
		"status of a sort or reduce task (output_file)",
		`{"message_type": "status", "output_file": "var/job-0/reducer-output/input_0", "status": "finished", "worker_pid": 77}`,
		Status{OutputFile: "var/job-0/reducer-output/input_0", Status: StatusFinished, WorkerPID: 77},
	},
	{
		"heartbeat",
		`{"message_type": "heartbeat", "worker_pid": 77}`,
		Heartbeat{WorkerPID: 77},
	},
	{
		"shutdown",
		`{"message_type": "shutdown"}`,
		Shutdown{},
	},
}

// extensionExamples are our own messages, which must round-trip too.
var extensionExamples = []struct {
	name string
	json string
	msg  Message
}{
	{"job_status for all jobs", `{"message_type": "job_status"}`, JobStatusRequest{}},
	{"job_status for one job", `{"message_type": "job_status", "job_id": 3}`, JobStatusRequest{JobID: intPtr(3)}},
	{"job_accepted", `{"message_type": "job_accepted", "job_id": 0}`, JobAccepted{JobID: 0}},
	{"error", `{"message_type": "error", "error": "no such job"}`, Error{Error: "no such job"}},
	{
		"failed status",
		`{"message_type": "status", "output_files": ["o/a"], "status": "failed", "worker_pid": 5, "error": "exit status 2: boom"}`,
		Status{OutputFiles: []string{"o/a"}, Status: StatusFailed, WorkerPID: 5, Failure: Failure{Error: "exit status 2: boom"}},
	},
	{
		"new_master_job with a combiner",
		`{"message_type": "new_master_job", "input_directory": "in", "output_directory": "out",
		  "mapper_executable": "m", "reducer_executable": "r", "combiner_executable": "c",
		  "num_mappers": 2, "num_reducers": 1}`,
		NewMasterJob{
			InputDirectory: "in", OutputDirectory: "out",
			MapperExecutable: "m", ReducerExecutable: "r", CombinerExecutable: "c", NumMappers: 2, NumReducers: 1,
		},
	},
	{
		"retriable failed status",
		`{"message_type": "status", "output_file": "g/sorted_0", "status": "failed", "worker_pid": 5, "error": "open m/a: no such file", "retry": true, "missing_files": ["m/a"]}`,
		Status{OutputFile: "g/sorted_0", Status: StatusFailed, WorkerPID: 5, Failure: Failure{Error: "open m/a: no such file", Retry: true, MissingFiles: []string{"m/a"}}},
	},
	{
		"job_status_reply",
		`{"message_type": "job_status_reply", "jobs": [{"job_id": 0, "state": "done", "input_directory": "in",
		  "output_directory": "out", "phases": [{"name": "map", "done": 1, "total": 1}],
		  "submitted": "2024-01-02T03:04:05Z"}],
		  "workers": [{"worker_pid": 9, "worker_host": "localhost", "worker_port": 6001, "state": "ready",
		  "last_heartbeat": "2024-01-02T03:04:06Z", "tasks": 0}]}`,
		ClusterStatus{
			Jobs: []JobInfo{{
				ID: 0, State: JobDone, InputDirectory: "in", OutputDirectory: "out",
				Phases:    []PhaseInfo{{Name: "map", Done: 1, Total: 1}},
				Submitted: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
			}},
			Workers: []WorkerInfo{{
				PID: 9, Host: "localhost", Port: 6001, State: "ready",
				LastHeartbeat: time.Date(2024, 1, 2, 3, 4, 6, 0, time.UTC),
			}},
		},
	},
}

func intPtr(i int) *int { return &i }

func jsonObject(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, data)
	}
	return m
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestEncodeMatchesLiteralJSON(t *testing.T) {
	all := append(slices.Clone(referenceExamples), extensionExamples...)
	for _, tt := range all {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Encode(tt.msg)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got := jsonObject(t, data)
			want := jsonObject(t, []byte(tt.json))
			if gk, wk := sortedKeys(got), sortedKeys(want); !slices.Equal(gk, wk) {
				t.Errorf("field names:\n got %v\nwant %v\nJSON: %s", gk, wk, data)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("encoded\n got %v\nwant %v", got, want)
			}
			if bytes.ContainsAny(data, "\n") {
				t.Errorf("encoded document spans lines: %q", data)
			}
		})
	}
}

func TestDecodeExamples(t *testing.T) {
	all := append(slices.Clone(referenceExamples), extensionExamples...)
	for _, tt := range all {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.json))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if reflect.TypeOf(got) != reflect.TypeOf(tt.msg) {
				t.Fatalf("Decode returned %T, want %T (a value, not a pointer)", got, tt.msg)
			}
			if !reflect.DeepEqual(got, tt.msg) {
				t.Errorf("Decode\n got %#v\nwant %#v", got, tt.msg)
			}
			// And back: Encode then Decode gives the same value.
			data, err := Encode(got)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			again, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode(Encode): %v", err)
			}
			if !reflect.DeepEqual(again, tt.msg) {
				t.Errorf("round trip\n got %#v\nwant %#v", again, tt.msg)
			}
		})
	}
}

func TestDecodeIgnoresUnknownFields(t *testing.T) {
	tests := []struct {
		name string
		json string
		want Message
	}{
		{
			"extra scalar and object on register",
			`{"message_type": "register", "worker_host": "h", "worker_port": 1, "worker_pid": 2, "color": "blue", "nested": {"a": [1, 2]}}`,
			Register{WorkerHost: "h", WorkerPort: 1, WorkerPID: 2},
		},
		{
			"extra field on heartbeat",
			`{"worker_pid": 8, "seq": 12, "message_type": "heartbeat"}`,
			Heartbeat{WorkerPID: 8},
		},
		{
			"extra field on shutdown",
			`{"message_type": "shutdown", "why": null}`,
			Shutdown{},
		},
		{
			"status without any output field (not required)",
			`{"message_type": "status", "status": "finished", "worker_pid": 3, "elapsed": 1.5}`,
			Status{Status: StatusFinished, WorkerPID: 3},
		},
		{
			"new_worker_job without worker_pid (not required)",
			`{"message_type": "new_worker_job", "input_files": [], "executable": "e", "output_directory": "o"}`,
			NewWorkerJob{InputFiles: []string{}, Executable: "e", OutputDirectory: "o"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.json))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestDecodeMissingRequiredFields drops each required field of each reference
// message in turn, and also sets it to null.
func TestDecodeMissingRequiredFields(t *testing.T) {
	requiredFields := map[string][]string{
		"register":       {"worker_host", "worker_port", "worker_pid"},
		"new_master_job": {"input_directory", "output_directory", "mapper_executable", "reducer_executable", "num_mappers", "num_reducers"},
		"new_worker_job": {"input_files", "executable", "output_directory"},
		"new_sort_job":   {"input_files", "output_file"},
		"heartbeat":      {"worker_pid"},
		"status":         {"status", "worker_pid"},
	}
	for _, ex := range referenceExamples {
		var base map[string]any
		if err := json.Unmarshal([]byte(ex.json), &base); err != nil {
			t.Fatal(err)
		}
		kind := base["message_type"].(string)
		for _, field := range requiredFields[kind] {
			for _, how := range []string{"absent", "null"} {
				t.Run(ex.name+"/"+field+"/"+how, func(t *testing.T) {
					m := make(map[string]any, len(base))
					for k, v := range base {
						m[k] = v
					}
					if how == "absent" {
						delete(m, field)
					} else {
						m[field] = nil
					}
					data, err := json.Marshal(m)
					if err != nil {
						t.Fatal(err)
					}
					got, err := Decode(data)
					if err == nil {
						t.Fatalf("Decode(%s) = %#v, want an error", data, got)
					}
					if errors.Is(err, ErrEmpty) {
						t.Fatalf("got ErrEmpty for %s", data)
					}
					for _, want := range []string{"missing", field, kind} {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("error %q does not mention %q", err, want)
						}
					}
				})
			}
		}
	}
	t.Run("message_type itself", func(t *testing.T) {
		_, err := Decode([]byte(`{"worker_pid": 3}`))
		if err == nil || !strings.Contains(err.Error(), "message_type") {
			t.Errorf("got %v, want an error naming message_type", err)
		}
	})
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		// want are substrings the error must contain.
		want []string
	}{
		{"port as string", `{"message_type": "register", "worker_host": "h", "worker_port": "6001", "worker_pid": 1}`, []string{"register", "worker_port"}},
		{"pid as float", `{"message_type": "heartbeat", "worker_pid": 1.5}`, []string{"heartbeat", "worker_pid"}},
		{"pid as string", `{"message_type": "status", "status": "finished", "worker_pid": "7"}`, []string{"status", "worker_pid"}},
		{"input_files as string", `{"message_type": "new_worker_job", "input_files": "a.txt", "executable": "e", "output_directory": "o"}`, []string{"new_worker_job", "input_files"}},
		{"input_files with a number", `{"message_type": "new_sort_job", "input_files": ["a", 2], "output_file": "o"}`, []string{"new_sort_job", "input_files"}},
		{"num_mappers as bool", `{"message_type": "new_master_job", "input_directory": "i", "output_directory": "o", "mapper_executable": "m", "reducer_executable": "r", "num_mappers": true, "num_reducers": 1}`, []string{"new_master_job", "num_mappers"}},
		{"output_files as object", `{"message_type": "status", "output_files": {"a": 1}, "status": "finished", "worker_pid": 7}`, []string{"status", "output_files"}},
		{"message_type as number", `{"message_type": 5}`, []string{"message_type"}},
		{"message_type as null", `{"message_type": null}`, []string{"message_type"}},
		{"unknown message_type", `{"message_type": "launch_missiles", "worker_pid": 1}`, []string{"unknown message_type", "launch_missiles"}},
		{"empty message_type", `{"message_type": ""}`, []string{"unknown message_type"}},
		{"message_type in the wrong case", `{"message_type": "Register", "worker_host": "h", "worker_port": 1, "worker_pid": 2}`, []string{"unknown message_type", "Register"}},
		{"array", `[{"message_type": "shutdown"}]`, []string{"not a JSON object"}},
		{"string", `"shutdown"`, []string{"not a JSON object"}},
		{"number", `42`, []string{"not a JSON object"}},
		{"garbage", `hello there`, []string{"not a JSON object"}},
		{"truncated object", `{"message_type": "register", "worker_host": "h"`, []string{"not a JSON object"}},
		{"truncated string", `{"message_type": "regis`, []string{"not a JSON object"}},
		{"two documents", `{"message_type": "shutdown"}{"message_type": "shutdown"}`, []string{"not a JSON object"}},
		{"trailing comma", `{"message_type": "shutdown",}`, []string{"not a JSON object"}},
		// null parses as an empty object; it must still be an error.
		{"null", `null`, []string{"not a JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("Decode(%s) = %#v, want an error", tt.in, got)
			}
			if errors.Is(err, ErrEmpty) {
				t.Fatalf("Decode(%s) gave ErrEmpty, want a real error", tt.in)
			}
			if got != nil {
				t.Errorf("Decode returned a message %#v with its error", got)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestDecodeEmpty(t *testing.T) {
	for _, in := range []string{"", " ", "\n", " \t\r\n  "} {
		got, err := Decode([]byte(in))
		if !errors.Is(err, ErrEmpty) {
			t.Errorf("Decode(%q) = %v, %v; want ErrEmpty", in, got, err)
		}
	}
	if _, err := Decode(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("Decode(nil) = %v; want ErrEmpty", err)
	}
	// Surrounding whitespace around a real document is fine.
	got, err := Decode([]byte("\n  {\"message_type\": \"shutdown\"}\n"))
	if err != nil || got != (Shutdown{}) {
		t.Errorf("document with whitespace: %#v, %v", got, err)
	}
}

func TestStatusFiles(t *testing.T) {
	tests := []struct {
		name string
		json string
		want []string
	}{
		{"output_files", `{"message_type": "status", "output_files": ["a", "b"], "status": "finished", "worker_pid": 1}`, []string{"a", "b"}},
		{"output_file", `{"message_type": "status", "output_file": "c", "status": "finished", "worker_pid": 1}`, []string{"c"}},
		{"both: the list wins", `{"message_type": "status", "output_files": ["a"], "output_file": "c", "status": "finished", "worker_pid": 1}`, []string{"a"}},
		{"empty list falls back to output_file", `{"message_type": "status", "output_files": [], "output_file": "c", "status": "finished", "worker_pid": 1}`, []string{"c"}},
		{"neither", `{"message_type": "status", "status": "finished", "worker_pid": 1}`, nil},
		{"empty output_file", `{"message_type": "status", "output_file": "", "status": "finished", "worker_pid": 1}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := Decode([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			st, ok := msg.(Status)
			if !ok {
				t.Fatalf("got %T, want Status", msg)
			}
			if got := st.Files(); !slices.Equal(got, tt.want) {
				t.Errorf("Files() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHeartbeat(t *testing.T) {
	if got, want := HeartbeatAddr("localhost", 6000), "localhost:5999"; got != want {
		t.Errorf("HeartbeatAddr = %q, want %q", got, want)
	}
	if got, want := HeartbeatAddr("::1", 6000), "[::1]:5999"; got != want {
		t.Errorf("HeartbeatAddr = %q, want %q", got, want)
	}
	t.Run("over UDP", func(t *testing.T) {
		got := make(chan Message, 4)
		tr := TCP{Log: zerolog.Nop()}
		ln, err := tr.ListenDatagrams("127.0.0.1:0", func(_ string, msg Message) { got <- msg })
		if err != nil {
			t.Skipf("no UDP loopback: %v", err)
		}
		defer ln.Close()
		// A datagram that does not decode is dropped; the next one arrives.
		conn, err := net.Dial("udp", ln.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte(`{{`))
		conn.Close()
		if err := tr.SendDatagram(ln.Addr(), Heartbeat{WorkerPID: 31337}); err != nil {
			t.Fatal(err)
		}
		select {
		case msg := <-got:
			if !reflect.DeepEqual(msg, Heartbeat{WorkerPID: 31337}) {
				t.Errorf("received %#v, want the heartbeat of 31337", msg)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no heartbeat within 5 s")
		}
	})
}

// spaces is an endless reader of spaces that counts what it gave.
type spaces struct{ n int64 }

var spaceChunk = bytes.Repeat([]byte{' '}, 64<<10)

func (s *spaces) Read(p []byte) (int, error) {
	n := copy(p, spaceChunk)
	s.n += int64(n)
	return n, nil
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestReadMessage(t *testing.T) {
	t.Run("small", func(t *testing.T) {
		got, err := ReadMessage(strings.NewReader(`{"message_type": "shutdown"}`))
		if err != nil || string(got) != `{"message_type": "shutdown"}` {
			t.Errorf("got %q, %v", got, err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		got, err := ReadMessage(strings.NewReader(""))
		if err != nil || len(got) != 0 {
			t.Errorf("got %q, %v", got, err)
		}
	})
	t.Run("exactly the limit", func(t *testing.T) {
		got, err := ReadMessage(io.LimitReader(&spaces{}, MaxMessageSize))
		if err != nil {
			t.Fatalf("error %v", err)
		}
		if len(got) != MaxMessageSize {
			t.Errorf("read %d bytes, want %d", len(got), MaxMessageSize)
		}
	})
	t.Run("one byte over the limit", func(t *testing.T) {
		got, err := ReadMessage(io.LimitReader(&spaces{}, MaxMessageSize+1))
		if !errors.Is(err, ErrTooLarge) || got != nil {
			t.Errorf("got %d bytes, %v; want ErrTooLarge", len(got), err)
		}
	})
	t.Run("endless sender is cut off", func(t *testing.T) {
		r := &spaces{}
		_, err := ReadMessage(r)
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("got %v, want ErrTooLarge", err)
		}
		if r.n > 2*MaxMessageSize {
			t.Errorf("read %d bytes from an endless sender; it must stop soon after %d", r.n, MaxMessageSize)
		}
	})
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("connection reset")
		_, err := ReadMessage(io.MultiReader(strings.NewReader("{"), failingReader{boom}))
		if !errors.Is(err, boom) {
			t.Errorf("got %v, want %v", err, boom)
		}
	})
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no TCP loopback: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestSendOverLoopback(t *testing.T) {
	ln := listen(t)
	type result struct {
		data []byte
		err  error
	}
	got := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		data, err := ReadMessage(conn)
		got <- result{data, err}
	}()
	msg := NewWorkerJob{
		InputFiles: []string{"in/a", "in/é b"},
		Executable: "exec/map.sh", OutputDirectory: "var/job-0/mapper-output", WorkerPID: 12,
	}
	if err := Send(ln.Addr().String(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := <-got
	if r.err != nil {
		t.Fatalf("server read: %v", r.err)
	}
	decoded, err := Decode(r.data)
	if err != nil {
		t.Fatalf("Decode(%s): %v", r.data, err)
	}
	if !reflect.DeepEqual(decoded, msg) {
		t.Errorf("received %#v, want %#v", decoded, msg)
	}

	t.Run("nobody listening", func(t *testing.T) {
		ln2, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Skip(err)
		}
		addr := ln2.Addr().String()
		ln2.Close()
		err = Send(addr, Shutdown{})
		if err == nil || !strings.Contains(err.Error(), addr) {
			t.Errorf("Send to a closed port: %v; want an error naming %s", err, addr)
		}
	})
}

func TestRequestReply(t *testing.T) {
	ln := listen(t)
	serverErr := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		// The request half-closes, so reading to EOF ends.
		data, err := ReadMessage(conn)
		if err != nil {
			serverErr <- err
			return
		}
		msg, err := Decode(data)
		if err != nil {
			serverErr <- err
			return
		}
		req, ok := msg.(JobStatusRequest)
		if !ok || req.JobID == nil || *req.JobID != 7 {
			serverErr <- errors.New("unexpected request")
			Reply(conn, Error{Error: "bad request"})
			return
		}
		serverErr <- Reply(conn, JobAccepted{JobID: 7})
	}()
	reply, err := Request(ln.Addr().String(), JobStatusRequest{JobID: intPtr(7)}, 10*time.Second)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if err := <-serverErr; err != nil {
		t.Fatalf("server: %v", err)
	}
	if want := (JobAccepted{JobID: 7}); reply != want {
		t.Errorf("reply %#v, want %#v", reply, want)
	}

	t.Run("peer closes without answering", func(t *testing.T) {
		ln := listen(t)
		go func() {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			ReadMessage(conn)
			conn.Close()
		}()
		_, err := Request(ln.Addr().String(), Shutdown{}, 10*time.Second)
		if !errors.Is(err, ErrEmpty) {
			t.Errorf("got %v, want ErrEmpty (no answer)", err)
		}
	})
}

func TestServe(t *testing.T) {
	ln := listen(t)
	type received struct {
		msg  Message
		resp error
	}
	got := make(chan received, 4)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ln, zerolog.Nop(), func(_ string, msg Message, reply func(Message) error) {
			var err error
			if _, ok := msg.(JobStatusRequest); ok {
				err = reply(JobAccepted{JobID: 1})
			}
			got <- received{msg, err}
		})
	}()

	// A reference-style one-way message reaches the handler decoded.
	hb := Register{WorkerHost: "localhost", WorkerPort: 6001, WorkerPID: 3}
	if err := Send(ln.Addr().String(), hb); err != nil {
		t.Fatal(err)
	}
	if r := <-got; !reflect.DeepEqual(r.msg, hb) {
		t.Errorf("handler got %#v, want %#v", r.msg, hb)
	}
	// An extension request gets its answer on the same connection.
	reply, err := Request(ln.Addr().String(), JobStatusRequest{}, 10*time.Second)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if r := <-got; r.resp != nil {
		t.Errorf("Reply: %v", r.resp)
	}
	if want := (JobAccepted{JobID: 1}); reply != want {
		t.Errorf("reply %#v, want %#v", reply, want)
	}
	// A bad document is answered with an error that says what is wrong.
	for _, tt := range []struct{ in, want string }{
		{`{"message_type": "register", "worker_host": "h", "worker_pid": 1}`, "worker_port"},
		{`{"message_type": "fly"}`, "fly"},
		{`[1, 2]`, "not a JSON object"},
	} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write([]byte(tt.in))
		conn.(*net.TCPConn).CloseWrite()
		data, err := ReadMessage(conn)
		conn.Close()
		if err != nil {
			t.Fatalf("reading the answer to %s: %v", tt.in, err)
		}
		msg, err := Decode(data)
		e, ok := msg.(Error)
		if err != nil || !ok || !strings.Contains(e.Error, tt.want) {
			t.Errorf("answer to %s: %s (%v); want an error naming %q", tt.in, data, err, tt.want)
		}
	}
	select {
	case r := <-got:
		t.Errorf("handler called for a bad document: %#v", r.msg)
	default:
	}
	ln.Close()
	if err := <-done; err != nil {
		t.Errorf("Serve returned %v after its listener closed, want nil", err)
	}
}

// TestDecodeFieldNamesAreExact: the reference protocol's field names are exact, so a field
// that differs only in case is an unknown field and must be ignored.
func TestDecodeFieldNamesAreExact(t *testing.T) {
	tests := []struct {
		name string
		json string
		want Message
	}{
		{
			"Worker_PID after worker_pid",
			`{"message_type": "heartbeat", "worker_pid": 3, "Worker_PID": 4}`,
			Heartbeat{WorkerPID: 3},
		},
		{
			// Worse: the decoded value's own message_type changes, so it
			// no longer matches its Go type and does not round-trip.
			"Message_Type after message_type",
			`{"message_type": "heartbeat", "worker_pid": 3, "Message_Type": "register"}`,
			Heartbeat{WorkerPID: 3},
		},
		{
			"OUTPUT_FILE beside output_file",
			`{"message_type": "status", "status": "finished", "worker_pid": 1, "output_file": "a", "OUTPUT_FILE": "b"}`,
			Status{Status: StatusFinished, WorkerPID: 1, OutputFile: "a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("a field name %s overrode the real one: got %#v, want %#v", "differing only in case", got, tt.want)
			}
		})
	}
}
