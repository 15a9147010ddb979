package worker_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mapreduce/internal/worker"
	"mapreduce/protocol"
)

// TestShuffleMapAndReduce: two workers each keep a map task's output as a
// sorted run in their local directories and describe it; a reduce task on
// one of them merges its key range of both runs, one read locally and one
// fetched from the other worker, into its reducer; a run that cannot be
// read fails the reduce task for retry, naming the piece.
func TestShuffleMapAndReduce(t *testing.T) {
	m := newFakeMaster(t, 0)
	m.listen()
	start := func(id string) *worker.Worker {
		cfg := m.config()
		cfg.ID = id
		cfg.LocalDir = filepath.Join(t.TempDir(), "local")
		return m.start(cfg)
	}
	a, b := start("a"), start("b")
	base := t.TempDir()
	inputs := writeInputs(t, base, []string{"one", "two"}, func(name string) string {
		if name == "one" {
			return "pear\t1\napple\t1\nfig\t1\n"
		}
		return "kiwi\t1\napple\t1\nzucchini\t1\n"
	})
	// The mapper and the combiner pass lines on; the combiner marks them.
	combiner := script(t, base, "combine", `sed 's/$/+c/'`+"\n")
	out := filepath.Join(base, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	mapTask := func(w *worker.Worker, i int, input string, comb string) protocol.Status {
		t.Helper()
		info, err := os.Stat(input)
		if err != nil {
			t.Fatal(err)
		}
		run := []string{"map-0", "map-1"}[i]
		m.send(t, w, protocol.NewWorkerJob{InputFiles: []string{input}, Executable: "cat", OutputDirectory: "", WorkerPID: workerPID,
			Task:      &protocol.TaskIdentity{JobID: 7, Stage: "map", Index: i, Attempt: 1},
			Split:     &protocol.Split{Ranges: []protocol.InputRange{{File: input, Length: info.Size()}}, OutputFile: run},
			MapOutput: &protocol.MapOutput{Run: run, Combiner: comb, Samples: 2}})
		st := m.status(t)
		if st.Status != protocol.StatusFinished || st.Run == nil || st.Run.Run != run || st.Task == nil || st.Task.Index != i {
			t.Fatalf("map task %d: status %+v (run %+v), want finished with its run", i, st, st.Run)
		}
		var sum int64
		for _, s := range st.Run.Samples {
			sum += s.Bytes
		}
		if sum != st.Run.Size || len(st.Run.Samples) == 0 || len(st.Run.Samples) > 2 {
			t.Errorf("map task %d: run %+v: samples should cover its %d bytes, at most 2 of them", i, st.Run, st.Run.Size)
		}
		return st
	}
	// Runs of another job, which ended while b was taken for dead, say.
	stale := filepath.Join(worker.LocalDir(b), "job-5")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	mapTask(a, 0, inputs[0], "")
	mapTask(b, 1, inputs[1], combiner)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("another job's runs are still on the worker once it runs a task of job 7 (%v)", err)
	}

	pieces := []protocol.Piece{{Holder: a.Addr(), HolderID: "a", Run: "map-0"}, {Holder: b.Addr(), HolderID: "b", Run: "map-1"}}
	reduce := func(i int, lo, hi string, pieces []protocol.Piece) protocol.Status {
		t.Helper()
		in := &protocol.ReduceInput{Pieces: pieces, OutputFile: filepath.Join(out, "input_"+string(rune('0'+i)))}
		if lo != "" {
			in.Lo = []byte(lo)
		}
		if hi != "" {
			in.Hi = []byte(hi)
		}
		m.send(t, a, protocol.NewWorkerJob{InputFiles: []string{}, Executable: "cat", OutputDirectory: out, WorkerPID: workerPID,
			Task: &protocol.TaskIdentity{JobID: 7, Stage: "reduce", Index: i, Attempt: 1}, ReduceInput: in})
		return m.status(t)
	}
	for i, tc := range []struct {
		lo, hi string
		want   []string
	}{
		{"", "kiwi", []string{"apple\t1", "apple\t1+c", "fig\t1"}},
		{"kiwi", "", []string{"kiwi\t1+c", "pear\t1", "zucchini\t1+c"}},
	} {
		st := reduce(i, tc.lo, tc.hi, pieces)
		if st.Status != protocol.StatusFinished {
			t.Fatalf("reduce %d: status %+v", i, st)
		}
		got := strings.Split(strings.TrimSuffix(readFile(t, st.OutputFiles[0]), "\n"), "\n")
		if !slices.Equal(got, tc.want) {
			t.Errorf("reduce %d read %q, want %q", i, got, tc.want)
		}
	}

	lost := protocol.Piece{Holder: a.Addr(), HolderID: "a", Run: "map-1"} // a holds map-0 alone
	st := reduce(2, "", "", []protocol.Piece{pieces[0], lost})
	if st.Status != protocol.StatusFailed || !st.Retry || len(st.LostPieces) != 1 || st.LostPieces[0] != lost {
		t.Errorf("reduce over a missing run: status %+v, want failed for retry naming the piece %+v", st, lost)
	}
	if _, err := os.Stat(filepath.Join(out, "input_2")); err == nil {
		t.Errorf("a failed reduce task left its output")
	}
}
