package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mapreduce/internal/testutil"
)

// stragglerJob makes a mapper and reducer that, on a worker started with
// STRAGGLE set, wait for gate before working: that worker straggles on
// every task it holds until the test opens the gate.
func stragglerJob(t *testing.T, c *cluster, gate string) job {
	t.Helper()
	dir := t.TempDir()
	wrap := func(name, program string) string {
		path := filepath.Join(dir, name)
		body := fmt.Sprintf("#!/usr/bin/env bash\nif [ -n \"$STRAGGLE\" ]; then while [ ! -e %q ]; do sleep 0.02; done; fi\nexec %q\n", gate, program)
		if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	return job{input: "input", mapper: wrap("map", c.repoPath("exec/word_count/map.py")),
		reducer: wrap("reduce", c.repoPath("exec/word_count/reduce.py")), mappers: 5, reducers: 3}
}

// TestSpeculation: with --speculate, idle workers copy the straggler's tasks
// and the job ends while the straggler is still stuck; each task has exactly
// one finished attempt, and the straggler's late results change nothing.
func TestSpeculation(t *testing.T) {
	c := newCluster(t, "--speculate", "--speculate-after", "300ms")
	gate := filepath.Join(t.TempDir(), "gate")
	j := stragglerJob(t, c, gate)
	straggler := c.startWorker("STRAGGLE=1")
	c.startWorker()
	c.startWorker()

	id, out := c.submit(j)
	info := c.waitDone(j, id, out)
	copied := 0
	for _, task := range info.Tasks {
		finished := 0
		for _, a := range task.Attempts {
			switch a.Outcome {
			case "finished":
				finished++
				// Sorts run inside the worker, past the gate.
				if a.WorkerPID == straggler.pid() && task.Phase != "sort" {
					t.Errorf("%s task %d finished on the straggler, whose gate is shut", task.Phase, task.Index)
				}
			case "superseded":
				copied++
			}
		}
		if finished != 1 {
			t.Errorf("%s task %d has %d finished attempts, want 1", task.Phase, task.Index, finished)
		}
	}
	if copied == 0 {
		t.Fatal("no attempt was superseded: nothing was speculated")
	}
	// The straggler's superseded copies are killed on its worker (cancel_task):
	// they neither hold its slots nor report; the job's output stands.
	c.waitLog(straggler, "task cancelled by the master")
	openGate(t, gate)
	c.checkOutput(j, out)
}

// TestNoSpeculationByDefault: without --speculate, a straggling task is
// never run twice while its worker lives, however long it takes.
func TestNoSpeculationByDefault(t *testing.T) {
	c := newCluster(t)
	gate := filepath.Join(t.TempDir(), "gate")
	j := stragglerJob(t, c, gate)
	straggler := c.startWorker("STRAGGLE=1")
	c.startWorker()
	id, out := c.submit(j)
	// Wait until the straggler's map tasks are all that is left, then give
	// the master many ticks in which it could wrongly copy them.
	testutil.WaitFor(t, 20*time.Second, "only the straggler's map tasks left", func() bool {
		stuck := 0
		for _, task := range c.jobInfo(id).Tasks {
			switch {
			case task.Phase != "map" || task.State == "done":
			case task.State == "running" && task.Attempts[0].WorkerPID == straggler.pid():
				stuck++
			default:
				return false
			}
		}
		return stuck > 0
	})
	// A bounded look for something that must not happen: many ticks past
	// any speculation threshold.
	time.Sleep(20 * heartbeat)
	for _, task := range c.jobInfo(id).Tasks {
		if len(task.Attempts) > 1 {
			t.Fatalf("%s task %d ran %d times while its worker lived", task.Phase, task.Index, len(task.Attempts))
		}
	}
	openGate(t, gate)
	info := c.waitDone(j, id, out)
	checkNoOverlap(t, info)
}
