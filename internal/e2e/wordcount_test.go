package e2e

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
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
// cluster, and checks each output against the truth pipeline, and that
// each job's directory under var/ is removed once it is done.
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
		jobDir := filepath.Join(c.dir, "var", fmt.Sprintf("job-%d", s.id))
		testutil.WaitFor(t, 5*time.Second, jobDir+" to be removed", func() bool {
			_, err := os.Stat(jobDir)
			return os.IsNotExist(err)
		})
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
	c.startReferenceWorker()
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

// TestCombiner runs word count with its reducer as combiner, wrapped so
// that each run of it leaves a mark. Word count's output is the same with
// or without a combiner, so besides the output it checks from the master's
// record and the marks that the combine stage really ran: one combine task
// per map task, each finished, each attempt a run of the combiner on the
// worker the record names, and the reducers' inputs made of the
// combiners' output.
func TestCombiner(t *testing.T) {
	for _, shuffle := range []bool{false, true} {
		t.Run(map[bool]string{false: "reference path", true: "shuffle"}[shuffle], func(t *testing.T) {
			// The reducers' inputs are looked at once each job is done.
			c := newCluster(t, "--keep-intermediates")
			flags := []string{fmt.Sprintf("--shuffle=%t", shuffle)}
			c.startWorkerWith(flags)
			c.startWorkerWith(flags)
			scratch := t.TempDir()
			for _, p := range programs[:2] {
				marks := filepath.Join(scratch, p.name+"-marks")
				combiner := stagedProgram(t, scratch, p.name+"-combine", c.repoPath(p.reducer), "", marks)
				j := job{input: "input", mapper: p.mapper, reducer: p.reducer, combiner: combiner, mappers: 4, reducers: 3}
				id, out := c.submit(j)
				info := c.waitDone(j, id, out)
				if shuffle {
					c.checkCombinedInMaps(p.name, j, info, readMarks(t, marks))
				} else {
					c.checkCombined(p.name, j, info, readMarks(t, marks))
				}
			}
		})
	}
}

// checkCombinedInMaps checks that job j, which ran the shuffle and has
// ended as info, ran its combiner once in each map attempt, and that the
// reducers read what the combiner runs wrote.
func (c *cluster) checkCombinedInMaps(name string, j job, info protocol.JobInfo, runs []mark) {
	c.t.Helper()
	attempts := map[int]int{} // map attempts by worker pid
	for _, task := range info.Tasks {
		if task.Phase == "combine" || task.Phase == "sort" {
			c.t.Errorf("%s: a %s task in a job that ran the shuffle: %+v", name, task.Phase, task)
		}
		if task.Phase != "map" {
			continue
		}
		for _, a := range task.Attempts {
			attempts[a.WorkerPID]++
		}
	}
	ran := map[int]int{} // combiner runs by worker pid
	combined := 0        // lines the combiner runs wrote
	for _, m := range runs {
		ran[m.worker]++
		combined += m.total
	}
	if !maps.Equal(ran, attempts) {
		c.t.Errorf("%s: combiner runs by worker %v, map attempts by worker in the master's record %v", name, ran, attempts)
	}
	if got := info.Counters[protocol.CounterGroup]["reduce_input_records"]; got != int64(combined) {
		c.t.Errorf("%s: the reducers read %d lines, the combiner runs wrote %d", name, got, combined)
	}
}

// checkCombined checks that job j, which has ended as info, ran its
// combiner once for each attempt of each combine task, one task per map
// task, and that the reducers' inputs are what the combiner runs wrote.
// runs are the marks the combiner, a stagedProgram, left.
func (c *cluster) checkCombined(name string, j job, info protocol.JobInfo, runs []mark) {
	c.t.Helper()
	i := slices.IndexFunc(info.Phases, func(ph protocol.PhaseInfo) bool { return ph.Name == "combine" })
	if i < 0 {
		c.t.Errorf("%s: job %d has no combine phase: %+v", name, info.ID, info.Phases)
		return
	}
	if ph := info.Phases[i]; ph.Total != j.mappers || ph.Done != j.mappers {
		c.t.Errorf("%s: combine phase %d/%d, want %d/%d (one per map task)", name, ph.Done, ph.Total, j.mappers, j.mappers)
	}
	attempts := map[int]int{} // combine attempts by worker pid
	tasks := 0
	for _, task := range info.Tasks {
		if task.Phase != "combine" {
			continue
		}
		tasks++
		if n := len(task.Attempts); task.State != "done" || n == 0 || task.Attempts[n-1].Outcome != "finished" {
			c.t.Errorf("%s: combine task %d is %s with attempts %+v, want done, last attempt finished", name, task.Index, task.State, task.Attempts)
		}
		for _, a := range task.Attempts {
			attempts[a.WorkerPID]++
		}
	}
	if tasks != j.mappers {
		c.t.Errorf("%s: %d combine tasks in the record, want %d", name, tasks, j.mappers)
	}
	ran := map[int]int{} // combiner runs by worker pid
	combined := 0        // lines the combiner runs wrote
	for _, m := range runs {
		ran[m.worker]++
		combined += m.total
	}
	if !maps.Equal(ran, attempts) {
		c.t.Errorf("%s: combiner runs by worker %v, combine attempts by worker in the master's record %v", name, ran, attempts)
	}
	inputs, err := filepath.Glob(filepath.Join(c.dir, "var", fmt.Sprintf("job-%d", info.ID), "grouper-output", "input_*"))
	if err != nil {
		c.t.Fatal(err)
	}
	if len(inputs) != j.reducers {
		c.t.Errorf("%s: reducer inputs %q, want %d", name, inputs, j.reducers)
	}
	lines := 0
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			c.t.Fatal(err)
		}
		lines += bytes.Count(data, []byte("\n"))
	}
	if lines != combined {
		c.t.Errorf("%s: the reducers' inputs hold %d lines, the combiner runs wrote %d: the merge did not take the combiner's output", name, lines, combined)
	}
}
