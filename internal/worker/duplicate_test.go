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

// TestTaskSentAgainRunsOnce: a task the worker already runs, sent again (by
// a master that restarted, or that took the worker for dead and back), is
// not run twice: the newer message wins, the older program is killed, and
// one status is reported. Two programs must not write the same output.
func TestTaskSentAgainRunsOnce(t *testing.T) {
	m := newFakeMaster(t, 0)
	m.listen()
	w := m.start(m.config()) // two slots: both copies could run at once
	base := t.TempDir()
	pids, gate := filepath.Join(base, "pids"), filepath.Join(base, "gate")
	// Each run notes its pid, waits for the gate, then copies its input.
	prog := script(t, base, "prog", `echo $$ >> `+pids+`
while [ ! -e `+gate+` ]; do sleep 0.01; done
cat
`)
	inputs := writeInputs(t, base, []string{"a"}, func(string) string { return "x\n" })
	out := filepath.Join(base, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	started := func(n int) []int {
		t.Helper()
		var got []int
		testutil.WaitFor(t, 2*time.Second, strconv.Itoa(n)+" runs of the program", func() bool {
			data, err := os.ReadFile(pids)
			if err != nil || !strings.HasSuffix(string(data), "\n") {
				return false
			}
			got = got[:0]
			for _, f := range strings.Fields(string(data)) {
				pid, err := strconv.Atoi(f)
				if err != nil {
					return false
				}
				got = append(got, pid)
			}
			return len(got) >= n
		})
		return got
	}
	task := protocol.NewWorkerJob{InputFiles: inputs, Executable: prog, OutputDirectory: out, WorkerPID: workerPID}
	m.send(t, w, task)
	started(1)
	m.send(t, w, task)
	runs := started(2)
	testutil.WaitFor(t, 2*time.Second, "the first copy to be killed", func() bool { return gone(runs[0]) })
	if gone(runs[1]) {
		t.Fatal("the second copy is gone too")
	}

	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	st := m.status(t)
	if st.Status != protocol.StatusFinished || len(st.OutputFiles) != 1 || st.OutputFiles[0] != filepath.Join(out, "a") {
		t.Fatalf("status %+v, want %s finished", st, filepath.Join(out, "a"))
	}
	if got := readFile(t, filepath.Join(out, "a")); got != "x\n" {
		t.Errorf("output %q, want %q", got, "x\n")
	}
	select {
	case st := <-m.statuses:
		t.Errorf("a second status: %+v", st)
	case <-time.After(100 * time.Millisecond):
	}
	if got := started(2); len(got) != 2 {
		t.Errorf("the program ran %d times, want 2 (the first killed)", len(got))
	}
}
