package e2e

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mapreduce/protocol"
)

// TestReferenceCopiesWriteApart: a reference-only worker writes its output
// in place, at the path it is sent, and cannot be told to stop. When its
// task times out and a copy runs on another worker, the two must not write
// the same file: the first finishes after all and its output serves, and
// the copy, still running, would truncate and overwrite it under the next
// stage (or the commit). The mapper (chaosMapper) emits its records in a
// new order each run, half at once and half 3 s later. Before the copies
// wrote apart, the job ended done with NUL bytes and broken records in its
// output.
func TestReferenceCopiesWriteApart(t *testing.T) {
	for _, mapOnly := range []bool{false, true} {
		name := "map and reduce"
		if mapOnly {
			name = "map-only"
		}
		t.Run(name, func(t *testing.T) {
			c := newCluster(t, "--task-timeout", "1s", "--max-attempts", "4")
			c.startReferenceWorker("CHAOS_MAP_SLEEP=3")
			c.startReferenceWorker("CHAOS_MAP_SLEEP=3")
			mapper := filepath.Join(t.TempDir(), "shuffled_map.py")
			if err := os.WriteFile(mapper, []byte(chaosMapper), 0o755); err != nil {
				t.Fatal(err)
			}
			input := chaosInput(t, 1, rand.New(rand.NewPCG(7, 7)))
			j := job{input: input, mapper: mapper, reducer: "exec/word_count/reduce.py", mappers: 1, reducers: 1}
			if mapOnly {
				j.reducer, j.reducers = "", 0
			}
			id, out := c.submit(j)
			if mapOnly {
				if info := c.waitJob(id, 60*time.Second); info.State != protocol.JobDone {
					t.Fatalf("job ended %s: %v", info.State, info.Errors)
				}
				_, got := mapOnlyOutputs(t, out)
				if want := sortedLines(mapOnlyTruth(t, input, c.repoPath("exec/word_count/map.py"))); sortedLines(got) != want {
					t.Errorf("outputs, sorted, differ from map.py's:\n%s", diffSummary(want, sortedLines(got)))
				}
			} else {
				c.waitDone(j, id, out)
			}
			// The test means something only if a copy ran beside the first.
			for _, task := range c.jobInfo(id).Tasks {
				if task.Phase == protocol.PhaseMap && len(task.Attempts) < 2 {
					t.Fatalf("the map task ran %d times, want a copy beside the first (the timeout did not fire)", len(task.Attempts))
				}
			}
		})
	}
}

// sortedLines is text's lines, sorted.
func sortedLines(text string) string {
	lines := strings.SplitAfter(text, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "")
}
