package e2e

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// submitRefused submits j, with output in out, and returns why the master
// refused it; the test fails if it was accepted.
func (c *cluster) submitRefused(j job, out string) string {
	c.t.Helper()
	reply, err := c.request(c.addr(), c.jobMessage(j, out))
	if err != nil {
		c.t.Fatalf("submit: %v", err)
	}
	refusal, ok := reply.(protocol.Error)
	if !ok {
		c.t.Fatalf("submit of %+v: got %#v, want a refusal", j, reply)
	}
	return refusal.Error
}

// sendjobCmd is bin/sendjob in the repository with args and the cluster's
// port last, to be run.
func (c *cluster) sendjobCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(binDir, "sendjob"), append(args, strconv.Itoa(c.port))...)
	cmd.Dir = repoRoot
	return cmd
}

// TestJobWaitsForAWorker: a job sent while no worker is up says, in
// sendjob --wait's progress, in --status and on the status page, that it
// waits for a worker; it runs once one registers, and sendjob --wait ends
// with it.
func TestJobWaitsForAWorker(t *testing.T) {
	c := newCluster(t)
	out := filepath.Join(t.TempDir(), "out")
	wait := c.sendjobCmd("--wait", "--output-directory", out, "--num-mappers", "3", "--num-reducers", "2")
	printed := &syncBuffer{}
	wait.Stdout, wait.Stderr = printed, printed
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- wait.Wait() }()
	testutil.WaitFor(t, 10*time.Second, "sendjob --wait to say the job waits for a worker", func() bool {
		return strings.Contains(printed.String(), "waiting: no worker registered")
	})
	status := c.status()
	if len(status.Jobs) != 1 || status.Jobs[0].State != protocol.JobQueued || status.Jobs[0].Waiting != "no worker registered" {
		t.Fatalf("job_status: %+v, want one job queued, waiting: no worker registered", status.Jobs)
	}
	text, err := c.sendjobCmd("--status").CombinedOutput()
	if err != nil || !strings.Contains(string(text), "queued (waiting: no worker registered)") {
		t.Errorf("sendjob --status: %v\n%s\nwant the job queued, waiting for a worker", err, text)
	}
	c.startWorker()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sendjob --wait: %v\n%s", err, printed)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("sendjob --wait did not end once a worker registered:\n%s", printed)
	}
	if !strings.Contains(printed.String(), "job 0 done") {
		t.Errorf("sendjob --wait printed %q, want the job done", printed)
	}
	c.checkOutput(job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", reducers: 2}, out)
	if w := c.jobInfo(0).Waiting; w != "" {
		t.Errorf("a done job waits: %q", w)
	}
}

// TestBadJobRefusedWithNoWorker: a job's files are checked when it is
// submitted, whether or not a worker is up: a bad input directory, a
// missing program or an output directory that cannot be made is refused
// at once, and sendjob prints why and exits non-zero.
func TestBadJobRefusedWithNoWorker(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing input directory", []string{"--input-directory", filepath.Join(dir, "inptu")}, "inptu: no such file or directory"},
		{"missing mapper", []string{"--mapper-executable", filepath.Join(dir, "map.py")}, "map.py: no such file or directory"},
		{"missing reducer", []string{"--reducer-executable", "exec/word_count/reduce.pyy"}, "reduce.pyy: no such file or directory"},
		{"output directory under a file", []string{"--output-directory", "README.md/out"}, "README.md is not a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--output-directory", filepath.Join(t.TempDir(), "out")}, tc.args...)
			text, err := c.sendjobCmd(args...).CombinedOutput()
			if err == nil {
				t.Fatalf("sendjob exited 0:\n%s", text)
			}
			if !strings.HasPrefix(string(text), "sendjob: bad job: ") || !strings.Contains(string(text), tc.want) {
				t.Errorf("sendjob printed %q, want the refusal naming %q", text, tc.want)
			}
		})
	}
	if jobs := c.status().Jobs; len(jobs) != 0 {
		t.Errorf("the master holds %d jobs, want none", len(jobs))
	}
}

// syncBuffer is a bytes.Buffer that a process writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
