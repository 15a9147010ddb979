package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mapreduce/protocol"
)

// splitInputs are input directories of the shapes that splits must read
// right: each maps a file name to its text.
func splitInputs() map[string]map[string]string {
	rng := rand.New(rand.NewPCG(13, 13))
	words := strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa café naïve the a of")
	text := func(lines int, eol string) string {
		var b strings.Builder
		for range lines {
			for i := range 1 + rng.IntN(10) {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(words[rng.IntN(len(words))])
			}
			b.WriteString(eol)
		}
		return b.String()
	}
	small := map[string]string{}
	for i := range 300 {
		small[fmt.Sprintf("log-%03d.txt", i)] = text(5+rng.IntN(10), "\n")
	}
	long := strings.Repeat("the ", 60000) // 240 KB on one line, longer than a split
	return map[string]map[string]string{
		"many small files": small,
		"one large file":   {"big.txt": text(8000, "\n")},
		"odd files": {
			"a-no-final-newline.txt": strings.TrimSuffix(text(40, "\n"), "\n"),
			"b-empty.txt":            "",
			"c-crlf.txt":             text(300, "\r\n"),
			"d-one-long-line.txt":    long + "end\n",
			"e-empty.txt":            "",
			"f-no-final-newline.txt": "the last line without newline",
			"g-blank-lines.txt":      "\n\n" + text(30, "\n") + "\n\n",
		},
	}
}

// TestSplits runs word count and grep over inputs of every shape, cut
// into splits, and compares each output with the truth pipeline, in which
// a file without a final newline gets one (a record never spans two
// files): `awk 1 input/* | map | sort | reduce`. It checks from the
// master's record that the job ran num_mappers map tasks whatever the
// number of files.
func TestSplits(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	c.startWorker()
	for name, files := range splitInputs() {
		in := filepath.Join(t.TempDir(), "in")
		writeFiles(t, in, files)
		for _, p := range programs {
			j := job{input: in, mapper: p.mapper, reducer: p.reducer, mappers: 5, reducers: 3}
			id, out := c.submit(j)
			info := c.waitJob(id, 60*time.Second)
			if info.State != protocol.JobDone {
				t.Fatalf("%s, %s: job ended %s: %v", name, p.name, info.State, info.Errors)
			}
			want := truthPerFile(t, in, c.repoPath(p.mapper), c.repoPath(p.reducer))
			if got := sortedOutput(t, out); got != want {
				t.Errorf("%s, %s: output differs from the truth pipeline: %s", name, p.name, diffSummary(want, got))
			}
			if ph := info.Phases[0]; ph.Name != "map" || ph.Total != j.mappers {
				t.Errorf("%s, %s: phase %s has %d tasks, want %d splits", name, p.name, ph.Name, ph.Total, j.mappers)
			}
		}
	}
}

// TestReferenceWorkerGetsWholeFiles: on a cluster of reference-only
// workers the map tasks are whole files in the reference new_worker_job,
// and the odd inputs come out right too.
func TestReferenceWorkerGetsWholeFiles(t *testing.T) {
	c := newCluster(t)
	c.startReferenceWorker()
	files := splitInputs()["odd files"]
	in := filepath.Join(t.TempDir(), "in")
	writeFiles(t, in, files)
	p := programs[0]
	j := job{input: in, mapper: p.mapper, reducer: p.reducer, mappers: 3, reducers: 2}
	id, out := c.submit(j)
	info := c.waitJob(id, 60*time.Second)
	if info.State != protocol.JobDone {
		t.Fatalf("job ended %s: %v", info.State, info.Errors)
	}
	if got, want := sortedOutput(t, out), truthPerFile(t, in, c.repoPath(p.mapper), c.repoPath(p.reducer)); got != want {
		t.Errorf("output differs from the truth pipeline: %s", diffSummary(want, got))
	}
	if !c.logged(c.master, "map tasks planned", `"splits":false`) {
		t.Error("the master planned splits for a reference-only worker")
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// truthPerFile runs `awk 1 input/* | map | sort | reduce`: as `cat`, with
// a newline after a file's last line where it lacks one.
func truthPerFile(t *testing.T, input, mapper, reducer string) string {
	t.Helper()
	return pipeline(t, "LC_ALL=C awk 1", input, mapper, reducer)
}
