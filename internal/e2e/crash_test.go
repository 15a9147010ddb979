package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// TestMasterCrashLosesNothing kills the master with -9 at random moments
// while a queue of three jobs with a combiner runs, and starts it again on
// the same var each time. Each job is submitted by `sendjob --wait`, which
// must ride the restarts and exit 0; each must end once (one "job done",
// or one commit finished at a start, in all the masters' logs, or both in
// two lives in a row) with the truth pipeline's output; and no task that
// had finished before a kill may run again after it (the workers live on,
// and keep its output), but for the reference path's reduce tasks, whose
// outputs the commit moves. Once with the shuffle between workers, once on
// the reference path. CHAOS_SEED replays a run's moments.
func TestMasterCrashLosesNothing(t *testing.T) {
	seed := chaosSeed(t)
	t.Run("shuffle", func(t *testing.T) {
		crashes(t, seed, nil, []string{protocol.PhaseMap, protocol.PhaseReduce})
	})
	t.Run("reference path", func(t *testing.T) {
		crashes(t, seed, []string{"--shuffle=false"}, []string{protocol.PhaseMap, protocol.PhaseSort, protocol.PhaseCombine})
	})
}

// crashes runs the test on workers started with workerFlags; no task of
// kept, finished before a kill, may run again.
func crashes(t *testing.T, seed uint64, workerFlags, kept []string) {
	rng := rand.New(rand.NewPCG(seed, seed))
	c := newCluster(t, "--task-timeout", "30s")
	for range 2 {
		c.startWorkerWith(workerFlags)
	}
	testutil.WaitFor(t, 10*time.Second, "two workers", func() bool { return c.liveWorkers() == 2 })
	input := chaosInput(t, 12, rng)
	// A mapper slow enough that kills land while it runs.
	mapper := filepath.Join(t.TempDir(), "map.sh")
	script := fmt.Sprintf("#!/bin/sh\nsleep 0.%d\nexec %s\n", 2+rng.IntN(3), c.repoPath("exec/word_count/map.py"))
	if err := os.WriteFile(mapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	j := job{input: input, mapper: mapper, reducer: "exec/word_count/reduce.py", combiner: "exec/word_count/reduce.py", mappers: 6, reducers: 3}
	var clients []*proc
	var outs []string
	for i := range 3 {
		out := filepath.Join(c.dir, fmt.Sprintf("out-%d", i))
		outs = append(outs, out)
		clients = append(clients, c.start("sendjob", filepath.Join(binDir, "sendjob"), "--wait", "--reconnect-for", "60s",
			"--input-directory", input, "--output-directory", out, "--mapper-executable", mapper,
			"--reducer-executable", c.repoPath(j.reducer), "--combiner-executable", c.repoPath(j.combiner),
			"--num-mappers", strconv.Itoa(j.mappers), "--num-reducers", strconv.Itoa(j.reducers), strconv.Itoa(c.port)))
		// Submitted in order: the next only once this one has its id.
		testutil.WaitFor(t, 10*time.Second, fmt.Sprintf("job %d submitted", i), func() bool { return len(c.status().Jobs) == i+1 })
	}
	// doneBefore are the map tasks of each running job that had finished
	// when the master was killed, with the time of the kill: none may run
	// again after it.
	doneBefore := map[int]map[string]time.Time{}
	kills := 0
	// At least five kills: those after the jobs ended check that ended
	// jobs keep their status.
	for kills < 5 || !allEnded(c) {
		time.Sleep(time.Duration(100+rng.IntN(900)) * time.Millisecond) // a random moment
		st, err := c.statusOrErr()
		if err != nil {
			t.Fatalf("status before kill %d: %v", kills+1, err)
		}
		checkNoRerun(t, st, doneBefore)
		killed := time.Now()
		for _, job := range st.Jobs {
			for _, task := range job.Tasks {
				if job.Ended == nil && slices.Contains(kept, task.Phase) && task.State == "done" {
					name := fmt.Sprintf("%s-%d", task.Phase, task.Index)
					if doneBefore[job.ID] == nil {
						doneBefore[job.ID] = map[string]time.Time{}
					}
					if _, ok := doneBefore[job.ID][name]; !ok {
						doneBefore[job.ID][name] = killed
					}
				}
			}
		}
		c.master.kill()
		kills++
		t.Logf("kill %d: jobs %s", kills, jobStates(st))
		c.startMaster()
	}
	for i, p := range clients {
		select {
		case <-p.done:
		case <-time.After(90 * time.Second):
			t.Fatalf("sendjob --wait for job %d still waiting", i)
		}
		if p.err != nil {
			c.dumpLog(p)
			t.Fatalf("sendjob --wait for job %d: %v", i, p.err)
		}
	}
	st := c.status()
	checkNoRerun(t, st, doneBefore)
	for i, out := range outs {
		c.waitDone(j, i, out)
	}
	// Each job ended once, in whichever master's life: a "job done", or a
	// commit that a crash interrupted finished at the next master's start.
	// Both, when the kill landed between the "job done" and the sync of
	// its record: the next master finishes that commit again (renames
	// that are done already), and the job still ran once.
	ends := map[int]int{}
	doneIn := map[int]int{} // job → the master's life with its last "job done"
	life := 0
	for _, p := range c.procs {
		if p.name != "master" {
			continue
		}
		life++
		data, _ := os.ReadFile(p.log)
		for _, line := range strings.Split(string(data), "\n") {
			done := strings.Contains(line, `"message":"job done"`)
			finished := strings.Contains(line, "finished the commit a crash interrupted")
			if !done && !finished {
				continue
			}
			for id := range 3 {
				if !strings.Contains(line, fmt.Sprintf(`"job":%d,`, id)) {
					continue
				}
				if finished && doneIn[id] == life-1 && life > 1 {
					continue // the same end, its record not synced
				}
				ends[id]++
				if done {
					doneIn[id] = life
				}
			}
		}
	}
	for id := range 3 {
		if ends[id] != 1 {
			t.Errorf("job %d ended %d times in the masters' logs, want once", id, ends[id])
		}
	}
	t.Logf("%d kills", kills)
}

// checkNoRerun fails if a map task in doneBefore has an attempt in st that
// started after the kill: the master that came next should have taken it
// back from the journal without running it.
func checkNoRerun(t *testing.T, st protocol.ClusterStatus, doneBefore map[int]map[string]time.Time) {
	t.Helper()
	for _, job := range st.Jobs {
		for _, task := range job.Tasks {
			name := fmt.Sprintf("%s-%d", task.Phase, task.Index)
			killed, ok := doneBefore[job.ID][name]
			if !ok {
				continue
			}
			for _, a := range task.Attempts {
				if a.Start.After(killed) {
					t.Errorf("job %d %s finished before a kill, and ran again after it: %+v", job.ID, name, a)
				}
			}
		}
	}
}

func allEnded(c *cluster) bool {
	st, err := c.statusOrErr()
	if err != nil || len(st.Jobs) < 3 {
		return false
	}
	for _, j := range st.Jobs {
		if j.Ended == nil {
			return false
		}
	}
	return true
}

func jobStates(st protocol.ClusterStatus) string {
	var states []string
	for _, j := range st.Jobs {
		states = append(states, fmt.Sprintf("%d:%s", j.ID, j.Progress()))
	}
	return strings.Join(states, ", ")
}

// statusOrErr is status, with the failure to ask returned.
func (c *cluster) statusOrErr() (protocol.ClusterStatus, error) {
	reply, err := c.request(c.addr(), protocol.JobStatusRequest{})
	if err != nil {
		return protocol.ClusterStatus{}, err
	}
	status, ok := reply.(protocol.ClusterStatus)
	if !ok {
		return status, fmt.Errorf("job status: got %#v", reply)
	}
	return status, nil
}

// TestSecondMasterOnTheSameVar: a second master started in the same
// directory, on another port, is refused while the first runs, names the
// first one's pid, and leaves its var alone: the first one's job runs on.
func TestSecondMasterOnTheSameVar(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	j := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 2, reducers: 2}
	id, out := c.submit(j)
	second := c.start("master", filepath.Join(binDir, "master"), "--log-format", "json", strconv.Itoa(freeMasterPort(t)))
	select {
	case <-second.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the second master still runs")
	}
	if second.err == nil {
		t.Fatal("the second master exited 0")
	}
	c.waitLog(second, fmt.Sprintf("is in use by master pid %d", c.master.pid()))
	c.waitDone(j, id, out)
}

// TestRestartAdoptsRunningMaps: map tasks that run while the master is
// killed with -9 go on on their workers, and the restarted master adopts
// them from the heartbeats that list them, the ones during its grace
// before the job starts again included: none is cancelled or sent again,
// and the job ends once they do, not after --task-timeout (10 minutes).
func TestRestartAdoptsRunningMaps(t *testing.T) {
	c := newCluster(t)
	workers := []*proc{c.startWorker(), c.startWorker()}
	for _, w := range workers {
		c.waitRegistered(w)
	}
	// The mappers run until the test opens their gate: across the kill,
	// the restart and the adoption, however slow the machine.
	dir := t.TempDir()
	mapper, gate := filepath.Join(dir, "map.sh"), filepath.Join(dir, "gate")
	script := fmt.Sprintf("#!/bin/sh\nwhile [ ! -e %s ]; do sleep 0.05; done\nexec %s\n", gate, c.repoPath("exec/word_count/map.py"))
	if err := os.WriteFile(mapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	j := job{input: "input", mapper: mapper, reducer: "exec/word_count/reduce.py", mappers: 2, reducers: 1}
	id, out := c.submit(j)
	testutil.WaitFor(t, 10*time.Second, "both map tasks running", func() bool { return c.running(id, protocol.PhaseMap, 2) })
	// Sent is not started: the workers must run the mappers when the
	// master dies, or there is nothing to adopt.
	testutil.WaitFor(t, 10*time.Second, "both mappers started on the workers", func() bool { return len(running(t, mapper)) == 2 })
	c.master.kill()
	c.startMaster()
	restarted := time.Now()
	testutil.WaitFor(t, 15*time.Second, "the restarted master to adopt the running map tasks", func() bool { return c.logged(c.master, "attempt adopted") })
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	info := c.waitJob(id, 30*time.Second)
	if info.State != protocol.JobDone {
		t.Fatalf("job %d ended %s: %v", id, info.State, info.Errors)
	}
	if took := time.Since(restarted); took > 10*time.Second {
		t.Errorf("the job ended %s after the restart: its map tasks were not adopted", took.Round(time.Millisecond))
	}
	for _, w := range workers {
		if c.logged(w, "task cancelled by the master") {
			t.Errorf("%s had a task cancelled: a running map task was not adopted", w.name)
		}
	}
	c.checkOutput(j, out)
}
