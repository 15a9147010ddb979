package worker_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// TestHeartbeatsListTasksAndCancelKillsOne: every heartbeat lists the tasks
// the worker holds with a progress count that changes while a program
// writes, or while a task waits for a slot; cancel_task kills a task's
// programs, and the worker reports nothing for it.
func TestHeartbeatsListTasksAndCancelKillsOne(t *testing.T) {
	m := newFakeMaster(t, 0)
	m.listen()
	cfg := m.config()
	cfg.Parallel = 1 // the second task waits for the first's slot
	w := m.start(cfg)
	base := t.TempDir()
	writer := script(t, base, "writer", fmt.Sprintf(`echo $$ > %[1]s/writer.tmp && mv %[1]s/writer.tmp %[1]s/writer.pid
while :; do echo line; sleep 0.01; done
`, base))
	inputs := writeInputs(t, base, []string{"a", "b"}, func(string) string { return "x\n" })
	out := filepath.Join(base, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(out, "a")
	second := filepath.Join(out, "b")
	m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs[:1], Executable: writer, OutputDirectory: out, WorkerPID: workerPID})
	testutil.WaitFor(t, 2*time.Second, "the writer to run", func() bool {
		_, err := os.Stat(filepath.Join(base, "writer.pid"))
		return err == nil
	})
	m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs[1:], Executable: "cat", OutputDirectory: out, WorkerPID: workerPID})

	// Two heartbeats that list both tasks: each task's count has changed.
	progress := func() map[string]int64 {
		deadline := time.After(2 * time.Second)
		for {
			select {
			case hb := <-m.beats:
				got := map[string]int64{}
				for _, task := range hb.Tasks {
					got[task.Output] = task.Progress
				}
				if len(got) == 2 {
					return got
				}
			case <-deadline:
				t.Fatal("no heartbeat listing both tasks")
			}
		}
	}
	before := progress()
	testutil.WaitFor(t, 2*time.Second, "both tasks' progress to change", func() bool {
		after := progress()
		return after[first] != before[first] && after[second] != before[second]
	})

	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(base, "writer.pid"))))
	if err != nil {
		t.Fatal(err)
	}
	m.send(t, w, protocol.CancelTask{Output: first})
	testutil.WaitFor(t, 2*time.Second, "the writer to be killed", func() bool { return gone(pid) })
	// The slot is free: the second task runs, and only it is reported.
	if st := m.status(t); len(st.OutputFiles) != 1 || st.OutputFiles[0] != second || st.Status != protocol.StatusFinished {
		t.Errorf("status %+v, want the second task finished", st)
	}
	select {
	case st := <-m.statuses:
		t.Errorf("a status for the cancelled task: %+v", st)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestReferenceMasterGetsPlainHeartbeats: a master whose register_ack
// announces no extension gets the reference protocol's heartbeat, whatever
// the worker holds: a reference master may read datagrams into a small
// buffer.
func TestReferenceMasterGetsPlainHeartbeats(t *testing.T) {
	m := newFakeMaster(t, 0)
	m.reference = true
	m.listen()
	w := m.start(m.config())
	base := t.TempDir()
	sleeper := script(t, base, "sleeper", "exec sleep 30\n")
	inputs := writeInputs(t, base, []string{"a"}, func(string) string { return "x\n" })
	m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs, Executable: sleeper, OutputDirectory: base, WorkerPID: workerPID})
	for range 5 {
		select {
		case hb := <-m.beats:
			data, err := protocol.Encode(hb)
			if err != nil || string(data) != fmt.Sprintf(`{"message_type":"heartbeat","worker_pid":%d}`, workerPID) {
				t.Fatalf("heartbeat %s (%v), want the reference protocol's", data, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no heartbeat")
		}
	}
}
