package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"mapreduce/internal/testutil"
)

// liveWorkers counts the workers the master lists as not dead.
func (c *cluster) liveWorkers() int {
	n := 0
	for _, w := range c.status().Workers {
		if w.State != "dead" {
			n++
		}
	}
	return n
}

// TestMasterRestart: after the master is killed outright, or stopped with
// SIGTERM, a new master on the same port admits the old workers from their
// heartbeats and runs jobs on them, with ids after the earlier ones;
// SIGTERM leaves the workers running.
func TestMasterRestart(t *testing.T) {
	c := newCluster(t)
	w1, w2 := c.startWorker(), c.startWorker()
	good := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 3, reducers: 2}
	id, out := c.submit(good)
	c.waitDone(good, id, out)
	for i, stop := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Logf("master: %s", stop)
		c.master.signal(stop)
		<-c.master.done
		if stop == syscall.SIGTERM && c.master.err != nil {
			t.Errorf("master stopped by SIGTERM exited with %v, want 0", c.master.err)
		}
		if w1.exited() || w2.exited() {
			t.Fatalf("a worker exited with its master")
		}
		c.startMaster()
		testutil.WaitFor(t, 10*time.Second, "both workers back", func() bool { return c.liveWorkers() == 2 })
		// Ids go on from the earlier master's: they never repeat for a
		// var, and the earlier jobs are still listed.
		id, out := c.submit(good)
		if id != i+1 {
			t.Errorf("job after restart %d got id %d, want %d", i+1, id, i+1)
		}
		c.waitDone(good, id, out)
		if jobs := c.status().Jobs; len(jobs) != i+2 {
			t.Errorf("after restart %d the master lists %d jobs, want %d", i+1, len(jobs), i+2)
		}
	}
	c.waitLog(w1, "registered again")
}

// TestWorkersWithTheSamePid: two of our workers, each pid 1 in a pid
// namespace of its own, are two workers to the master; when one dies the
// other runs the next job. (As root only: it makes pid namespaces.)
func TestWorkersWithTheSamePid(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make pid namespaces (unshare --pid); skipped")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux); skipped")
	}
	c := newCluster(t)
	var workers []*proc
	for range 2 {
		p := c.start("worker-pidns", "unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
			filepath.Join(binDir, "worker"), "--heartbeat-interval", heartbeat.String(), "--log-format", "json",
			strconv.Itoa(c.port), strconv.Itoa(freePort(t)))
		workers = append(workers, p)
	}
	testutil.WaitFor(t, 10*time.Second, "two workers registered", func() bool { return c.liveWorkers() == 2 })
	for _, w := range c.status().Workers {
		if w.PID != 1 {
			t.Fatalf("worker pid %d, want 1 (each in its own pid namespace)", w.PID)
		}
	}
	good := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 4, reducers: 2}
	id, out := c.submit(good)
	c.waitDone(good, id, out)
	workers[0].kill()
	testutil.WaitFor(t, 10*time.Second, "one worker dead, one alive", func() bool {
		st := c.status()
		return len(st.Workers) == 2 && c.liveWorkers() == 1
	})
	id, out = c.submit(good)
	c.waitDone(good, id, out)
}

// TestMasterRestartMidJob: the master dies while a program runs; the new
// master kills that program through its worker (it belonged to the old
// master's job-0, whose paths the new job-0 shares) and runs its own jobs,
// even with the worker's one slot held by a hung program.
func TestMasterRestartMidJob(t *testing.T) {
	c := newCluster(t, "--task-timeout", "2s")
	c.startWorkerWith([]string{"--parallel", "1"})
	marker := uniqueSleep()
	hung := job{input: "input", mapper: hangingMapper(t, marker), reducer: "exec/word_count/reduce.py", mappers: 1, reducers: 1}
	c.submit(hung)
	testutil.WaitFor(t, 10*time.Second, "the hung mapper running", func() bool { return len(running(t, "sleep "+marker)) > 0 })
	c.master.kill()
	// --fresh: the new master forgets the hung job, and the worker kills
	// what an earlier master gave it (a master that keeps its journal
	// takes the job up again: TestMasterCrashLosesNothing).
	c.masterArgs = append(c.masterArgs, "--fresh")
	c.startMaster()
	testutil.WaitFor(t, 10*time.Second, "the worker back", func() bool { return c.liveWorkers() == 1 })
	waitGone(t, "sleep "+marker)
	good := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 1, reducers: 1}
	id, out := c.submit(good)
	c.waitDone(good, id, out)
}
