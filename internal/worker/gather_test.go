package worker_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/internal/worker"
	"mapreduce/protocol"
)

// A restarted master numbers attempts from 1 again: its attempt 1 of a
// reduce task may reach a worker still running the earlier master's
// attempt 1 of it. The earlier copy, cancelled, ends later (here: its
// fetches were under way) and removes its temporary files; those of the
// new copy must not be among them.
func TestSameAttemptOfAnotherLifeKeepsItsFiles(t *testing.T) {
	oldFetches, newSecond := make(chan struct{}), make(chan struct{})
	var opens atomic.Int64
	worker.SetFetchHooks(t, func(path string, _, _ []byte) (io.ReadCloser, error) {
		switch n := opens.Add(1); {
		case n <= 2: // the first copy's two fetches
			<-oldFetches
		case strings.HasSuffix(path, "map-1"): // the second copy's second
			<-newSecond
		}
		return os.Open(path)
	}, time.Second)
	m, holder, reducer := startPair(t)
	writeInputs(t, filepath.Join(worker.LocalDir(holder), "job-3"), []string{"map-1"}, func(string) string { return run0 })
	pieces := []protocol.Piece{
		{Holder: holder.Addr(), HolderID: "holder", Run: "map-0"},
		{Holder: holder.Addr(), HolderID: "holder", Run: "map-1"},
	}
	out := filepath.Join(t.TempDir(), "input_0")
	task := func(life int) protocol.NewWorkerJob {
		return protocol.NewWorkerJob{InputFiles: []string{}, Executable: "cat", OutputDirectory: filepath.Dir(out), WorkerPID: workerPID + 1,
			Task:        &protocol.TaskIdentity{JobID: 3, Stage: "reduce", Index: 0, Attempt: 1, Life: life},
			ReduceInput: &protocol.ReduceInput{Pieces: pieces, OutputFile: out}}
	}
	scratches := func() int {
		dirs, _ := filepath.Glob(filepath.Join(worker.LocalDir(reducer), "job-3", ".reduce-0-*"))
		return len(dirs)
	}
	m.send(t, reducer, task(1))
	testutil.WaitFor(t, 5*time.Second, "the first copy fetching", func() bool { return opens.Load() == 2 })
	m.send(t, reducer, task(2)) // cancels the first copy: the same output
	testutil.WaitFor(t, 5*time.Second, "the second copy fetching", func() bool { return opens.Load() == 4 })
	close(oldFetches)
	testutil.WaitFor(t, 5*time.Second, "the first copy gone, its files removed", func() bool { return scratches() == 1 })
	close(newSecond)
	if st := m.status(t); st.Status != protocol.StatusFinished || st.Task.Life != 2 {
		t.Fatalf("the second copy: %+v", st)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// Both pieces are run0: every line twice, in order.
	lines := strings.Split(strings.TrimSuffix(run0Lines+run0Lines, "\n"), "\n")
	slices.Sort(lines)
	if want := strings.Join(lines, "\n") + "\n"; string(got) != want {
		t.Errorf("reducer's output:\n%s\nwant:\n%s", got, want)
	}
	testutil.WaitFor(t, 5*time.Second, "no temporary files left", func() bool { return scratches() == 0 })
}

// A worker sent many reduce tasks at once fetches and merges for as many
// of them at a time as it has slots: each holds connections, files and
// merge buffers.
func TestReduceTasksGatherAsManyAtOnceAsSlots(t *testing.T) {
	gate := make(chan struct{})
	var blocked, most atomic.Int64
	worker.SetFetchHooks(t, func(path string, _, _ []byte) (io.ReadCloser, error) {
		n := blocked.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-gate
		blocked.Add(-1)
		return os.Open(path)
	}, 5*time.Second)
	m := newFakeMaster(t, 0)
	m.listen()
	var holders []*worker.Worker
	for i := range 2 {
		cfg := m.config()
		cfg.ID, cfg.PID = fmt.Sprintf("holder%d", i), workerPID+10+i
		h := m.start(cfg)
		writeInputs(t, mkdir(t, worker.LocalDir(h), "job-3"), []string{fmt.Sprintf("map-%d", 2*i), fmt.Sprintf("map-%d", 2*i+1)}, func(string) string { return run0 })
		holders = append(holders, h)
	}
	cfg := m.config()
	cfg.ID, cfg.PID, cfg.Parallel = "reducer", workerPID+1, 1
	reducer := m.start(cfg)
	var pieces []protocol.Piece
	for i := range 4 {
		pieces = append(pieces, protocol.Piece{Holder: holders[i/2].Addr(), HolderID: fmt.Sprintf("holder%d", i/2), Run: fmt.Sprintf("map-%d", i)})
	}
	outDir := t.TempDir()
	const tasks = 6
	for r := range tasks {
		m.send(t, reducer, protocol.NewWorkerJob{InputFiles: []string{}, Executable: "cat", OutputDirectory: outDir, WorkerPID: workerPID + 1,
			Task:        &protocol.TaskIdentity{JobID: 3, Stage: "reduce", Index: r, Attempt: 1},
			ReduceInput: &protocol.ReduceInput{Pieces: pieces, OutputFile: filepath.Join(outDir, fmt.Sprintf("input_%d", r))}})
	}
	// One task's four fetches wait at the gate; the others, all held,
	// wait for the one gather slot (without it they fetched too: 24).
	testutil.WaitFor(t, 5*time.Second, "every task held, one task's fetches under way", func() bool {
		return worker.Held(reducer) == tasks && blocked.Load() == 4
	})
	close(gate)
	for range tasks {
		if st := m.status(t); st.Status != protocol.StatusFinished {
			t.Errorf("status %+v", st)
		}
	}
	if most.Load() > 4 {
		t.Errorf("%d fetches at once into a worker with one slot, want at most 4 (one task's)", most.Load())
	}
}

// A reduce task keeps its gather token until its reducer has a slot: a
// worker with one slot, sent four reduce tasks, holds at most two merged
// inputs (the running reducer's and the next one's), not four.
func TestMergedInputsWaitingForSlotsAreBounded(t *testing.T) {
	m, holder, _ := startPair(t)
	cfg := m.config()
	cfg.ID, cfg.PID, cfg.Parallel = "reducer", workerPID+2, 1
	reducer := m.start(cfg)
	base := t.TempDir()
	gate := filepath.Join(base, "gate")
	prog := script(t, base, "prog", `while [ ! -e `+gate+` ]; do sleep 0.01; done
cat
`)
	outDir := t.TempDir()
	const tasks = 4
	for r := range tasks {
		m.send(t, reducer, protocol.NewWorkerJob{InputFiles: []string{}, Executable: prog, OutputDirectory: outDir, WorkerPID: workerPID + 2,
			Task:        &protocol.TaskIdentity{JobID: 3, Stage: "reduce", Index: r, Attempt: 1},
			ReduceInput: &protocol.ReduceInput{Pieces: []protocol.Piece{{Holder: holder.Addr(), HolderID: "holder", Run: "map-0"}}, OutputFile: filepath.Join(outDir, fmt.Sprintf("input_%d", r))}})
	}
	var most atomic.Int64
	merged := func() int {
		f, _ := filepath.Glob(filepath.Join(worker.LocalDir(reducer), "job-3", ".reduce-*", "merged"))
		if n := int64(len(f)); n > most.Load() {
			most.Store(n)
		}
		return len(f)
	}
	testutil.WaitFor(t, 5*time.Second, "every task held, two merged inputs", func() bool {
		return worker.Held(reducer) == tasks && merged() == 2
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for most.Load() <= 2 && worker.Held(reducer) > 0 {
			merged()
			time.Sleep(time.Millisecond)
		}
	}()
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for range tasks {
		if st := m.status(t); st.Status != protocol.StatusFinished {
			t.Errorf("status %+v", st)
		}
	}
	<-done
	if most.Load() > 2 {
		t.Errorf("%d merged inputs at once on a worker with one slot, want at most 2", most.Load())
	}
}

// A reduce task cancelled while it waits on a holder that sends nothing
// gives up its fetch at once, and with it its gather token: the worker's
// next reduce task does not wait out the fetch's read timeout (30 s).
func TestCancelledFetchFromASilentHolderEndsAtOnce(t *testing.T) {
	stall := make(chan struct{})
	defer close(stall)
	var opens atomic.Int64
	worker.SetFetchHooks(t, func(path string, _, _ []byte) (io.ReadCloser, error) {
		if opens.Add(1) == 1 {
			<-stall // the holder, silent: the first fetch gets no byte
		}
		return os.Open(path)
	}, time.Second)
	m, holder, _ := startPair(t)
	cfg := m.config()
	cfg.ID, cfg.PID, cfg.Parallel = "reducer", workerPID+2, 1
	reducer := m.start(cfg)
	pieces := []protocol.Piece{{Holder: holder.Addr(), HolderID: "holder", Run: "map-0"}}
	outDir := t.TempDir()
	task := func(r int) protocol.NewWorkerJob {
		return protocol.NewWorkerJob{InputFiles: []string{}, Executable: "cat", OutputDirectory: outDir, WorkerPID: workerPID + 2,
			Task:        &protocol.TaskIdentity{JobID: 3, Stage: "reduce", Index: r, Attempt: 1},
			ReduceInput: &protocol.ReduceInput{Pieces: pieces, OutputFile: filepath.Join(outDir, fmt.Sprintf("input_%d", r))}}
	}
	m.send(t, reducer, task(0))
	testutil.WaitFor(t, 5*time.Second, "the first task's fetch waiting on the holder", func() bool { return opens.Load() == 1 })
	m.send(t, reducer, protocol.CancelTask{Output: filepath.Join(outDir, "input_0"), Task: task(0).Task})
	m.send(t, reducer, task(1))
	testutil.WaitFor(t, 5*time.Second, "the next task fetching", func() bool { return opens.Load() == 2 })
	if st := m.status(t); st.Status != protocol.StatusFinished || st.Task.Index != 1 {
		t.Errorf("status %+v, want task 1 finished", st)
	}
}
