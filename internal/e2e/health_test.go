package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"mapreduce/internal/vardir"
	"mapreduce/protocol"
)

// readOnlyMount is the wrapper that runs a program in a mount namespace of
// its own where the directory $0 is a read-only bind mount of itself: the
// program sees the files there and cannot write one. The namespace goes
// when the program ends.
const readOnlyMount = `mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"`

// readOnlyCommand is binary with args run by readOnlyMount over dir.
func readOnlyCommand(dir, binary string, args ...string) []string {
	return append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", readOnlyMount, dir, binary}, args...)
}

// requireReadOnlyMounts skips the test, saying why, unless a program can
// be run with a directory read-only for it alone.
func requireReadOnlyMounts(t *testing.T) {
	t.Helper()
	requirePrivateMounts(t)
	dir := t.TempDir()
	cmd := readOnlyCommand(dir, "sh", "-c", `! touch "$0/probe" 2>/dev/null`, dir)
	if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: this machine refuses a read-only bind mount in a mount namespace even to root: %v: %s", err, strings.TrimSpace(string(out)))
	}
}

// TestReadOnlyWorkerIsExcluded: one of two workers sees the master's var,
// the jobs' outputs and its own local directory read-only, as a worker
// whose disk went read-only does. Every task it is given fails for that,
// a fault of its own: the task runs again on the other worker, and after
// three the bad worker is excluded. Five jobs all succeed, with the truth
// pipeline's output, and sendjob --status shows the bad worker excluded,
// with why. With the shuffle, its map tasks cannot write their runs in its
// local directory; without (the bad worker does not take the shuffle, so
// the first job runs without), they cannot write their outputs in the
// master's var.
func TestReadOnlyWorkerIsExcluded(t *testing.T) {
	requireReadOnlyMounts(t)
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"shuffle", nil},
		{"var", []string{"--shuffle=false"}},
	} {
		t.Run(tc.name, func(t *testing.T) { readOnlyWorkerIsExcluded(t, tc.flags) })
	}
}

func readOnlyWorkerIsExcluded(t *testing.T, flags []string) {
	c := newCluster(t, "--exclude-after", "3", "--exclude-window", "1m", "--exclude-for", "1m")
	t.Cleanup(func() { unmountLeaked(t, c.dir) })
	// The bad worker's local directory is made, marked as a worker's, in
	// the directory it will see read-only: the worker takes it as its own
	// and wipes nothing.
	local := filepath.Join(c.dir, "bad-local")
	if err := os.Mkdir(local, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, vardir.Worker.Marker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--heartbeat-interval", heartbeat.String(), "--log-format", "json", "--log-level", "debug",
		"--local-dir", local}, flags...)
	cmd := readOnlyCommand(c.dir, filepath.Join(binDir, "worker"), append(args, strconv.Itoa(c.port), strconv.Itoa(freePort(t)))...)
	// Registered first, it is given the first tasks.
	bad := c.start("bad-worker", cmd[0], cmd[1:]...)
	c.waitRegistered(bad)
	c.workers = append(c.workers, bad)
	c.startWorker()

	j := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 3, reducers: 2}
	type submitted struct {
		id  int
		out string
	}
	var jobs []submitted
	for range 5 {
		id, out := c.submit(j)
		jobs = append(jobs, submitted{id, out})
	}
	for _, s := range jobs {
		c.waitDone(j, s.id, s.out)
	}

	var info protocol.WorkerInfo
	for _, w := range c.status().Workers {
		if w.PID == bad.pid() {
			info = w
		}
	}
	if info.State != "excluded" || !strings.Contains(info.Excluded, "read-only file system") || info.ExcludedUntil == nil {
		t.Errorf("the read-only worker is %+v, want excluded for a read-only file system", info)
	}
	out, err := exec.Command(filepath.Join(binDir, "sendjob"), "--status", strconv.Itoa(c.port)).CombinedOutput()
	if err != nil {
		t.Fatalf("sendjob --status: %v\n%s", err, out)
	}
	line := ""
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, fmt.Sprintf("%d ", bad.pid())) {
			line = l
		}
	}
	if !strings.Contains(line, "excluded") || !strings.Contains(line, "read-only file system") {
		t.Errorf("sendjob --status shows the read-only worker as %q, want excluded, with why:\n%s", line, out)
	}
	if !c.logged(c.master, "worker excluded", fmt.Sprintf(`"worker":%d`, bad.pid())) {
		t.Errorf("the master did not log the worker's exclusion")
	}
	if c.logged(c.master, "job failed") {
		t.Errorf("a job failed")
	}
	t.Logf("sendjob --status:\n%s", out)
}
