package worker_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// TestSplitTask: a new_worker_job with a split runs the program once over
// the lines its ranges own, into the split's one output file. A split that
// packs two files tells the program no input file: no one file is true of
// every record (a split of one file is told its file: TestSplitOfOneFile).
func TestSplitTask(t *testing.T) {
	m, w := startWorker(t)
	base := t.TempDir()
	runs := filepath.Join(base, "runs")
	mapper := script(t, base, "map", `echo "${mapreduce_map_input_file-unset} ${map_input_file-unset} ${mapreduce_map_input_length-unset}" >> `+runs+`
cat
`)
	inputs := writeInputs(t, base, []string{"a.txt", "b.txt"}, func(name string) string {
		return map[string]string{"a.txt": "a1\na2\na3", "b.txt": "b1\nb2\n"}[name]
	})
	out := filepath.Join(base, "out", "split_0")
	if err := os.Mkdir(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	// a.txt from inside its first line: a2 and a3 (which lacks a newline);
	// b.txt's first 2 bytes own b1, read to its end.
	ranges := []protocol.InputRange{{File: inputs[0], Start: 1, Length: 7}, {File: inputs[1], Start: 0, Length: 2}}
	m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs, Executable: mapper, OutputDirectory: filepath.Dir(out), WorkerPID: workerPID,
		Task:  &protocol.TaskIdentity{JobID: 1, Stage: protocol.PhaseMap, Index: 0, Attempt: 1},
		Split: &protocol.Split{Ranges: ranges, OutputFile: out}})
	status := m.status(t)
	if !slices.Equal(status.OutputFiles, []string{out}) || status.Status != protocol.StatusFinished || !noFailure(status) {
		t.Fatalf("status %+v, want %s finished", status, out)
	}
	if got, want := readFile(t, out), "a2\na3\nb1\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if got, want := readFile(t, runs), "unset unset unset\n"; got != want {
		t.Errorf("the program ran with %q, want once with %q (no input file named)", got, want)
	}
	if got := testutil.ListDir(t, filepath.Dir(out)); !slices.Equal(got, []string{"split_0"}) {
		t.Errorf("output directory holds %v, want the split's one output", got)
	}
}

// TestSplitOfOneFile: a split whose ranges are of one file tells the
// program that file, under Hadoop's name and its old one, from the
// split's start, with the split's bytes.
func TestSplitOfOneFile(t *testing.T) {
	m, w := startWorker(t)
	base := t.TempDir()
	runs := filepath.Join(base, "runs")
	mapper := script(t, base, "map", `echo "$mapreduce_map_input_file $mapreduce_map_input_start $mapreduce_map_input_length $map_input_file $map_input_start $map_input_length" >> `+runs+`
cat
`)
	inputs := writeInputs(t, base, []string{"a.txt"}, func(string) string { return "a1\na2\na3\n" })
	out := filepath.Join(base, "out", "split_0")
	if err := os.Mkdir(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	ranges := []protocol.InputRange{{File: inputs[0], Start: 3, Length: 6}}
	m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs, Executable: mapper, OutputDirectory: filepath.Dir(out), WorkerPID: workerPID,
		Task:  &protocol.TaskIdentity{JobID: 1, Stage: protocol.PhaseMap, Index: 0, Attempt: 1},
		Split: &protocol.Split{Ranges: ranges, OutputFile: out}})
	if status := m.status(t); status.Status != protocol.StatusFinished {
		t.Fatalf("status %+v, want finished", status)
	}
	if got, want := readFile(t, runs), fmt.Sprintf("%[1]s 3 6 %[1]s 3 6\n", inputs[0]); got != want {
		t.Errorf("the program ran with %q, want %q", got, want)
	}
}

// TestSplitTaskFailures: a failing program's error names the split's
// ranges; a split whose file is missing is reported for a retry, naming it.
func TestSplitTaskFailures(t *testing.T) {
	m, w := startWorker(t)
	base := t.TempDir()
	fail := script(t, base, "fail", "cat >/dev/null; echo oops >&2; exit 2\n")
	inputs := writeInputs(t, base, []string{"a.txt"}, func(string) string { return "a\nb\n" })
	missing := filepath.Join(base, "missing.txt")
	out := filepath.Join(base, "split_3")
	tests := []struct {
		name        string
		exe         string
		ranges      []protocol.InputRange
		files       []string
		wantError   string
		wantMissing []string
	}{
		{"program fails", fail, []protocol.InputRange{{File: inputs[0], Start: 2, Length: 2}}, inputs,
			fail + " < " + inputs[0] + ":2+2: exit status 2: oops", nil},
		{"file missing", "cat", []protocol.InputRange{{File: inputs[0], Start: 0, Length: 4}, {File: missing, Start: 100, Length: 50}},
			[]string{inputs[0], missing}, "read " + missing + ":100+50: open " + missing, []string{missing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m.send(t, w, protocol.NewWorkerJob{InputFiles: tt.files, Executable: tt.exe, OutputDirectory: base, WorkerPID: workerPID,
				Split: &protocol.Split{Ranges: tt.ranges, OutputFile: out}})
			status := m.status(t)
			if status.Status != protocol.StatusFailed || !strings.Contains(status.Error, tt.wantError) {
				t.Errorf("status %q, error %q; want failed, with %q", status.Status, status.Error, tt.wantError)
			}
			if status.Retry != (tt.wantMissing != nil) || !slices.Equal(status.MissingFiles, tt.wantMissing) {
				t.Errorf("retry=%v missing_files=%q, want %q", status.Retry, status.MissingFiles, tt.wantMissing)
			}
			if !slices.Equal(status.OutputFiles, []string{out}) {
				t.Errorf("output_files %q, want [%s]", status.OutputFiles, out)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a failed split left its output: %v", err)
			}
		})
	}
}

// TestSplitTaskProgress: a split task's progress counts what its program
// has read, so a program that reads slowly and writes nothing is alive.
func TestSplitTaskProgress(t *testing.T) {
	m, w := startWorker(t)
	base := t.TempDir()
	// It reads 4 KiB at a time, slowly, and writes nothing.
	slow := script(t, base, "slow", `while [ "$(dd bs=4096 count=1 2>/dev/null | wc -c)" -gt 0 ]; do sleep 0.05; done`+"\n")
	inputs := writeInputs(t, base, []string{"a.txt"}, func(string) string { return strings.Repeat("a line\n", 20000) })
	out := filepath.Join(base, "split_0")
	m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs, Executable: slow, OutputDirectory: base, WorkerPID: workerPID,
		Split: &protocol.Split{Ranges: []protocol.InputRange{{File: inputs[0], Start: 0, Length: 140000}}, OutputFile: out}})
	progress := func() int64 {
		deadline := time.After(2 * time.Second)
		for {
			select {
			case hb := <-m.beats:
				if len(hb.Tasks) == 1 && hb.Tasks[0].Output == out {
					return hb.Tasks[0].Progress
				}
			case <-deadline:
				t.Fatal("no heartbeat listing the split")
			}
		}
	}
	before := progress()
	testutil.WaitFor(t, 5*time.Second, "the split's progress to change", func() bool { return progress() != before })
	if st := m.status(t); st.Status != protocol.StatusFinished {
		t.Errorf("status %+v, want finished", st)
	}
}
