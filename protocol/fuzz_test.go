package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecode feeds Decode arbitrary bytes: it must never panic, and what it
// accepts must encode and decode again to the same message.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"message_type": "register", "worker_host": "localhost", "worker_port": 6001, "worker_pid": 77}`,
		`{"message_type": "new_master_job", "input_directory": "in", "output_directory": "out", "mapper_executable": "m", "reducer_executable": "r", "num_mappers": 2, "num_reducers": 1}`,
		`{"message_type": "new_worker_job", "input_files": ["a"], "executable": "m", "output_directory": "o", "worker_pid": 1}`,
		`{"message_type": "new_sort_job", "input_files": ["a", "b"], "output_file": "o", "worker_pid": 1}`,
		`{"message_type": "status", "output_files": ["a"], "status": "finished", "worker_pid": 1}`,
		`{"message_type": "status", "output_file": "a", "status": "failed", "worker_pid": 1, "error": "x", "retry": true}`,
		`{"message_type": "heartbeat", "worker_pid": 1}`,
		`{"message_type": "shutdown"}`,
		`{"message_type": "job_status", "job_id": 3}`,
		`[1, 2]`, `{"message_type": 5}`, `{"message_type": "register"`, ``, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := Decode(data)
		if err != nil {
			return
		}
		again, err := Encode(msg)
		if err != nil {
			t.Fatalf("encode %#v: %v", msg, err)
		}
		msg2, err := Decode(again)
		if err != nil {
			t.Fatalf("decode of our own encoding %s: %v", again, err)
		}
		a, _ := json.Marshal(msg)
		b, _ := json.Marshal(msg2)
		if string(a) != string(b) {
			t.Fatalf("round trip changed the message:\n%s\n%s", a, b)
		}
	})
}

// TestWorkerStatusesCarryTheirFiles: a worker's status always names its
// files in the field the reference protocol gives, output_files as a list even when empty.
func TestWorkerStatusesCarryTheirFiles(t *testing.T) {
	tests := []struct {
		msg  Message
		want string
	}{
		{Status{OutputFiles: []string{}, Status: StatusFinished, WorkerPID: 3},
			`{"message_type":"status","output_files":[],"status":"finished","worker_pid":3}`},
		{Status{OutputFile: "g/s", Status: StatusFinished, WorkerPID: 3},
			`{"message_type":"status","output_file":"g/s","status":"finished","worker_pid":3}`},
		{Status{OutputFiles: []string{"o/a"}, Status: StatusFailed, WorkerPID: 3, Failure: Failure{Error: "boom"}},
			`{"message_type":"status","output_files":["o/a"],"status":"failed","worker_pid":3,"error":"boom"}`},
	}
	for _, tt := range tests {
		got, err := Encode(tt.msg)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("Encode(%#v) =\n%s\nwant\n%s", tt.msg, got, tt.want)
		}
		msg, err := Decode(got)
		if err != nil {
			t.Fatalf("Decode(%s): %v", got, err)
		}
		if !reflect.DeepEqual(msg, tt.msg) {
			t.Errorf("Decode(Encode(%#v)) = %#v", tt.msg, msg)
		}
	}
}
