package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// TestProgramsLeaveNothingBehind: whatever a program starts ends with its
// task, also what left its process group, with either method of the
// worker's: a cgroup per program (where the worker may make one) and the
// /proc sweep (--no-cgroups). A mapper that starts a child and fails fails
// its job, and the child is gone; one whose child holds its stderr open and
// that then runs the real mapper succeeds, after a grace period, with the
// right output, and the child is gone; one whose children left its session
// (setsid) and that is cancelled leaves none. The next job runs. Then a
// worker stopped (SIGTERM) while such a mapper runs leaves none, nor its
// cgroup.
func TestProgramsLeaveNothingBehind(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("needs setsid (util-linux)")
	}
	t.Run("cgroup", func(t *testing.T) { programsLeaveNothingBehind(t, "cgroup") })
	t.Run("proc", func(t *testing.T) { programsLeaveNothingBehind(t, "/proc", "--no-cgroups") })
}

// cgroupIn finds the worker's cgroup in its start log ("" for none).
var cgroupIn = regexp.MustCompile(`"process_trees_detail":"cgroup v2: [^"]* under (/[^ ,;"]+)`)

func programsLeaveNothingBehind(t *testing.T, method string, flags ...string) {
	c := newCluster(t)
	w := c.startWorkerWith(flags)
	if !c.logged(w, "worker listening", `"process_trees":"`+method+`"`) {
		if method == "cgroup" {
			t.Skip("this worker may not make cgroups, see process_trees_detail in its log")
		}
		t.Fatalf("the worker does not say it uses %s", method)
	}
	dir := t.TempDir()
	wordMap := c.repoPath("exec/word_count/map.py")
	reduce := "exec/word_count/reduce.py"

	t.Run("a child and a failure", func(t *testing.T) {
		marker := uniqueSleep()
		j := job{input: "input", mapper: script(t, dir, "fail.sh", fmt.Sprintf("sleep %s &\nexit 1\n", marker), 0o755), reducer: reduce, mappers: 1, reducers: 1}
		id, _ := c.submit(j)
		if info := c.waitJob(id, 30*time.Second); info.State != protocol.JobFailed {
			t.Fatalf("job %d %s, want failed", id, info.State)
		}
		waitGone(t, "sleep "+marker)
	})

	t.Run("a child that holds stderr", func(t *testing.T) {
		marker := uniqueSleep()
		j := job{input: "input", mapper: script(t, dir, "daemon.sh", fmt.Sprintf("setsid sleep %s &\nexec %s\n", marker, wordMap), 0o755), reducer: reduce, mappers: 1, reducers: 1}
		id, out := c.submit(j)
		info := c.waitJob(id, 30*time.Second)
		if info.State != protocol.JobDone {
			t.Fatalf("job %d %s: %v", id, info.State, info.Errors)
		}
		c.checkOutput(job{input: "input", mapper: wordMap, reducer: reduce, mappers: 1, reducers: 1}, out)
		waitGone(t, "sleep "+marker)
	})

	t.Run("children in a session of their own, cancelled", func(t *testing.T) {
		marker, marker2 := uniqueSleep(), uniqueSleep()+"1"
		body := fmt.Sprintf("setsid sleep %s &\n(setsid sh -c 'sleep %s & exit 0' &)\nsleep %s\n", marker, marker2, marker)
		j := job{input: "input", mapper: script(t, dir, "hang.sh", body, 0o755), reducer: reduce, mappers: 1, reducers: 1}
		id, _ := c.submit(j)
		testutil.WaitFor(t, 10*time.Second, "the mapper's children running", func() bool {
			return len(running(t, "sleep "+marker)) >= 2 && len(running(t, "sleep "+marker2)) == 1
		})
		if out, err := exec.Command(filepath.Join(binDir, "sendjob"), "--cancel", strconv.Itoa(c.port), strconv.Itoa(id)).CombinedOutput(); err != nil {
			t.Fatalf("cancel: %v: %s", err, out)
		}
		waitGone(t, "sleep "+marker)
		waitGone(t, "sleep "+marker2)
	})

	good := job{input: "input", mapper: "exec/word_count/map.py", reducer: reduce, mappers: 2, reducers: 2}
	id, out := c.submit(good)
	c.waitDone(good, id, out)

	t.Run("children in a session of their own, the worker stopped", func(t *testing.T) {
		marker := uniqueSleep()
		body := fmt.Sprintf("(setsid sh -c 'sleep %[1]s & exit 0' &)\nsleep %[1]s\n", marker)
		c.submit(job{input: "input", mapper: script(t, dir, "hang2.sh", body, 0o755), reducer: reduce, mappers: 1, reducers: 1})
		testutil.WaitFor(t, 10*time.Second, "the mapper's children running", func() bool { return len(running(t, "sleep "+marker)) == 2 })
		w.signal(syscall.SIGTERM)
		testutil.WaitFor(t, 10*time.Second, "the worker to exit", w.exited)
		if pids := running(t, "sleep "+marker); len(pids) > 0 {
			t.Errorf("the stopped worker's mapper left %v running", pids)
		}
		data, _ := os.ReadFile(w.log)
		if m := cgroupIn.FindSubmatch(data); m != nil {
			if _, err := os.Stat(string(m[1])); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the stopped worker's cgroup %s is still there (%v)", m[1], err)
			}
		} else if method == "cgroup" {
			t.Error("the worker's start log names no cgroup")
		}
	})
}
