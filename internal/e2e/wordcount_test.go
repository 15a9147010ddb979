package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// threeFiles makes an input directory with fewer files than most tests'
// mappers.
func threeFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	texts := []string{
		"the cat sat on the mat\nthe end\n",
		"a b c\n\n  spaced   out  \nnaïve café the\n",
		"no trailing newline the",
	}
	for i, text := range texts {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%d", i)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var programs = []struct{ name, mapper, reducer string }{
	{"python", "exec/word_count/map.py", "exec/word_count/reduce.py"},
	{"bash", "exec/word_count/map.sh", "exec/word_count/reduce.sh"},
	{"grep", "exec/grep/map.py", "exec/grep/reduce.py"},
}

var shapes = []struct{ mappers, reducers int }{{1, 1}, {4, 2}, {5, 3}}

// TestWordCount runs every sample program in every shape, over input with
// more and with fewer files than mappers, all queued back to back on one
// cluster, and checks each output against the truth pipeline.
func TestWordCount(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	c.startWorker()
	inputs := []string{"input", threeFiles(t)}
	type submitted struct {
		j   job
		id  int
		out string
	}
	var jobs []submitted
	for _, in := range inputs {
		for _, p := range programs {
			for _, s := range shapes {
				j := job{input: in, mapper: p.mapper, reducer: p.reducer, mappers: s.mappers, reducers: s.reducers}
				id, out := c.submit(j)
				jobs = append(jobs, submitted{j, id, out})
			}
		}
	}
	for i, s := range jobs {
		if s.id != i {
			t.Errorf("job %d got id %d; ids count from 0", i, s.id)
		}
	}
	for _, s := range jobs {
		c.waitDone(s.j, s.id, s.out)
		for _, d := range []string{"mapper-output", "grouper-output", "reducer-output"} {
			if _, err := os.Stat(filepath.Join(c.dir, "var", fmt.Sprintf("job-%d", s.id), d)); err != nil {
				t.Errorf("job directory: %v", err)
			}
		}
	}
}

// TestJobBeforeWorkers sends a job to a master with no workers; it runs once
// workers register.
func TestJobBeforeWorkers(t *testing.T) {
	c := newCluster(t)
	j := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 3, reducers: 2}
	id, out := c.submit(j)
	if got := c.status().Jobs[0].State; got != "queued" {
		t.Fatalf("job with no workers is %s, want queued", got)
	}
	c.startWorker()
	c.startWorker()
	c.waitDone(j, id, out)
}

// TestShutdown checks that shutdown ends the master and every worker.
func TestShutdown(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	c.startWorker()
	c.startSeedWorker()
	sendjob := c.start("sendjob", filepath.Join(binDir, "sendjob"), "--shutdown", fmt.Sprint(c.port))
	for _, p := range append([]*proc{sendjob, c.master}, c.workers...) {
		select {
		case <-p.done:
			if p.err != nil {
				t.Errorf("%s exited with %v", p.name, p.err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s still running 10 s after shutdown", p.name)
		}
	}
}

// TestCombiner runs word count with its reducer as combiner: one combine
// task per map task, and the same output as the truth pipeline.
func TestCombiner(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	c.startWorker()
	for _, p := range programs[:2] {
		j := job{input: "input", mapper: p.mapper, reducer: p.reducer, combiner: p.reducer, mappers: 4, reducers: 3}
		id, out := c.submit(j)
		info := c.waitDone(j, id, out)
		for _, ph := range info.Phases {
			if ph.Name == "combine" && (ph.Total != 4 || ph.Done != 4) {
				t.Errorf("%s: combine phase %d/%d, want 4/4 (one per map task)", p.name, ph.Done, ph.Total)
			}
		}
	}
}
