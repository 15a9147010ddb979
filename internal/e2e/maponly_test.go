package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mapreduce/protocol"
)

// mapOnlyTruth is `awk 1 input/* | mapper`: a map-only job's outputs read
// in order, as a line-by-line mapper over the inputs read as one stream
// (a file without a final newline gets one, as splits give it) writes them.
func mapOnlyTruth(t *testing.T, input, mapper string) string {
	t.Helper()
	cmd := exec.Command("bash", "-o", "pipefail", "-c", fmt.Sprintf("awk 1 %q/* | %q", input, mapper))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("map-only truth: %v", err)
	}
	return string(out)
}

// mapOnlyOutputs returns the names of a done map-only job's outputs in
// out, in order, and their bytes concatenated; it wants _SUCCESS, empty,
// and nothing else.
func mapOnlyOutputs(t *testing.T, out string) ([]string, string) {
	t.Helper()
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var all strings.Builder
	success := false
	for _, e := range entries {
		if e.Name() == "_SUCCESS" {
			success = true
			continue
		}
		data, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, e.Name())
		all.Write(data)
	}
	if !success {
		t.Errorf("%s has no _SUCCESS", out)
	}
	return names, all.String()
}

// TestMapOnly runs map-only jobs (sendjob --num-reducers 0): the mappers'
// outputs, unsorted, are the job's, committed whole with _SUCCESS, with
// counters. Our workers (which take the shuffle) write part-m-00000 …
// from splits, read in order they are `awk 1 input/* | mapper`;
// reference-only workers run whole files, each output named as its input.
func TestMapOnly(t *testing.T) {
	mapper := filepath.Join(repoRoot, "exec/word_count/map.py")
	input := filepath.Join(repoRoot, "input")
	want := mapOnlyTruth(t, input, mapper)
	t.Run("our workers", func(t *testing.T) {
		c := newCluster(t)
		c.startWorker()
		c.startWorker()
		out := filepath.Join(t.TempDir(), "out")
		text, err := c.sendjobCmd("--wait", "--num-reducers", "0", "--num-mappers", "3", "--output-directory", out).CombinedOutput()
		if err != nil {
			t.Fatalf("sendjob: %v\n%s", err, text)
		}
		if !strings.Contains(string(text), "job 0 done") || !strings.Contains(string(text), "map_input_records") {
			t.Errorf("sendjob printed %q, want the job done and its counters", text)
		}
		names, got := mapOnlyOutputs(t, out)
		if !slices.Equal(names, []string{"part-m-00000", "part-m-00001", "part-m-00002"}) {
			t.Errorf("outputs %v, want part-m-00000 to part-m-00002", names)
		}
		if got != want {
			t.Errorf("outputs differ from awk 1 input/* | map.py:\n%s", diffSummary(want, got))
		}
		info := c.jobInfo(0)
		lines := int64(strings.Count(mapOnlyTruth(t, input, "/bin/cat"), "\n"))
		if got := info.Counters["mapreduce"]["map_input_records"]; got != lines {
			t.Errorf("map_input_records %d, want the input's %d lines", got, lines)
		}
	})
	t.Run("reference workers", func(t *testing.T) {
		c := newCluster(t)
		c.startReferenceWorker()
		c.startReferenceWorker()
		j := job{input: "input", mapper: "exec/word_count/map.py", mappers: 2}
		id, out := c.submitTo(j, filepath.Join(t.TempDir(), "out"))
		if info := c.waitJob(id, 60*time.Second); info.State != protocol.JobDone {
			t.Fatalf("job ended %s: %v", info.State, info.Errors)
		}
		names, got := mapOnlyOutputs(t, out)
		files, _ := filepath.Glob(filepath.Join(input, "*"))
		var inputs []string
		for _, f := range files {
			inputs = append(inputs, filepath.Base(f))
		}
		if !slices.Equal(names, inputs) {
			t.Errorf("outputs %v, want one per input, named as it: %v", names, inputs)
		}
		if got != want {
			t.Errorf("outputs differ from awk 1 input/* | map.py:\n%s", diffSummary(want, got))
		}
	})
}

// TestMapOnlyWorkerKilled kills with -9 a worker whose mapper has written
// half its output, in a map-only job whose map tasks write straight into
// the job's commit directory: its tasks go to the other worker, and the
// job commits each output once, whole, and nothing that the killed
// attempt left.
func TestMapOnlyWorkerKilled(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	c.startWorker()
	dir := t.TempDir()
	gate, marks := filepath.Join(dir, "gate"), filepath.Join(dir, "marks")
	input := chaosInput(t, 6, rand.New(rand.NewPCG(1, 2)))
	mapper := stagedProgram(t, dir, "map.sh", filepath.Join(repoRoot, "exec/word_count/map.py"), gate, marks)
	id, out := c.submitTo(job{input: input, mapper: mapper, mappers: 4}, filepath.Join(dir, "out"))
	killed := c.halfWritten(id, protocol.PhaseMap, marks, rand.New(rand.NewPCG(3, 4)), nil)
	killed.kill()
	c.waitDeadAndReassigned(id, killed)
	openGate(t, gate)
	info := c.waitJob(id, 60*time.Second)
	if info.State != protocol.JobDone {
		t.Fatalf("job ended %s: %v", info.State, info.Errors)
	}
	if len(attemptsEnded(info, "worker_dead")) == 0 {
		t.Errorf("no attempt ended with its worker dead: %+v", info.Tasks)
	}
	names, got := mapOnlyOutputs(t, out)
	if want := []string{"part-m-00000", "part-m-00001", "part-m-00002", "part-m-00003"}; !slices.Equal(names, want) {
		t.Errorf("outputs %v, want %v", names, want)
	}
	if want := mapOnlyTruth(t, input, filepath.Join(repoRoot, "exec/word_count/map.py")); got != want {
		t.Errorf("outputs differ from awk 1 input/* | map.py:\n%s", diffSummary(want, got))
	}
}
