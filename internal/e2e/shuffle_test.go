package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"mapreduce/internal/testutil"
)

// TestShuffleWordCount: workers started with --shuffle keep the map
// outputs in their own local directories and the reducers fetch them;
// word count comes out as the truth pipeline's, with a combiner too. Then
// a worker that holds runs is killed with -9 once the map stage is over,
// while the reducers wait at a gate, and a fresh worker joins: the lost
// runs are made again and the output is still right.
func TestShuffleWordCount(t *testing.T) {
	c := newCluster(t)
	for range 3 {
		c.startWorkerWith([]string{"--shuffle"})
	}
	for _, j := range []job{
		{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 6, reducers: 3},
		{input: "input", mapper: "exec/word_count/map.sh", reducer: "exec/word_count/reduce.sh", combiner: "exec/word_count/reduce.sh", mappers: 4, reducers: 2},
	} {
		id, out := c.submit(j)
		c.waitDone(j, id, out)
		if !c.logged(c.master, "map tasks planned", `"shuffle":true`) {
			t.Fatalf("job %d did not run the shuffle", id)
		}
	}

	// The identity job: the outputs, read in partition order, are the
	// input sorted, as `LC_ALL=C sort` sorts it (the input's lines hold
	// no byte below a tab, where the two orders could differ).
	ident := job{input: "input", mapper: "/bin/cat", reducer: "/bin/cat", mappers: 5, reducers: 4}
	id, out := c.submit(ident)
	c.waitDone(ident, id, out)
	var got []byte
	for i := range ident.reducers {
		data, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("input_%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, data...)
	}
	sorted := exec.Command("bash", "-c", "cat "+c.repoPath("input")+"/* | LC_ALL=C sort")
	want, err := sorted.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the identity job's outputs in partition order are not its input sorted (%d bytes, want %d)", len(got), len(want))
	}

	gate := filepath.Join(t.TempDir(), "gate")
	reducer := filepath.Join(t.TempDir(), "reduce.sh")
	script := "#!/bin/sh\nwhile [ ! -e " + gate + " ]; do sleep 0.02; done\nexec " + c.repoPath("exec/word_count/reduce.py") + "\n"
	if err := os.WriteFile(reducer, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	j := job{input: "input", mapper: "exec/word_count/map.py", reducer: reducer, mappers: 6, reducers: 3}
	id, out = c.submit(j)
	c.waitLog(c.master, "reducers' key ranges chosen", fmt.Sprintf(`"job":%d,`, id))
	victim := c.workers[0]
	victim.kill()
	c.startWorkerWith([]string{"--shuffle"})
	testutil.WaitFor(t, 30*time.Second, "the victim's runs to be made again", func() bool {
		return c.logged(c.master, "run lost: the map task runs again")
	})
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	j.reducer = "exec/word_count/reduce.py" // the truth pipeline's, which the gated one runs
	c.waitDone(j, id, out)
}
