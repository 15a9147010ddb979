package worker_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mapreduce/protocol"
)

// TestProgramField: a new_worker_job's program field runs the executable
// with its arguments and the job's environment, in the job's working
// directory, where a bare name is found first; with the input key, each
// record comes as FILE<tab>LINE.
func TestProgramField(t *testing.T) {
	m, w := startWorker(t)
	base := t.TempDir()
	work := filepath.Join(base, "job")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "data.txt"), []byte("from data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script(t, work, "show", `cat "$1"; echo "$2 $SETTING $mapreduce_job_maps $mapreduce_job_reduces $(pwd)"; cat`)
	inputs := writeInputs(t, base, []string{"a.txt"}, func(string) string { return "x\ny\n" })
	out := filepath.Join(base, "out", "map-0")
	if err := os.Mkdir(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs, Executable: "show", OutputDirectory: filepath.Dir(out), WorkerPID: workerPID,
		Task:  &protocol.TaskIdentity{JobID: 1, Stage: protocol.PhaseMap, Index: 0, Attempt: 1},
		Split: &protocol.Split{Ranges: []protocol.InputRange{{File: inputs[0], Length: 4}}, OutputFile: out},
		Program: &protocol.Program{Args: []string{"data.txt", "two words"}, Env: []string{"SETTING=on"}, WorkDir: work,
			InputKey: protocol.InputKeyFile, Maps: 7, Reduces: 3}})
	if status := m.status(t); status.Status != protocol.StatusFinished {
		t.Fatalf("status %+v, want finished", status)
	}
	want := "from data\ntwo words on 7 3 " + work + "\n" + inputs[0] + "\tx\n" + inputs[0] + "\ty\n"
	if got := readFile(t, out); got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// TestWorkDirNotVisible: a job whose working directory this worker cannot
// see fails, saying so.
func TestWorkDirNotVisible(t *testing.T) {
	m, w := startWorker(t)
	base := t.TempDir()
	inputs := writeInputs(t, base, []string{"a.txt"}, func(string) string { return "x\n" })
	gone := filepath.Join(base, "elsewhere")
	m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs, Executable: "cat", OutputDirectory: base, WorkerPID: workerPID,
		Task:    &protocol.TaskIdentity{JobID: 1, Stage: protocol.PhaseMap, Index: 0, Attempt: 1},
		Split:   &protocol.Split{Ranges: []protocol.InputRange{{File: inputs[0], Length: 2}}, OutputFile: filepath.Join(base, "map-0")},
		Program: &protocol.Program{WorkDir: gone}})
	status := m.status(t)
	want := "the job's working directory " + gone + " (where sendjob ran) is not visible on this worker"
	if status.Status != protocol.StatusFailed || !strings.Contains(status.Error, want) || status.Retry {
		t.Errorf("status %s, error %q, retry %t; want failed with %q", status.Status, status.Error, status.Retry, want)
	}
}
