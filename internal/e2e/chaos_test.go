package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mapreduce/protocol"
)

// gatedProgram writes a script that waits until gate exists, then runs
// program; it lets the test hold every task of a phase running for as long
// as it needs, with no guessing at durations.
func gatedProgram(t *testing.T, dir, name, gate, program string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	script := fmt.Sprintf("#!/usr/bin/env bash\nwhile [ ! -e %q ]; do sleep 0.02; done\nexec %q\n", gate, program)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func openGate(t *testing.T, gate string) {
	t.Helper()
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// chaosInput writes n files of words.
func chaosInput(t *testing.T, n int, rng *rand.Rand) string {
	t.Helper()
	dir := t.TempDir()
	words := strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu café naïve the a of")
	for i := range n {
		var b strings.Builder
		for line := range 50 + rng.IntN(50) {
			for range 1 + rng.IntN(12) {
				b.WriteString(words[rng.IntN(len(words))])
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "w%d\n", line%7)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("in-%02d.txt", i)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestChaos kills a busy worker in each phase, freezes one until it is
// declared dead and then lets it go on, and checks that the job's output
// still equals the truth pipeline and that no task ever ran on two live
// workers at once.
func TestChaos(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CHAOS_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CHAOS_SEED: %v", err)
		}
	}
	t.Logf("CHAOS_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	pause := func() { time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond) }

	c := newCluster(t)
	scratch := t.TempDir()
	mapGate, reduceGate := filepath.Join(scratch, "map-open"), filepath.Join(scratch, "reduce-open")
	mapper := gatedProgram(t, scratch, "map", mapGate, c.repoPath("exec/word_count/map.py"))
	reducer := gatedProgram(t, scratch, "reduce", reduceGate, c.repoPath("exec/word_count/reduce.py"))
	j := job{input: chaosInput(t, 12, rng), mapper: mapper, reducer: reducer, mappers: 8, reducers: 4}

	for range 3 {
		c.startWorker()
	}
	// The seed worker holds each sort task a long time, so that it can be
	// killed in the group phase.
	seedWorker := c.startSeedWorker("SEED_WORKER_SORT_DELAY=60")
	id, out := c.submit(j)

	// Map phase: every map task is held behind the gate.
	waitFor(t, 20*time.Second, "all map tasks running", func() bool {
		return c.running(id, "map", 8)
	})
	pause()
	killed := c.busyWorker(id, "map", rng, seedWorker)
	t.Logf("map phase: SIGKILL %s %d", killed.name, killed.pid())
	killed.kill()
	c.waitDeadAndReassigned(id, killed)
	frozen := c.busyWorker(id, "map", rng, seedWorker)
	t.Logf("map phase: SIGSTOP %s %d", frozen.name, frozen.pid())
	frozen.signal(syscall.SIGSTOP)
	c.waitDeadAndReassigned(id, frozen)
	openGate(t, mapGate)

	// Group phase: the seed worker sits on its sort task until killed.
	waitFor(t, 20*time.Second, "a sort task on the seed worker", func() bool {
		return c.holds(id, "sort", seedWorker)
	})
	pause()
	t.Logf("group phase: SIGKILL seed worker %d", seedWorker.pid())
	seedWorker.kill()
	// The frozen worker goes on: its late map result must be ignored, and it
	// registers again by itself.
	t.Logf("group phase: SIGCONT %d", frozen.pid())
	frozen.signal(syscall.SIGCONT)
	c.waitDeadAndReassigned(id, seedWorker)
	c.waitRegistered(frozen)

	// Reduce phase: held behind its gate; a fresh worker joins.
	waitFor(t, 20*time.Second, "all reduce tasks running", func() bool {
		return c.running(id, "reduce", 4)
	})
	c.startWorker()
	pause()
	victim := c.busyWorker(id, "reduce", rng, nil)
	t.Logf("reduce phase: SIGKILL %s %d", victim.name, victim.pid())
	victim.kill()
	c.waitDeadAndReassigned(id, victim)
	openGate(t, reduceGate)

	info := c.waitDone(j, id, out)
	checkNoOverlap(t, info)
	// The frozen worker's late map status reached the master and was dropped.
	c.waitLog(c.master, "ignored status", fmt.Sprintf(`"worker":%d,`, frozen.pid()))
	for _, ph := range []string{"map", "sort", "reduce"} {
		if n := deadAttempts(info, ph); n == 0 {
			t.Errorf("no %s attempt ended with its worker dead: the chaos missed that phase", ph)
		}
	}
}

// running reports whether want tasks of the phase are running, each on a
// live worker.
func (c *cluster) running(id int, phase string, want int) bool {
	info := c.jobInfo(id)
	n := 0
	for _, task := range info.Tasks {
		if task.Phase == phase && task.State == "running" {
			n++
		}
	}
	return n == want
}

// holds reports whether p holds a running task of the phase.
func (c *cluster) holds(id int, phase string, p *proc) bool {
	for _, task := range c.jobInfo(id).Tasks {
		if task.Phase == phase && task.State == "running" && task.Attempts[len(task.Attempts)-1].WorkerPID == p.pid() {
			return true
		}
	}
	return false
}

// busyWorker picks at random one of our live workers that holds a running
// task of the phase, never skip.
func (c *cluster) busyWorker(id int, phase string, rng *rand.Rand, skip *proc) *proc {
	c.t.Helper()
	var busy []*proc
	for _, w := range c.workers {
		if w != skip && !w.exited() && c.holds(id, phase, w) {
			busy = append(busy, w)
		}
	}
	if len(busy) == 0 {
		c.t.Fatalf("no worker holds a running %s task", phase)
	}
	return busy[rng.IntN(len(busy))]
}

// waitDeadAndReassigned waits until the master has declared p dead and
// none of the job's running tasks is on it.
func (c *cluster) waitDeadAndReassigned(id int, p *proc) {
	c.t.Helper()
	waitFor(c.t, 10*time.Second, fmt.Sprintf("worker %d declared dead", p.pid()), func() bool {
		status := c.status()
		for _, w := range status.Workers {
			if w.PID == p.pid() && w.State != "dead" {
				return false
			}
		}
		for _, j := range status.Jobs {
			for _, task := range j.Tasks {
				if j.ID == id && task.State == "running" && task.Attempts[len(task.Attempts)-1].WorkerPID == p.pid() {
					return false
				}
			}
		}
		return true
	})
}

func (c *cluster) jobInfo(id int) protocol.JobInfo {
	for _, j := range c.status().Jobs {
		if j.ID == id {
			return j
		}
	}
	c.t.Fatalf("no job %d", id)
	return protocol.JobInfo{}
}

// checkNoOverlap checks, from the master's record, that each attempt of a
// task ended before the next began: no task ran on two live workers at once.
func checkNoOverlap(t *testing.T, info protocol.JobInfo) {
	t.Helper()
	for _, task := range info.Tasks {
		for i := 1; i < len(task.Attempts); i++ {
			prev, next := task.Attempts[i-1], task.Attempts[i]
			if prev.End == nil || prev.End.After(next.Start) {
				t.Errorf("%s task %d: attempt on %d (%s) overlaps attempt on %d", task.Phase, task.Index, prev.WorkerPID, prev.Outcome, next.WorkerPID)
			}
			if prev.Outcome != "worker_dead" {
				t.Errorf("%s task %d: attempt on %d ended %q yet the task ran again", task.Phase, task.Index, prev.WorkerPID, prev.Outcome)
			}
		}
		if n := len(task.Attempts); n == 0 || task.Attempts[n-1].Outcome != "finished" {
			t.Errorf("%s task %d: last attempt did not finish", task.Phase, task.Index)
		}
	}
}

func deadAttempts(info protocol.JobInfo, phase string) int {
	n := 0
	for _, task := range info.Tasks {
		for _, a := range task.Attempts {
			if task.Phase == phase && a.Outcome == "worker_dead" {
				n++
			}
		}
	}
	return n
}
