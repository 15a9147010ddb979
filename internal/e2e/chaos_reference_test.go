package e2e

import (
	"bytes"
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

// chaosMapper is the word count mapper (map.py's records) that emits its
// records in a new order each run, half at once, then, after sleeping
// CHAOS_MAP_SLEEP seconds (none if unset, as in the truth pipeline), the
// rest: two runs' bytes in one file make broken records.
const chaosMapper = `#!/usr/bin/env python3
import os, random, sys, time
records = [w + b"\t1\n" for line in sys.stdin.buffer for w in line.split()]
random.shuffle(records)
half = len(records) // 2
out = sys.stdout.buffer
out.write(b"".join(records[:half]))
out.flush()
time.sleep(float(os.environ.get("CHAOS_MAP_SLEEP", "0")))
out.write(b"".join(records[half:]))
out.flush()
`

// chaosStaggered runs a program over its stdin and writes the program's
// output, half at once, then, after sleeping CHAOS_REDUCE_SLEEP seconds,
// the rest: a reducer or combiner that is slow mid-write.
const chaosStaggered = `#!/usr/bin/env python3
import os, subprocess, sys, time
lines = subprocess.run([%q], stdin=sys.stdin, stdout=subprocess.PIPE, check=True).stdout.splitlines(keepends=True)
half = len(lines) // 2
out = sys.stdout.buffer
out.write(b"".join(lines[:half]))
out.flush()
time.sleep(float(os.environ.get("CHAOS_REDUCE_SLEEP", "0")))
out.write(b"".join(lines[half:]))
out.flush()
`

// TestChaosReferenceWorkers runs a job on reference-only workers, which
// write in place and cannot be told to stop, while a short task timeout,
// maybe speculation, and chaos make attempts of one task overlap (the
// attempts that may overlap write apart: internal/scheduler/apart.go). At
// random moments a reference worker is frozen (with its programs, or
// without) until the master declares it dead, then let go on, so that its
// late writes and statuses arrive; or one is killed with -9 (its programs
// go on) and a fresh one starts; in a third of the runs the master may be
// killed once and started again on its journal. The mapper, and maybe the
// reducer and combiner, write half their output, sleep a while that each
// worker draws, and write the rest. Everything random comes from the seed
// (CHAOS_SEED replays the choices; the interleavings are the machine's).
// The job must end done with the truth pipeline's output, whole: no NUL,
// no broken record, and nothing in its output directory but its outputs
// and _SUCCESS. CHAOS_KEEP_LOGS=DIR keeps the processes' logs there.
func TestChaosReferenceWorkers(t *testing.T) {
	seed := chaosSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	ms := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Millisecond }
	secs := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

	timeout := ms(1000, 2000)
	masterArgs := []string{"--task-timeout", timeout.String()}
	speculate := rng.IntN(2) == 0
	if speculate {
		masterArgs = append(masterArgs, "--speculate", "--speculate-after", ms(200, 800).String())
	}
	c := newCluster(t, masterArgs...)
	ch := &refChaos{c: c, rng: rng, stopped: map[int]bool{}, restart: rng.IntN(3) == 0}
	scratch := t.TempDir()
	ch.scratch = scratch
	t.Cleanup(ch.cleanup) // runs before the cluster's: see cleanup

	mapper := filepath.Join(scratch, "chaos_map.py")
	if err := os.WriteFile(mapper, []byte(chaosMapper), 0o755); err != nil {
		t.Fatal(err)
	}
	reducer := "exec/word_count/reduce.py"
	staggered := rng.IntN(2) == 0
	if staggered {
		reducer = filepath.Join(scratch, "chaos_reduce.py")
		if err := os.WriteFile(reducer, []byte(fmt.Sprintf(chaosStaggered, c.repoPath("exec/word_count/reduce.py"))), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mappers := 2 + rng.IntN(5)
	j := job{input: chaosInput(t, mappers+rng.IntN(5), rng), mapper: mapper, mappers: mappers}
	mapOnly := rng.IntN(4) == 0
	if !mapOnly {
		j.reducer, j.reducers = reducer, 1+rng.IntN(3)
		if rng.IntN(3) == 0 {
			j.combiner = reducer
		}
	}
	// One of ours: none; one that joins once the map tasks are planned
	// for whole files, which it runs too; or one there before, so that
	// the map tasks are splits, which only it runs.
	ours := []string{"none", "after", "before"}[rng.IntN(3)]
	refs := 2 + rng.IntN(2)
	t.Logf("task timeout %s, speculate %v, %d reference workers, ours %s, staggered reducer %v, map-only %v, combiner %v, %d mappers, %d reducers, master restart %v",
		timeout, speculate, refs, ours, staggered, mapOnly, j.combiner != "", j.mappers, j.reducers, ch.restart)

	ch.env = func() []string {
		env := []string{
			"CHAOS_MAP_SLEEP=" + secs(ms(100, 2500)),
			"CHAOS_REDUCE_SLEEP=" + secs(ms(0, 2000)),
		}
		if rng.IntN(3) == 0 {
			env = append(env, "REFERENCE_WORKER_SORT_DELAY="+secs(ms(300, 2000)))
		}
		return env
	}
	for range refs {
		ch.startRef()
	}
	if ours == "before" {
		ch.startOurs()
	}
	id, out := c.submit(j)
	if ours == "after" {
		c.waitLog(c.master, "map tasks planned")
		ch.startOurs()
	}

	ch.run(id, 4+rng.IntN(6), 15*time.Second)
	info := c.waitJob(id, 30*time.Second)
	if info.State != protocol.JobDone {
		t.Fatalf("job ended %s: %v", info.State, info.Errors)
	}
	// What the chaos left running (a killed worker's programs, a frozen
	// one's late tasks) ends before the output is judged: nothing may
	// land in it late.
	ch.waitProgramsEnded(15 * time.Second)
	ch.summarize(info)
	checkOneFinished(t, info, ch.restarted)
	checkNoNUL(t, out)
	if mapOnly {
		names, got := mapOnlyOutputs(t, out)
		checkMapOnlyNames(t, names, j.input)
		if want := sortedLines(mapOnlyTruth(t, j.input, c.repoPath("exec/word_count/map.py"))); sortedLines(got) != want {
			t.Errorf("outputs, sorted, differ from map.py's:\n%s", diffSummary(want, sortedLines(got)))
		}
	} else {
		c.checkOutput(j, out)
	}
}

// refChaos is the chaos of TestChaosReferenceWorkers: its workers, which
// it freezes, lets go on, kills and starts.
type refChaos struct {
	c       *cluster
	rng     *rand.Rand
	scratch string
	// env is a new worker's environment: how slow its programs are.
	env  func() []string
	refs []*proc
	// frozen are the workers frozen now, with when to let them go on;
	// stopped, every pid the chaos sent SIGSTOP (workers' programs too),
	// and frozenTree the programs frozen with each worker.
	frozen     map[*proc]time.Time
	frozenTree map[*proc][]int
	stopped    map[int]bool
	log        []string
	// restart: the chaos may kill the master once, and start it again;
	// restarted, it did.
	restart, restarted bool
}

func (ch *refChaos) note(format string, args ...any) {
	ch.c.t.Helper()
	line := fmt.Sprintf(format, args...)
	ch.log = append(ch.log, line)
	ch.c.t.Log(line)
}

func (ch *refChaos) startRef() *proc {
	ch.c.t.Helper()
	env := ch.env()
	p := ch.c.startReferenceWorker(env...)
	ch.refs = append(ch.refs, p)
	ch.note("reference worker %d started: %s", p.pid(), strings.Join(env, " "))
	return p
}

func (ch *refChaos) startOurs() {
	ch.c.t.Helper()
	env := ch.env()
	p := ch.c.startWorker(env...)
	ch.note("our worker %d started: %s", p.pid(), strings.Join(env, " "))
}

// live lists the workers, ours and reference ones, that run and are not
// frozen.
func (ch *refChaos) live() []*proc {
	var live []*proc
	for _, w := range ch.c.workers {
		if _, frozen := ch.frozen[w]; !w.exited() && !frozen && (slices.Contains(ch.refs, w) || !ch.isRef(w)) {
			live = append(live, w)
		}
	}
	return live
}

// isRef reports whether w is a reference worker.
func (ch *refChaos) isRef(w *proc) bool { return w.name == "reference-worker" }

// restartMaster kills the master with -9 and starts it again on its var:
// it takes the job up again from its journal. A reference worker never
// registers again by itself: those of the earlier master go on with what
// they were sent, their statuses arrive, but the new master does not know
// them. The chaos only lets those it froze go on, and starts a fresh one.
func (ch *refChaos) restartMaster() {
	ch.c.t.Helper()
	ch.restart, ch.restarted = false, true
	ch.c.master.kill()
	ch.note("SIGKILL the master; its reference workers %v go on, unknown to the next", stillRunning(ch.refs))
	ch.c.startMaster()
	ch.refs = nil
	ch.startRef()
}

// stillRunning lists the pids of procs that still run.
func stillRunning(procs []*proc) []int {
	var ids []int
	for _, p := range procs {
		if !p.exited() {
			ids = append(ids, p.pid())
		}
	}
	return ids
}

// run does up to n chaos actions at random moments while job id runs, for
// at most limit, and then lets every frozen worker go on.
func (ch *refChaos) run(id, n int, limit time.Duration) {
	ch.c.t.Helper()
	ch.frozen, ch.frozenTree = map[*proc]time.Time{}, map[*proc][]int{}
	end := time.Now().Add(limit)
	first := true
	for n > 0 && time.Now().Before(end) {
		if first {
			time.Sleep(time.Duration(ch.rng.IntN(1500)) * time.Millisecond)
			first = false
		} else {
			time.Sleep(time.Duration(50+ch.rng.IntN(500)) * time.Millisecond)
		}
		ch.resumeDue()
		if state := ch.c.jobInfo(id).State; state == protocol.JobDone || state == protocol.JobFailed || state == protocol.JobCancelled {
			ch.note("job %s: chaos stops with %d actions left", state, n)
			break
		}
		var candidates []*proc
		for _, w := range ch.refs {
			if !w.exited() {
				candidates = append(candidates, w)
			}
		}
		victim := candidates[ch.rng.IntN(len(candidates))]
		_, frozen := ch.frozen[victim]
		switch {
		case ch.restart && ch.rng.IntN(4) == 0:
			ch.restartMaster()
		case ch.rng.IntN(3) > 0 && !frozen && len(ch.live()) >= 2:
			ch.freeze(victim, ch.rng.IntN(4) > 0)
		case ch.rng.IntN(2) == 0:
			ch.killAndReplace(victim)
		default:
			continue // a moment without chaos
		}
		n--
	}
	ch.resumeAll()
}

// freeze stops w (and its programs, if tree), waits until the master
// declares it dead, and has it go on a random while later.
func (ch *refChaos) freeze(w *proc, tree bool) {
	ch.c.t.Helper()
	w.signal(syscall.SIGSTOP)
	ch.stopped[w.pid()] = true
	var programs []int
	if tree {
		// Twice: a program may have started one more as it was stopped.
		for range 2 {
			for _, p := range descendants(w.pid()) {
				if !slices.Contains(programs, p) && syscall.Kill(p, syscall.SIGSTOP) == nil {
					programs = append(programs, p)
					ch.stopped[p] = true
				}
			}
		}
	}
	ch.frozenTree[w] = programs
	ch.note("SIGSTOP reference worker %d, its programs %v", w.pid(), programs)
	testutil.WaitFor(ch.c.t, 10*time.Second, fmt.Sprintf("worker %d declared dead", w.pid()), func() bool {
		for _, info := range ch.c.status().Workers {
			if info.PID == w.pid() {
				return info.State == "dead"
			}
		}
		return false
	})
	ch.frozen[w] = time.Now().Add(time.Duration(ch.rng.IntN(1500)) * time.Millisecond)
}

// resume lets frozen worker w, and its programs, go on.
func (ch *refChaos) resume(w *proc) {
	for _, p := range ch.frozenTree[w] {
		syscall.Kill(p, syscall.SIGCONT)
	}
	w.signal(syscall.SIGCONT)
	ch.note("SIGCONT reference worker %d, its programs %v", w.pid(), ch.frozenTree[w])
	delete(ch.frozen, w)
	delete(ch.frozenTree, w)
}

func (ch *refChaos) resumeDue() {
	for w, at := range ch.frozen {
		if time.Now().After(at) {
			ch.resume(w)
		}
	}
}

func (ch *refChaos) resumeAll() {
	for w := range ch.frozen {
		ch.resume(w)
	}
}

// killAndReplace kills w with -9, its programs left running (let go on if
// frozen), and starts a fresh reference worker: first, if w is the last
// live worker.
func (ch *refChaos) killAndReplace(w *proc) {
	ch.c.t.Helper()
	live := ch.live()
	last := len(live) == 1 && live[0] == w
	if last {
		ch.startRef()
	}
	for _, p := range ch.frozenTree[w] {
		syscall.Kill(p, syscall.SIGCONT)
	}
	delete(ch.frozen, w)
	delete(ch.frozenTree, w)
	w.kill()
	ch.note("SIGKILL reference worker %d", w.pid())
	if !last {
		ch.startRef()
	}
}

// waitProgramsEnded waits until no program of the job runs any more,
// wherever it was started: the scripts live in the chaos's scratch
// directory.
func (ch *refChaos) waitProgramsEnded(timeout time.Duration) {
	ch.c.t.Helper()
	testutil.WaitFor(ch.c.t, timeout, "every program of the job ended", func() bool {
		return len(processesMentioning(ch.scratch)) == 0
	})
}

// cleanup, which runs before the cluster's, lets every process the chaos
// stopped go on, kills the workers, and waits (bounded) for what the chaos
// left running to end, so that the scratch directories are not removed
// under it. With CHAOS_KEEP_LOGS set, it keeps the logs.
func (ch *refChaos) cleanup() {
	for p := range ch.stopped {
		syscall.Kill(p, syscall.SIGCONT)
	}
	for _, w := range ch.c.workers {
		w.kill()
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(processesMentioning(ch.scratch)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if dir := os.Getenv("CHAOS_KEEP_LOGS"); dir != "" {
		keep := filepath.Join(dir, strings.ReplaceAll(ch.c.t.Name(), "/", "_")+"-"+strconv.FormatInt(time.Now().UnixNano(), 10))
		if err := os.MkdirAll(keep, 0o755); err == nil {
			logs, _ := filepath.Glob(filepath.Join(ch.c.dir, "*.log"))
			for _, l := range logs {
				if data, err := os.ReadFile(l); err == nil {
					os.WriteFile(filepath.Join(keep, filepath.Base(l)), data, 0o644)
				}
			}
			os.WriteFile(filepath.Join(keep, "chaos.txt"), []byte(strings.Join(ch.log, "\n")+"\n"), 0o644)
			ch.c.t.Logf("logs kept in %s", keep)
		}
	}
}

// summarize logs what the chaos made of the job: attempts by outcome, and
// how many wrote apart or finished after timing out.
func (ch *refChaos) summarize(info protocol.JobInfo) {
	ch.c.t.Helper()
	outcomes := map[string]int{}
	for _, task := range info.Tasks {
		for _, a := range task.Attempts {
			outcomes[task.Phase+"/"+a.Outcome]++
		}
	}
	apart, late := 0, 0
	for _, p := range ch.c.procs {
		if p.name == "master" {
			data, _ := os.ReadFile(p.log)
			apart += bytes.Count(data, []byte(`"apart":`))
			late += bytes.Count(data, []byte("a timed-out attempt finished after all"))
		}
	}
	ch.c.t.Logf("attempts by phase/outcome %v; %d attempts wrote apart, %d timed-out attempts finished after all", outcomes, apart, late)
}

// descendants lists pid's descendants, from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(p); ok {
			children[ppid] = append(children[ppid], p)
		}
	}
	var all []int
	var walk func(int)
	walk = func(p int) {
		for _, c := range children[p] {
			all = append(all, c)
			walk(c)
		}
	}
	walk(pid)
	return all
}

// parentOf reads pid's parent from /proc/pid/stat.
func parentOf(pid int) (int, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // state, ppid, …
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	return ppid, err == nil
}

// processesMentioning lists the live processes (not zombies) whose
// command line holds text.
func processesMentioning(text string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		if err != nil || !bytes.Contains(cmdline, []byte(text)) {
			continue
		}
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p)); err == nil {
			s := string(stat)
			if fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(fields) > 0 && fields[0] == "Z" {
				continue
			}
		}
		pids = append(pids, p)
	}
	return pids
}

// checkOneFinished wants each task of a done job to have exactly one
// finished attempt: the accepted one; after a restart, a task the journal
// kept done has none.
func checkOneFinished(t *testing.T, info protocol.JobInfo, restarted bool) {
	t.Helper()
	for _, task := range info.Tasks {
		if restarted && len(task.Attempts) == 0 {
			continue
		}
		n := 0
		for _, a := range task.Attempts {
			if a.Outcome == "finished" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s task %d has %d finished attempts, want 1: %+v", task.Phase, task.Index, n, task.Attempts)
		}
	}
}

// checkNoNUL wants no NUL byte in any file of dir: a hole that a truncated
// in-place write left.
func checkNoNUL(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("output directory holds a directory: %s", e.Name())
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.IndexByte(data, 0); i >= 0 {
			t.Errorf("output %s has a NUL byte at offset %d of %d", e.Name(), i, len(data))
		}
	}
}

// checkMapOnlyNames wants a map-only job's outputs named as its inputs
// (whole files, as reference-only workers run them) or part-m-00000 on
// (splits, when one of ours was there as the tasks were planned).
func checkMapOnlyNames(t *testing.T, names []string, input string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(input, "*"))
	var inputs, parts []string
	for _, f := range files {
		inputs = append(inputs, filepath.Base(f))
	}
	for i := range names {
		parts = append(parts, fmt.Sprintf("part-m-%05d", i))
	}
	if !slices.Equal(names, inputs) && !slices.Equal(names, parts) {
		t.Errorf("map-only outputs %v, want one per input named as it (%v), or part-m-00000 on", names, inputs)
	}
}
