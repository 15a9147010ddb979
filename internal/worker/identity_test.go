package worker_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// TestTaskIdentityIsEchoedAndCancelsOneAttempt: a task that comes with its
// identity is named by it in heartbeats and in its status; a cancel_task
// for another attempt of the same task (one that timed out, say, before
// the task came back to this worker) leaves it running, and one for its
// own attempt kills it.
func TestTaskIdentityIsEchoedAndCancelsOneAttempt(t *testing.T) {
	m := newFakeMaster(t, 0)
	m.listen()
	w := m.start(m.config())
	base := t.TempDir()
	gate := filepath.Join(base, "gate")
	writer := script(t, base, "writer", `echo $$ > `+base+`/pid.tmp && mv `+base+`/pid.tmp `+base+`/pid
while [ ! -e `+gate+` ]; do sleep 0.01; done
cat
`)
	inputs := writeInputs(t, base, []string{"a"}, func(string) string { return "x\n" })
	out := filepath.Join(base, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	id := protocol.TaskIdentity{JobID: 3, Stage: "map", Index: 1, Attempt: 2}
	m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs, Executable: writer, OutputDirectory: out, WorkerPID: workerPID, Task: &id})
	testutil.WaitFor(t, 2*time.Second, "the program to run", func() bool {
		_, err := os.Stat(filepath.Join(base, "pid"))
		return err == nil
	})
	testutil.WaitFor(t, 3*time.Second, "a heartbeat naming the task by its identity", func() bool {
		hb := <-m.beats
		return len(hb.Tasks) == 1 && hb.Tasks[0].Task != nil && *hb.Tasks[0].Task == id
	})

	stale := id
	stale.Attempt = 1
	m.send(t, w, protocol.CancelTask{Output: filepath.Join(out, "a"), Task: &stale})
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	st := m.status(t)
	if st.Status != protocol.StatusFinished || st.Task == nil || *st.Task != id {
		t.Fatalf("status %+v (task %v), want finished with identity %+v: a cancel for another attempt killed it", st, st.Task, id)
	}

	// The same task again; a cancel for this attempt kills it.
	if err := os.Remove(gate); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(base, "pid"))
	id.Attempt = 3
	m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs, Executable: writer, OutputDirectory: out, WorkerPID: workerPID, Task: &id})
	testutil.WaitFor(t, 2*time.Second, "the program to run again", func() bool {
		_, err := os.Stat(filepath.Join(base, "pid"))
		return err == nil
	})
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(base, "pid"))))
	if err != nil {
		t.Fatal(err)
	}
	m.send(t, w, protocol.CancelTask{Output: "/somewhere/else", Task: &id})
	testutil.WaitFor(t, 2*time.Second, "the attempt named to be killed", func() bool { return gone(pid) })
	select {
	case st := <-m.statuses:
		t.Errorf("a status for the cancelled task: %+v", st)
	case <-time.After(100 * time.Millisecond):
	}
}
