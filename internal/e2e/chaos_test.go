package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mapreduce/protocol"

	"mapreduce/internal/testutil"
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

// stagedProgram writes a script that runs program over its stdin to the
// end, writes the first half of the program's output lines, leaves a mark
// in the directory marks, waits until gate exists (at once if gate is ""),
// and writes the rest. Its output is program's, but a kill before the gate
// opens hits an output half written. The mark, a file named WORKER.PID
// (WORKER is the script's parent, the worker that runs it), holds how many
// lines were written, of how many, and the file they went to.
func stagedProgram(t *testing.T, dir, name, program, gate, marks string) string {
	t.Helper()
	if err := os.MkdirAll(marks, 0o755); err != nil {
		t.Fatal(err)
	}
	wait := ""
	if gate != "" {
		wait = fmt.Sprintf("while [ ! -e %q ]; do sleep 0.02; done\n", gate)
	}
	script := fmt.Sprintf(`#!/usr/bin/env bash
set -euo pipefail
out=$(%q)
lines=()
[ -z "$out" ] || mapfile -t lines <<<"$out"
half=$(( (${#lines[@]} + 1) / 2 ))
if (( half > 0 )); then printf '%%s\n' "${lines[@]:0:half}"; fi
mark=%q/$PPID.$$
printf '%%d %%d %%s\n' "$half" "${#lines[@]}" "$(readlink /proc/$$/fd/1)" >"$mark.tmp"
mv "$mark.tmp" "$mark"
%sif (( ${#lines[@]} > half )); then printf '%%s\n' "${lines[@]:half}"; fi
`, program, marks, wait)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// mark is what a run of a stagedProgram left in its marks directory.
type mark struct {
	worker, pid    int
	written, total int
	// output is the file the program's output went to.
	output string
}

// readMarks returns the marks in dir.
func readMarks(t *testing.T, dir string) []mark {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var marks []mark
	for _, e := range entries {
		var m mark
		if _, err := fmt.Sscanf(e.Name(), "%d.%d", &m.worker, &m.pid); err != nil || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Sscanf(string(data), "%d %d %s", &m.written, &m.total, &m.output); err != nil {
			t.Fatalf("mark %s: %q: %v", e.Name(), data, err)
		}
		marks = append(marks, m)
	}
	return marks
}

func openGate(t *testing.T, gate string) {
	t.Helper()
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// chaosInput writes n files of words, the first ten times as long as the
// others: the map tasks read splits, some cut from it, some packed.
func chaosInput(t *testing.T, n int, rng *rand.Rand) string {
	t.Helper()
	dir := t.TempDir()
	words := strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu café naïve the a of")
	for i := range n {
		var b strings.Builder
		lines := 50 + rng.IntN(50)
		if i == 0 {
			lines *= 10
		}
		for line := range lines {
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

// chaosSeed is the seed of a chaos run: CHAOS_SEED if set, to replay a
// run, else a new one, logged.
func chaosSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CHAOS_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CHAOS_SEED: %v", err)
		}
	}
	t.Logf("CHAOS_SEED=%d", seed)
	return seed
}

// TestChaos kills a busy worker in each phase, freezes one until it is
// declared dead and then lets it go on, and checks that the job's output
// still equals the truth pipeline and that no task ever ran on two live
// workers at once. It runs the scenario twice with the same seed: without a
// combiner, and with one, killing a worker in the combine phase as well.
func TestChaos(t *testing.T) {
	seed := chaosSeed(t)
	t.Run("plain", func(t *testing.T) { chaos(t, seed, false) })
	t.Run("combiner", func(t *testing.T) { chaos(t, seed, true) })
	t.Run("shuffle", func(t *testing.T) { chaosShuffle(t, seed) })
}

// chaos runs the chaos scenario. Every program writes half its output,
// then waits on its phase's gate: the test holds every task of a phase
// running for as long as it needs, and each worker it kills has a program
// with an output half written.
func chaos(t *testing.T, seed uint64, withCombiner bool) {
	rng := rand.New(rand.NewPCG(seed, seed))
	pause := func() { time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond) }

	c := newCluster(t)
	scratch := t.TempDir()
	type stage struct{ program, gate, marks string }
	staged := func(name, program string) stage {
		st := stage{gate: filepath.Join(scratch, name+"-open"), marks: filepath.Join(scratch, name+"-marks")}
		st.program = stagedProgram(t, scratch, name, c.repoPath(program), st.gate, st.marks)
		return st
	}
	mapper, reducer := staged("map", "exec/word_count/map.py"), staged("reduce", "exec/word_count/reduce.py")
	j := job{input: chaosInput(t, 12, rng), mapper: mapper.program, reducer: reducer.program, mappers: 8, reducers: 4}
	var combiner stage
	if withCombiner {
		combiner = staged("combine", "exec/word_count/reduce.py")
		j.combiner = combiner.program
	}

	// One worker loses the first task message it gets: the master must see
	// that its heartbeats never list the task and give it to another.
	lossy := c.startWorkerWith([]string{"--drop-tasks", "1"})
	for range 2 {
		c.startWorker()
	}
	// The reference worker holds each sort task a long time, so that it can be
	// killed in the group phase.
	refWorker := c.startReferenceWorker("REFERENCE_WORKER_SORT_DELAY=60")
	id, out := c.submit(j)

	// Map phase: every map task is held behind the gate, the one the lossy
	// worker dropped too, once the master has seen it lost. The map tasks
	// read splits, which only our workers take.
	testutil.WaitFor(t, 20*time.Second, "the dropped task lost and all map tasks running", func() bool {
		return len(attemptsEnded(c.jobInfo(id), "lost")) > 0 && c.running(id, "map", 8)
	})
	if !c.logged(c.master, "map tasks planned", `"splits":true`) {
		t.Error("the map tasks are not splits")
	}
	pause()
	frozen := c.killAndFreezeMappers(id, mapper.marks, rng, refWorker)
	// The map tasks' statuses meet a connection flood held for up to 2 s
	// (the test asks the master nothing meanwhile): dropped at the
	// master's bound, they must be sent again, not lost.
	release := flood(t, c.addr(), floodConns, true)
	openGate(t, mapper.gate)
	held := time.Duration(500+rng.IntN(1500)) * time.Millisecond
	t.Logf("map phase: connection flood held %s", held)
	time.Sleep(held)
	release()

	// Group phase: the reference worker sits on its sort task until killed.
	testutil.WaitFor(t, 20*time.Second, "a sort task on the reference worker", func() bool {
		return c.holds(id, "sort", refWorker)
	})
	pause()
	t.Logf("group phase: SIGKILL reference worker %d", refWorker.pid())
	refWorker.kill()
	// The frozen worker goes on: its late map result must be ignored, and it
	// registers again by itself.
	t.Logf("group phase: SIGCONT %d", frozen.pid())
	frozen.signal(syscall.SIGCONT)
	c.waitDeadAndReassigned(id, refWorker)
	c.waitRegistered(frozen)

	// The combine and reduce phases: every task held behind its gate, a
	// fresh worker joins, and one that holds a half-written output dies.
	// The reference worker, which writes in place, is dead by now: no output of
	// these phases may be seen under its own name before its task finished.
	gatedPhase := func(phase string, tasks int, st stage) {
		testutil.WaitFor(t, 20*time.Second, fmt.Sprintf("all %s tasks running", phase), func() bool {
			return c.running(id, phase, tasks)
		})
		c.startWorker()
		pause()
		victim := c.halfWritten(id, phase, st.marks, rng, nil)
		t.Logf("%s phase: SIGKILL %s %d", phase, victim.name, victim.pid())
		victim.kill()
		c.waitDeadAndReassigned(id, victim)
		dirs := map[string]bool{}
		for _, m := range readMarks(t, st.marks) {
			dirs[filepath.Dir(m.output)] = true
		}
		for dir := range dirs {
			checkNoVisibleOutput(t, phase, dir)
		}
		openGate(t, st.gate)
	}
	phases := []string{"map", "sort", "reduce"}
	if withCombiner {
		gatedPhase("combine", 8, combiner)
		phases = append(phases, "combine")
	}
	gatedPhase("reduce", 4, reducer)

	info := c.waitDone(j, id, out)
	checkNoOverlap(t, info)
	if lost := attemptsEnded(info, "lost"); len(lost) != 1 || lost[0] != lossy.pid() {
		t.Errorf("attempts lost on workers %v, want one, on the lossy worker %d", lost, lossy.pid())
	}
	// The frozen worker's late map work was killed when its heartbeats
	// listed it again, or its late status reached the master and was
	// dropped.
	testutil.WaitFor(t, 10*time.Second, "the frozen worker's late work killed or ignored", func() bool {
		return c.logged(frozen, "task cancelled by the master") ||
			c.logged(c.master, "ignored status", fmt.Sprintf(`"worker":%d,`, frozen.pid()))
	})
	for _, ph := range phases {
		if n := deadAttempts(info, ph); n == 0 {
			t.Errorf("no %s attempt ended with its worker dead: the chaos missed that phase", ph)
		}
	}

	// The master dies outright; a new one on its port takes the surviving
	// workers back from their heartbeats and runs the job again.
	t.Log("SIGKILL the master, start a new one")
	c.master.kill()
	c.startMaster()
	testutil.WaitFor(t, 20*time.Second, "a worker back", func() bool { return c.liveWorkers() > 0 })
	id, out = c.submit(j)
	c.waitDone(j, id, out)
}

// killAndFreezeMappers kills one of our workers whose mapper has half
// written, then freezes another such (not skip), and waits each time
// until the master has declared it dead and given its tasks to others. It
// returns the frozen worker.
func (c *cluster) killAndFreezeMappers(id int, marks string, rng *rand.Rand, skip *proc) *proc {
	c.t.Helper()
	killed := c.halfWritten(id, "map", marks, rng, skip)
	c.t.Logf("map phase: SIGKILL %s %d", killed.name, killed.pid())
	killed.kill()
	c.waitDeadAndReassigned(id, killed)
	frozen := c.halfWritten(id, "map", marks, rng, skip)
	c.t.Logf("map phase: SIGSTOP %s %d", frozen.name, frozen.pid())
	frozen.signal(syscall.SIGSTOP)
	c.waitDeadAndReassigned(id, frozen)
	return frozen
}

// attemptsEnded lists the workers of the attempts that ended with outcome.
func attemptsEnded(info protocol.JobInfo, outcome string) []int {
	var pids []int
	for _, task := range info.Tasks {
		for _, a := range task.Attempts {
			if a.Outcome == outcome {
				pids = append(pids, a.WorkerPID)
			}
		}
	}
	return pids
}

// halfWritten waits until one of our live workers other than skip holds a
// running task of the phase and runs a program that has written part of
// its output (its mark in marks says so), and picks one such worker at
// random, to be killed or frozen.
func (c *cluster) halfWritten(id int, phase, marks string, rng *rand.Rand, skip *proc) *proc {
	c.t.Helper()
	var busy []*proc
	var written []mark
	testutil.WaitFor(c.t, 20*time.Second, fmt.Sprintf("a busy worker with a %s output half written", phase), func() bool {
		busy, written = nil, nil
		all := readMarks(c.t, marks)
		for _, w := range c.workers {
			if w == skip || w.exited() || !c.holds(id, phase, w) {
				continue
			}
			for _, m := range all {
				if m.worker == w.pid() && m.written > 0 && m.written < m.total {
					busy = append(busy, w)
					written = append(written, m)
					break
				}
			}
		}
		return len(busy) > 0
	})
	i := rng.IntN(len(busy))
	m := written[i]
	c.t.Logf("%s phase: %s %d has written %d of %d lines to %s", phase, busy[i].name, busy[i].pid(), m.written, m.total, m.output)
	return busy[i]
}

// checkNoVisibleOutput checks that dir, where a phase's programs write,
// holds no file under a final name while every task of the phase is
// unfinished: outputs are written to hidden temporary files and renamed
// when complete.
func checkNoVisibleOutput(t *testing.T, phase, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			t.Errorf("%s phase: %s is in %s before any %s task finished: an output is visible before it is complete", phase, e.Name(), dir, phase)
		}
	}
}

// running reports whether want tasks of the phase are running, each on a
// live worker. A job that has ended fails the test: they never will.
func (c *cluster) running(id int, phase string, want int) bool {
	c.t.Helper()
	info := c.jobInfo(id)
	if info.State == protocol.JobDone || info.State == protocol.JobFailed {
		c.t.Fatalf("job %d ended %s, errors %q, while waiting for %d %s tasks running", id, info.State, info.Errors, want, phase)
	}
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

// waitDeadAndReassigned waits until the master has declared p dead and
// none of the job's running tasks is on it.
func (c *cluster) waitDeadAndReassigned(id int, p *proc) {
	c.t.Helper()
	testutil.WaitFor(c.t, 10*time.Second, fmt.Sprintf("worker %d declared dead", p.pid()), func() bool {
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
	checkNoOverlapAllowing(t, info, nil)
}

// checkNoOverlapAllowing is checkNoOverlap where a task of a phase may also
// run again after an attempt that ended with one of again[phase].
func checkNoOverlapAllowing(t *testing.T, info protocol.JobInfo, again map[string][]string) {
	t.Helper()
	for _, task := range info.Tasks {
		for i := 1; i < len(task.Attempts); i++ {
			prev, next := task.Attempts[i-1], task.Attempts[i]
			if prev.End == nil || prev.End.After(next.Start) {
				t.Errorf("%s task %d: attempt on %d (%s) overlaps attempt on %d", task.Phase, task.Index, prev.WorkerPID, prev.Outcome, next.WorkerPID)
			}
			// A lost attempt never reached its worker.
			if prev.Outcome != "worker_dead" && prev.Outcome != "lost" && !slices.Contains(again[task.Phase], prev.Outcome) {
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
