package e2e

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// script writes an executable bash script.
func script(t *testing.T, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/usr/bin/env bash\n"+body), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestJobFailures runs one failing job per kind of unrecoverable error,
// each followed by a good job; the failed job reports why, with the
// executable's own error text, and the good job still completes. A job
// whose files are wrong is refused when submitted, saying why.
func TestJobFailures(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	c.startWorker()
	dir := t.TempDir()
	good := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 3, reducers: 2}
	notADir := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(notADir, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name string
		j    job
		out  string
		// want is text the refusal must contain.
		want string
	}{
		{"missing input directory", job{input: filepath.Join(dir, "nope"), mapper: good.mapper, reducer: good.reducer, mappers: 1, reducers: 1},
			"", "no such file or directory"},
		{"unreadable input directory", job{input: notADir, mapper: good.mapper, reducer: good.reducer, mappers: 1, reducers: 1},
			"", "not a directory"},
		{"missing mapper", job{input: "input", mapper: filepath.Join(dir, "no-mapper"), reducer: good.reducer, mappers: 1, reducers: 1},
			"", "no-mapper"},
		{"mapper not executable", job{input: "input", mapper: script(t, dir, "plain-map", "cat\n", 0o644), reducer: good.reducer, mappers: 1, reducers: 1},
			"", "is not executable"},
		{"missing reducer", job{input: "input", mapper: good.mapper, reducer: filepath.Join(dir, "no-reducer"), mappers: 1, reducers: 1},
			"", "no-reducer"},
		{"output directory cannot be made", good, filepath.Join(notADir, "out"), "output directory"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.out
			if out == "" {
				out = filepath.Join(t.TempDir(), "out")
			}
			if why := c.submitRefused(tc.j, out); !strings.Contains(why, tc.want) {
				t.Errorf("refused with %q, want %q in it", why, tc.want)
			}
		})
	}
	cases := []struct {
		name string
		j    job
		// want is text the job's errors must contain.
		want string
	}{
		{"mapper exits non-zero", job{input: "input",
			mapper:  script(t, dir, "bad-map", "echo 'mapper: the disk is made of cheese' >&2\nexit 3\n", 0o755),
			reducer: good.reducer, mappers: 3, reducers: 1},
			"mapper: the disk is made of cheese"},
		{"reducer exits non-zero", job{input: "input", mapper: good.mapper,
			reducer: script(t, dir, "bad-reduce", "cat >/dev/null\necho 'reducer: cannot add apples to pears' >&2\nexit 1\n", 0o755),
			mappers: 2, reducers: 2},
			"reducer: cannot add apples to pears"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, _ := c.submit(tc.j)
			info := c.waitJob(id, 30*time.Second)
			if info.State != "failed" {
				t.Fatalf("job ended %s, want failed", info.State)
			}
			if !strings.Contains(strings.Join(info.Errors, "\n"), tc.want) {
				t.Errorf("errors %q do not contain %q", info.Errors, tc.want)
			}
			id, out := c.submit(good)
			c.waitDone(good, id, out)
		})
	}
}

// TestSendjobWait checks sendjob --wait's exit status and what it prints.
func TestSendjobWait(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	dir := t.TempDir()
	sendjob := filepath.Join(binDir, "sendjob")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(sendjob, append(args, strconv.Itoa(c.port))...)
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out := filepath.Join(dir, "out")
	text, err := run("--wait", "--output-directory", out, "--num-mappers", "3", "--num-reducers", "2")
	if err != nil {
		t.Fatalf("good job: %v\n%s", err, text)
	}
	if !strings.Contains(text, "done: output in "+out) {
		t.Errorf("good job printed %q, want the output directory", text)
	}
	// The good job's output directory holds its outputs: a job into it
	// is refused.
	text, err = run("--wait", "--output-directory", out)
	if err == nil || !strings.Contains(text, out+" is not empty") {
		t.Errorf("job into a full output directory: err %v, printed %q; want a refusal saying it is not empty", err, text)
	}
	bad := script(t, dir, "bad-map", "echo 'no map for you' >&2\nexit 2\n", 0o755)
	text, err = run("--wait", "--output-directory", filepath.Join(dir, "bad-out"), "--mapper-executable", bad)
	if err == nil {
		t.Fatalf("failed job: sendjob exited 0\n%s", text)
	}
	if !strings.Contains(text, "no map for you") {
		t.Errorf("failed job printed %q, want the mapper's error", text)
	}
	text, err = run("--num-mappers", "0")
	if err == nil || !strings.Contains(text, "num_mappers") {
		t.Errorf("bad job: err %v, printed %q; want a refusal naming num_mappers", err, text)
	}
	text, err = run("--status")
	if err != nil || !strings.Contains(text, "done") || !strings.Contains(text, "failed") {
		t.Errorf("--status: err %v, printed %q; want both jobs", err, text)
	}
}

// TestFailedJobLeavesNoOutputDirectory: a job whose reducer fails, after
// reducers of the shuffle began writing into its output directory's
// commit directory, leaves no output directory behind (issue #20).
func TestFailedJobLeavesNoOutputDirectory(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	reducer := script(t, t.TempDir(), "fail-reduce", "cat >/dev/null\necho 'no reducing today' >&2\nexit 1\n", 0o755)
	j := job{input: "input", mapper: "exec/word_count/map.py", reducer: reducer, mappers: 2, reducers: 2}
	id, out := c.submit(j)
	if info := c.waitJob(id, 30*time.Second); info.State != protocol.JobFailed {
		t.Fatalf("job %d %s, want failed", id, info.State)
	}
	testutil.WaitFor(t, 10*time.Second, "no output directory "+out, func() bool {
		_, err := os.Stat(out)
		return errors.Is(err, fs.ErrNotExist)
	})
}
