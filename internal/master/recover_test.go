package master_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/journal"
	"mapreduce/internal/master"
	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// keep writes records into the journal of var directory dir, as a master
// that crashed would have left them.
func keep(t *testing.T, dir string, records ...journal.Record) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{".mapreduce-var": ""})
	j, _, err := journal.Open(filepath.Join(dir, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.Append(records); err != nil {
		t.Fatal(err)
	}
}

// TestInterruptedCommitIsFinished: a master that crashed between renaming
// some of a job's outputs into place and its end leaves the rest of the
// commit to the next one, which finishes it and counts the job done; an
// output that is nowhere fails the job.
func TestInterruptedCommitIsFinished(t *testing.T) {
	for _, tt := range []struct {
		name         string
		inTemp       []string
		inDest       []string
		state, error string
		// left is what the output directory holds after a failure.
		left []string
	}{
		{name: "half renamed", inTemp: []string{"input_1"}, inDest: []string{"input_0"}, state: protocol.JobDone},
		{name: "all renamed", inDest: []string{"input_0", "input_1"}, state: protocol.JobDone},
		{name: "none renamed", inTemp: []string{"input_0", "input_1"}, state: protocol.JobDone},
		{name: "an output lost: the commit is undone", inDest: []string{"input_0"}, state: protocol.JobFailed,
			error: "output input_1 is in neither"},
		{name: "a name taken since: not overwritten, and the commit is undone", inTemp: []string{"input_1"}, inDest: []string{"input_0", "input_1"},
			state: protocol.JobFailed, error: "input_1 already exists", left: []string{"input_1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			varDir := filepath.Join(t.TempDir(), "var")
			out := filepath.Join(t.TempDir(), "out")
			temp := filepath.Join(out, "_temporary-0")
			for _, name := range tt.inTemp {
				writeFiles(t, temp, map[string]string{name: name + "\n"})
			}
			for _, name := range tt.inDest {
				writeFiles(t, out, map[string]string{name: name + "\n"})
			}
			spec := protocol.NewMasterJob{InputDirectory: "/in", OutputDirectory: out, MapperExecutable: "/m", ReducerExecutable: "/r", NumMappers: 1, NumReducers: 2}
			keep(t, varDir,
				journal.Record{Accepted: &journal.Accepted{Job: 0, Spec: spec, Submitted: time.Now()}},
				journal.Record{Commit: &journal.Commit{Job: 0, Temp: temp, Dest: out, Names: []string{"input_0", "input_1"},
					Info: protocol.JobInfo{ID: 0, State: protocol.JobReducing, OutputDirectory: out}}})
			c := startMaster(t, func(cfg *master.Config) { cfg.Scheduler.VarDir = varDir })
			job := c.waitEnded(0)
			if job.State != tt.state || tt.error != "" && !strings.Contains(strings.Join(job.Errors, "; "), tt.error) {
				t.Fatalf("job %s %v, want %s with %q", job.State, job.Errors, tt.state, tt.error)
			}
			if tt.state != protocol.JobDone {
				if got := testutil.ListDir(t, out); !slices.Equal(got, tt.left) {
					t.Errorf("after the failed commit the output directory holds %v, want %v", got, tt.left)
				}
				return
			}
			if got, want := testutil.ListDir(t, out), []string{"_SUCCESS", "input_0", "input_1"}; !slices.Equal(got, want) {
				t.Errorf("output directory holds %v, want %v", got, want)
			}
			// The next job gets the next id.
			if id := c.submit(testJob(t, words, 1, 1)); id != 1 {
				t.Errorf("next job got id %d, want 1", id)
			}
		})
	}
}

// TestJobsSurviveARestart: a master stopped while one job is queued and
// after another ended hands both to the next master on its var, with the
// same ids; ids go on from them; --fresh forgets them, but not the ids.
func TestJobsSurviveARestart(t *testing.T) {
	varDir := filepath.Join(t.TempDir(), "var")
	tune := func(cfg *master.Config) { cfg.Scheduler.VarDir = varDir }
	c := startMaster(t, tune)
	spec := testJob(t, words, 2, 2)
	progs := programs{spec.MapperExecutable: wordCountMap, spec.ReducerExecutable: wordCountReduce}
	w := c.join(101)
	w.serve(progs)
	if id := c.submit(spec); id != 0 {
		t.Fatalf("first job got id %d", id)
	}
	if job := c.waitEnded(0); job.State != protocol.JobDone {
		t.Fatalf("job 0 %s: %v", job.State, job.Errors)
	}
	c.srv.Stop()
	c.srv.Wait()

	// A master with no worker: job 1 stays queued across the next restart.
	c = startMaster(t, tune)
	if job := c.cluster().Jobs; len(job) != 1 || job[0].State != protocol.JobDone || len(job[0].Tasks) != 5 {
		t.Fatalf("after a restart, jobs %+v, want job 0 done with its tasks", job)
	}
	queued := testJob(t, words, 1, 1)
	if id := c.submit(queued); id != 1 {
		t.Fatalf("job after a restart got id %d, want 1", id)
	}
	c.srv.Stop()
	c.srv.Wait()

	c = startMaster(t, tune)
	st := c.cluster()
	if len(st.Jobs) != 2 || st.Jobs[1].State != protocol.JobQueued {
		t.Fatalf("after a second restart, jobs %+v, want job 1 queued", st.Jobs)
	}
	w = c.join(102)
	w.serve(programs{queued.MapperExecutable: wordCountMap, queued.ReducerExecutable: wordCountReduce})
	if job := c.waitEnded(1); job.State != protocol.JobDone {
		t.Fatalf("job 1 %s: %v", job.State, job.Errors)
	}
	c.srv.Stop()
	c.srv.Wait()

	c = startMaster(t, func(cfg *master.Config) { tune(cfg); cfg.Fresh = true })
	if jobs := c.cluster().Jobs; len(jobs) != 0 {
		t.Fatalf("--fresh kept jobs %+v", jobs)
	}
	if id := c.submit(testJob(t, words, 1, 1)); id != 2 {
		t.Errorf("first job after --fresh got id %d, want 2: ids never repeat for a var", id)
	}
}

// TestSecondMasterOnTheVarIsRefused: a second master on a var that a
// master uses is refused, naming the pid that holds it, and touches
// nothing in it.
func TestSecondMasterOnTheVarIsRefused(t *testing.T) {
	varDir := filepath.Join(t.TempDir(), "var")
	c := startMaster(t, func(cfg *master.Config) { cfg.Scheduler.VarDir = varDir })
	c.submit(testJob(t, words, 1, 1))
	before := testutil.ListDir(t, varDir)
	cfg := master.DefaultConfig(masterPort + 10)
	cfg.Transport = protocol.NewInmem()
	cfg.Scheduler.VarDir = varDir
	cfg.Fresh = true
	_, err := master.Start(cfg, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "in use by master pid") {
		t.Fatalf("second master: %v, want refused", err)
	}
	if after := testutil.ListDir(t, varDir); !slices.Equal(before, after) {
		t.Errorf("var held %v, and %v after the refusal", before, after)
	}
}

// TestCrashDuringMoveLeavesNoTrace: a master that crashed while it moved a
// job's outputs into the commit directory (before the commit) leaves them
// there; the next one empties it, and the job, run again, commits.
func TestCrashDuringMoveLeavesNoTrace(t *testing.T) {
	varDir := filepath.Join(t.TempDir(), "var")
	spec := testJob(t, words, 2, 2)
	temp := filepath.Join(spec.OutputDirectory, "_temporary-0")
	writeFiles(t, temp, map[string]string{"input_0": "half\n"})
	keep(t, varDir, journal.Record{Accepted: &journal.Accepted{Job: 0, Spec: spec, Submitted: time.Now()}})
	c := startMaster(t, func(cfg *master.Config) { cfg.Scheduler.VarDir = varDir })
	c.join(101).serve(programs{spec.MapperExecutable: wordCountMap, spec.ReducerExecutable: wordCountReduce})
	if job := c.waitEnded(0); job.State != protocol.JobDone {
		t.Fatalf("job 0 %s: %v", job.State, job.Errors)
	}
	if got, want := testutil.ListDir(t, spec.OutputDirectory), []string{"_SUCCESS", "input_0", "input_1"}; !slices.Equal(got, want) {
		t.Errorf("output directory holds %v, want %v", got, want)
	}
}
