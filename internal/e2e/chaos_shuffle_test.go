package e2e

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"mapreduce/internal/testutil"
)

// chaosShuffle runs the chaos scenario on a cluster of our workers alone,
// so that the job runs the shuffle between workers: a worker killed and
// one frozen while their mappers have half written; a worker that holds
// runs killed at a random moment after the map stage, before, during or
// after the reducers' fetches; a fresh worker joining; a worker killed
// while its reducer has half written. With an even seed the job has a
// combiner, which runs inside the map tasks.
func chaosShuffle(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	pause := func() { time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond) }

	c := newCluster(t)
	scratch := t.TempDir()
	type stage struct{ program, gate, marks string }
	staged := func(name, program, gate string) stage {
		st := stage{gate: gate, marks: filepath.Join(scratch, name+"-marks")}
		st.program = stagedProgram(t, scratch, name, c.repoPath(program), st.gate, st.marks)
		return st
	}
	mapper := staged("map", "exec/word_count/map.py", filepath.Join(scratch, "map-open"))
	reducer := staged("reduce", "exec/word_count/reduce.py", filepath.Join(scratch, "reduce-open"))
	j := job{input: chaosInput(t, 12, rng), mapper: mapper.program, reducer: reducer.program, mappers: 8, reducers: 4}
	if seed%2 == 0 {
		j.combiner = staged("combine", "exec/word_count/reduce.py", "").program
	}
	t.Logf("combiner: %v", j.combiner != "")

	// Reducers held at their gate keep their slots while the runs they
	// no longer need are made again: enough slots that the map tasks
	// made again still run.
	slots := []string{"--parallel", "8"}
	lossy := c.startWorkerWith(append([]string{"--drop-tasks", "1"}, slots...))
	for range 2 {
		c.startWorkerWith(slots)
	}
	id, out := c.submit(j)

	// Map phase, as in chaos: a worker killed and one frozen while their
	// mappers have half written.
	testutil.WaitFor(t, 20*time.Second, "the dropped task lost and all map tasks running", func() bool {
		return len(attemptsEnded(c.jobInfo(id), "lost")) > 0 && c.running(id, "map", 8)
	})
	if !c.logged(c.master, "map tasks planned", `"shuffle":true`) {
		t.Fatal("the job does not run the shuffle")
	}
	pause()
	frozen := c.killAndFreezeMappers(id, mapper.marks, rng, nil)
	c.startWorkerWith(slots)
	openGate(t, mapper.gate)

	// Between the stages: a worker that holds runs dies at a random moment
	// once the reducers' ranges are chosen; the frozen one comes back.
	c.waitLog(c.master, "reducers' key ranges chosen", fmt.Sprintf(`"job":%d,`, id))
	pause()
	runs := map[int]bool{} // the workers whose map attempts finished: they hold runs
	for _, task := range c.jobInfo(id).Tasks {
		if a := task.Attempts[len(task.Attempts)-1]; task.Phase == "map" && a.Outcome == "finished" {
			runs[a.WorkerPID] = true
		}
	}
	var holders []*proc
	for _, w := range c.workers {
		if w != frozen && !w.exited() && runs[w.pid()] {
			holders = append(holders, w)
		}
	}
	if len(holders) == 0 {
		t.Fatalf("no live worker holds runs: %v", runs)
	}
	holder := holders[rng.IntN(len(holders))]
	t.Logf("between the stages: SIGKILL %s %d, which holds runs", holder.name, holder.pid())
	holder.kill()
	// The reducers wait at their gate: its runs are still needed.
	c.waitLog(c.master, "run lost: the map task runs again", fmt.Sprintf(`"worker":%d,`, holder.pid()))
	t.Logf("SIGCONT %d", frozen.pid())
	frozen.signal(syscall.SIGCONT)
	c.waitRegistered(frozen)

	// Reduce phase: every reduce task held behind its gate, a fresh worker
	// joins, and one whose reducer has half written dies.
	testutil.WaitFor(t, 30*time.Second, "all reduce tasks running", func() bool { return c.running(id, "reduce", 4) })
	c.startWorkerWith(slots)
	pause()
	victim := c.halfWritten(id, "reduce", reducer.marks, rng, nil)
	t.Logf("reduce phase: SIGKILL %s %d", victim.name, victim.pid())
	victim.kill()
	c.waitDeadAndReassigned(id, victim)
	openGate(t, reducer.gate)

	info := c.waitDone(j, id, out)
	// A map task runs again after it finished when its run was lost; a
	// reduce task after it could not fetch a run.
	checkNoOverlapAllowing(t, info, map[string][]string{"map": {"finished"}, "reduce": {"retry"}})
	if lost := attemptsEnded(info, "lost"); len(lost) != 1 || lost[0] != lossy.pid() {
		t.Errorf("attempts lost on workers %v, want one, on the lossy worker %d", lost, lossy.pid())
	}
	for _, ph := range []string{"map", "reduce"} {
		if n := deadAttempts(info, ph); n == 0 {
			t.Errorf("no %s attempt ended with its worker dead: the chaos missed that phase", ph)
		}
	}
}
