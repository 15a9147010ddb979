package worker_test

import (
	"os"
	"path/filepath"
	"testing"

	"mapreduce/protocol"
)

// TestOwnFaultInStatus: a task whose output this worker cannot create, or
// whose program it cannot find, fails as the worker's fault; one whose
// program exits non-zero fails as the program's.
func TestOwnFaultInStatus(t *testing.T) {
	m, w := startWorker(t)
	base := t.TempDir()
	fail := script(t, base, "fail", "cat >/dev/null\nexit 2\n")
	inputs := writeInputs(t, base, []string{"a.txt"}, func(string) string { return "x\n" })
	out := filepath.Join(base, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, exe, out string
		fault          string
	}{
		{"output directory missing", "cat", filepath.Join(base, "no-such-dir"), protocol.FaultWorker},
		{"program missing here", filepath.Join(base, "gone"), out, protocol.FaultWorker},
		{"program exits non-zero", fail, out, ""},
	} {
		m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs, Executable: tc.exe, OutputDirectory: tc.out, WorkerPID: workerPID})
		status := m.status(t)
		if status.Status != protocol.StatusFailed || status.Fault != tc.fault || status.Retry {
			t.Errorf("%s: status %s, fault %q, retry %t (%s); want failed, fault %q", tc.name, status.Status, status.Fault, status.Retry, status.Error, tc.fault)
		}
	}
}
