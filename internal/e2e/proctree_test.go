package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// TestProgramsLeaveNothingBehind: whatever a program starts ends with its
// task, also what left its process group. A mapper that starts a child and
// fails fails its job, and the child is gone; one whose child holds its
// stderr open and that then runs the real mapper succeeds, after a grace
// period, with the right output, and the child is gone; one whose children
// left its session (setsid) and that is cancelled leaves none. The next
// job runs.
func TestProgramsLeaveNothingBehind(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("needs setsid (util-linux)")
	}
	c := newCluster(t)
	c.startWorker()
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
}
