package master_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/master"
	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// What a job leaves on disk: its directory of intermediates removed when
// it ends, its outputs committed whole or not at all, output directories
// that cannot take a job's outputs refused, and a var directory wiped only
// if a master made it.

// waitEnded waits for job id to end and returns its record.
func (c *cluster) waitEnded(id int) protocol.JobInfo {
	c.t.Helper()
	var job protocol.JobInfo
	testutil.WaitFor(c.t, 5*time.Second, fmt.Sprintf("job %d to end", id), func() bool {
		job = c.job(id)
		return job.State == protocol.JobDone || job.State == protocol.JobFailed || job.State == protocol.JobCancelled
	})
	return job
}

func (c *cluster) jobDir(id int) string { return filepath.Join(c.varDir, fmt.Sprintf("job-%d", id)) }

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// stop shuts the master down and waits until it has removed what it was
// removing.
func (c *cluster) stop() {
	c.srv.Shutdown()
	c.srv.Wait()
}

// serveWith runs every task the master sends w as serve does, but first
// passes each message to before, which may change the world or report the
// task itself (it returns false then).
func (w *fakeWorker) serveWith(progs programs, before func(msg protocol.Message) bool) {
	go func() {
		for {
			select {
			case msg := <-w.msgs:
				if !before(msg) {
					continue
				}
				if status, ok := w.run(msg, progs); ok {
					w.report(status)
				}
			case <-w.done:
				return
			}
		}
	}()
}

func isReduce(msg protocol.Message, spec protocol.NewMasterJob) (protocol.NewWorkerJob, bool) {
	m, ok := msg.(protocol.NewWorkerJob)
	return m, ok && m.Executable == spec.ReducerExecutable
}

var words = map[string]string{"a.txt": "the cat\nthe dog\n", "b.txt": "a dog\n", "c.txt": "cat cat bird\n"}

func TestJobDirRemovedWhenJobEnds(t *testing.T) {
	t.Run("done", func(t *testing.T) {
		c := startMaster(t, nil)
		spec := testJob(t, words, 2, 2)
		progs := programs{spec.MapperExecutable: wordCountMap, spec.ReducerExecutable: wordCountReduce}
		c.join(101).serve(progs)
		id := c.submit(spec)
		if job := c.waitEnded(id); job.State != protocol.JobDone {
			t.Fatalf("job %s: %v", job.State, job.Errors)
		}
		testutil.WaitFor(t, 2*time.Second, "var/job-0 to be removed", func() bool { return !exists(c.jobDir(id)) })
		if got := testutil.ListDir(t, c.varDir); !slices.Equal(got, freshVar) {
			t.Errorf("var directory holds %v after the job, want only its marker", got)
		}
	})

	t.Run("failed", func(t *testing.T) {
		c := startMaster(t, nil)
		spec := testJob(t, words, 2, 2)
		w := c.join(101)
		id := c.submit(spec)
		task := w.nextWorkerJob()
		w.report(protocol.Status{Status: protocol.StatusFailed, Failure: protocol.Failure{Error: "mapper exited 1"},
			OutputFiles: []string{filepath.Join(task.OutputDirectory, filepath.Base(task.InputFiles[0]))}})
		if job := c.waitEnded(id); job.State != protocol.JobFailed {
			t.Fatalf("job %s, want failed", job.State)
		}
		testutil.WaitFor(t, 2*time.Second, "var/job-0 to be removed", func() bool { return !exists(c.jobDir(id)) })
	})

	t.Run("cancelled while a program runs", func(t *testing.T) {
		c := startMaster(t, nil)
		spec := testJob(t, words, 2, 2)
		w := c.join(101)
		id := c.submit(spec)
		task := w.nextWorkerJob() // the first map task; the second waits for it
		if answer := c.request(protocol.CancelJob{JobID: id}); answer.Type() != protocol.TypeJobStatusReply {
			t.Fatalf("cancel_job answered %#v", answer)
		}
		testutil.WaitFor(t, 2*time.Second, "var/job-0 to be removed", func() bool { return !exists(c.jobDir(id)) })
		// The program, not yet killed, writes its output: it cannot, and
		// its status changes nothing.
		out := filepath.Join(task.OutputDirectory, filepath.Base(task.InputFiles[0]))
		if err := os.WriteFile(out, []byte("late\n"), 0o644); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a late program wrote its output into the removed job directory: %v", err)
		}
		w.report(protocol.Status{Status: protocol.StatusFinished, OutputFiles: []string{out}})
		w.report(protocol.Status{Status: protocol.StatusFailed, Failure: protocol.Failure{Error: "open: no such file or directory"}, OutputFiles: []string{out}})
		if job := c.job(id); job.State != protocol.JobCancelled {
			t.Errorf("job %s after its late statuses, want cancelled", job.State)
		}
		if exists(c.jobDir(id)) {
			t.Errorf("var/job-0 is back")
		}
	})

	t.Run("cancelled while queued", func(t *testing.T) {
		c := startMaster(t, nil) // no worker: the job stays queued
		id := c.submit(testJob(t, words, 1, 1))
		if !isDir(c.jobDir(id)) {
			t.Fatalf("var/job-0 was not made")
		}
		c.request(protocol.CancelJob{JobID: id})
		testutil.WaitFor(t, 2*time.Second, "var/job-0 to be removed", func() bool { return !exists(c.jobDir(id)) })
	})

	t.Run("kept with --keep-intermediates", func(t *testing.T) {
		c := startMaster(t, func(cfg *master.Config) { cfg.Scheduler.KeepIntermediates = true })
		cancelled := c.submit(testJob(t, words, 1, 1)) // no worker yet: queued
		c.request(protocol.CancelJob{JobID: cancelled})
		if job := c.waitEnded(cancelled); job.State != protocol.JobCancelled {
			t.Fatalf("job %s, want cancelled", job.State)
		}
		spec := testJob(t, words, 2, 2)
		progs := programs{spec.MapperExecutable: wordCountMap, spec.ReducerExecutable: wordCountReduce}
		c.join(101).serve(progs)
		done := c.submit(spec)
		if job := c.waitEnded(done); job.State != protocol.JobDone {
			t.Fatalf("job %s: %v", job.State, job.Errors)
		}
		c.stop() // what it removes is removed once it returns
		for _, id := range []int{done, cancelled} {
			if !isDir(filepath.Join(c.jobDir(id), "mapper-output")) {
				t.Errorf("job %d's directory was removed with --keep-intermediates", id)
			}
		}
	})
}

func TestOutputsCommittedWhole(t *testing.T) {
	t.Run("the output directory holds the outputs and _SUCCESS", func(t *testing.T) {
		c := startMaster(t, nil)
		spec := testJob(t, words, 2, 3)
		if err := os.Mkdir(spec.OutputDirectory, 0o755); err != nil { // an empty one is fine
			t.Fatal(err)
		}
		progs := programs{spec.MapperExecutable: wordCountMap, spec.ReducerExecutable: wordCountReduce}
		c.join(101).serve(progs)
		c.join(102).serve(progs)
		if job := c.waitEnded(c.submit(spec)); job.State != protocol.JobDone {
			t.Fatalf("job %s: %v", job.State, job.Errors)
		}
		want := []string{"_SUCCESS", "input_0", "input_1", "input_2"}
		if got := testutil.ListDir(t, spec.OutputDirectory); !slices.Equal(got, want) {
			t.Errorf("output directory holds %v, want exactly %v", got, want)
		}
		if data, err := os.ReadFile(filepath.Join(spec.OutputDirectory, "_SUCCESS")); err != nil || len(data) != 0 {
			t.Errorf("_SUCCESS: %q, %v; want an empty file", data, err)
		}
	})

	// Each case makes the commit fail at a different point; the output
	// directory is left as it was found, obstacle included.
	const notTheJobs = "not the job's\n"
	tests := []struct {
		name string
		// obstacle is put into the output directory once the job runs,
		// as another program might; nil for none.
		obstacle func(out string) error
		// dropReduce1: the worker reports reduce task 1 finished but its
		// output is gone.
		dropReduce1 bool
		want        []string // in the job's error
		left        []string // the output directory afterwards
	}{
		{"a reducer output is missing: the move fails after moving one", nil, true,
			[]string{"move outputs", "input_1", "no such file or directory"}, nil},
		{"an output's name is taken: the commit fails before any rename", func(out string) error {
			return os.WriteFile(filepath.Join(out, "input_1"), []byte(notTheJobs), 0o644)
		}, false, []string{"commit outputs", "input_1 already exists"}, []string{"input_1"}},
		{"the marker cannot be written: the commit fails after every rename", func(out string) error {
			return os.Mkdir(filepath.Join(out, "_SUCCESS"), 0o755)
		}, false, []string{"commit outputs", "_SUCCESS"}, []string{"_SUCCESS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startMaster(t, nil)
			spec := testJob(t, words, 2, 2)
			progs := programs{spec.MapperExecutable: wordCountMap, spec.ReducerExecutable: wordCountReduce}
			placed := false
			w := c.join(101)
			w.serveWith(progs, func(msg protocol.Message) bool {
				if _, ok := msg.(protocol.NewWorkerJob); ok && !placed && tt.obstacle != nil {
					// The job has started; its output directory is made
					// when its first output goes into it.
					placed = true
					if err := os.MkdirAll(spec.OutputDirectory, 0o755); err != nil {
						t.Error(err)
					}
					if err := tt.obstacle(spec.OutputDirectory); err != nil {
						t.Error(err)
					}
				}
				m, ok := isReduce(msg, spec)
				if !ok || !tt.dropReduce1 || filepath.Base(m.InputFiles[0]) != "input_1" {
					return true
				}
				// Reduce task 1's output vanishes once written: the
				// report names a file the move cannot find.
				status, ok := w.run(msg, progs)
				if ok {
					if err := os.Remove(status.OutputFiles[0]); err != nil {
						t.Error(err)
					}
					w.report(status)
				}
				return false
			})
			id := c.submit(spec)
			job := c.waitEnded(id)
			if job.State != protocol.JobFailed {
				t.Fatalf("job %s, want failed", job.State)
			}
			for _, want := range tt.want {
				if !strings.Contains(strings.Join(job.Errors, "\n"), want) {
					t.Errorf("job errors %q do not say %q", job.Errors, want)
				}
			}
			c.stop() // the moved outputs are discarded once it returns
			if got := listIfAny(t, spec.OutputDirectory); !slices.Equal(got, tt.left) {
				t.Errorf("output directory holds %v, want %v as it was found", got, tt.left)
			}
			if data, err := os.ReadFile(filepath.Join(spec.OutputDirectory, "input_1")); err == nil && string(data) != notTheJobs {
				t.Errorf("input_1 in the output directory holds %q, want the file that was in the way, untouched", data)
			}
		})
	}
}

func TestOutputDirectoryRefused(t *testing.T) {
	c := startMaster(t, nil)
	spec := testJob(t, words, 1, 1)
	base := filepath.Dir(spec.InputDirectory)
	full := filepath.Join(base, "full")
	writeFiles(t, full, map[string]string{"part-0": "an earlier job's\n", "_SUCCESS": ""})
	many := filepath.Join(base, "many")
	writeFiles(t, many, map[string]string{"a": "", "b": "", "c": "", "d": ""})
	plain := filepath.Join(base, "plain")
	writeFiles(t, base, map[string]string{"plain": "x\n"})
	linkToInput := filepath.Join(base, "link-to-input")
	if err := os.Symlink(spec.InputDirectory, linkToInput); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(base, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	// The master's probe that it may write, as a job starting into the
	// directory leaves for a moment, is not an output.
	tests := []struct {
		name, out string
		want      []string // in the error; nil: accepted
	}{
		{"the input directory", spec.InputDirectory, []string{"bad job", "is the input directory"}},
		{"inside the input directory", filepath.Join(spec.InputDirectory, "out"), []string{"is inside input_directory " + spec.InputDirectory}},
		{"the input directory through a link", linkToInput, []string{"is the input directory"}},
		{"inside the var directory", filepath.Join(c.varDir, "out"), []string{"inside the master's var directory"}},
		{"an earlier job's", full, []string{full + " is not empty", "_SUCCESS", "part-0"}},
		{"not empty, many names", many, []string{"a, b, c, … 4 in all"}},
		{"a file", plain, []string{plain + " exists and is not a directory"}},
		{"empty", empty, nil},
		{"new", filepath.Join(base, "new", "out"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := c.with(t)
			job := spec
			job.OutputDirectory = tt.out
			answer := c.request(job)
			if tt.want == nil {
				if _, ok := answer.(protocol.JobAccepted); !ok {
					t.Errorf("job into %s answered %#v, want job_accepted", tt.out, answer)
				}
				return
			}
			e, ok := answer.(protocol.Error)
			if !ok {
				t.Fatalf("job into %s answered %#v, want an error", tt.out, answer)
			}
			for _, want := range tt.want {
				if !strings.Contains(e.Error, want) {
					t.Errorf("error %q does not say %q", e.Error, want)
				}
			}
		})
	}
	// A relative path is taken from the master's working directory.
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, spec.InputDirectory)
	if err != nil {
		t.Fatal(err)
	}
	job := spec
	job.OutputDirectory = rel
	if e, ok := c.request(job).(protocol.Error); !ok || !strings.Contains(e.Error, "is the input directory") {
		t.Errorf("job into %s, relative, answered %#v, want the input directory refused", rel, e)
	}
}

// TestQueuedJobFindsItsOutputDirectoryFilled: two jobs into one output
// directory, both accepted while it was empty; the first fills it, and the
// second fails when it starts, before any work, saying why.
func TestQueuedJobFindsItsOutputDirectoryFilled(t *testing.T) {
	c := startMaster(t, nil)
	spec := testJob(t, words, 2, 2)
	// The worker registers first (a task could overtake its register_ack)
	// and serves once both jobs are accepted.
	w := c.join(101)
	first, second := c.submit(spec), c.submit(spec)
	w.serve(programs{spec.MapperExecutable: wordCountMap, spec.ReducerExecutable: wordCountReduce})
	if job := c.waitEnded(first); job.State != protocol.JobDone {
		t.Fatalf("first job %s: %v", job.State, job.Errors)
	}
	job := c.waitEnded(second)
	if job.State != protocol.JobFailed || len(job.Errors) != 1 ||
		!strings.Contains(job.Errors[0], spec.OutputDirectory+" is not empty (it holds _SUCCESS, input_0, input_1)") {
		t.Fatalf("second job %s with %q, want failed saying its output directory is not empty", job.State, job.Errors)
	}
	if len(job.Tasks) != 0 {
		t.Errorf("second job ran tasks %+v", job.Tasks)
	}
	if got, want := testutil.ListDir(t, spec.OutputDirectory), []string{"_SUCCESS", "input_0", "input_1"}; !slices.Equal(got, want) {
		t.Errorf("output directory holds %v, want the first job's %v", got, want)
	}
}

// startVar starts a master on var directory dir (relative to the working
// directory, as --var is) and returns it, or Start's error.
func startVar(t *testing.T, dir string) (*master.Server, error) {
	t.Helper()
	cfg := master.DefaultConfig(masterPort)
	cfg.Transport = protocol.NewInmem()
	cfg.Scheduler.VarDir = dir
	srv, err := master.Start(cfg, zerolog.Nop())
	if err == nil {
		t.Cleanup(func() {
			srv.Shutdown()
			srv.Wait()
		})
	}
	return srv, err
}

// freshVar is what a var holds once the master started: its lock, its
// marker and its journal.
var freshVar = []string{".mapreduce-lock", ".mapreduce-var", "journal"}

func TestVarDirectory(t *testing.T) {
	marker := ".mapreduce-var"
	t.Run("made and marked when missing", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "var")
		if _, err := startVar(t, dir); err != nil {
			t.Fatal(err)
		}
		if got := testutil.ListDir(t, dir); !slices.Equal(got, freshVar) {
			t.Errorf("var holds %v, want only its marker", got)
		}
	})
	t.Run("an empty one is marked", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := startVar(t, dir); err != nil {
			t.Fatal(err)
		}
		if got := testutil.ListDir(t, dir); !slices.Equal(got, freshVar) {
			t.Errorf("var holds %v, want only its marker", got)
		}
	})
	t.Run("a master's is wiped", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, filepath.Join(dir, "job-0", "mapper-output"), map[string]string{"a.txt": "old\n"})
		writeFiles(t, dir, map[string]string{marker: "", "stray": ""})
		if _, err := startVar(t, dir); err != nil {
			t.Fatal(err)
		}
		if got := testutil.ListDir(t, dir); !slices.Equal(got, freshVar) {
			t.Errorf("var holds %v, want only its marker", got)
		}
	})
	t.Run("one not a master's is refused", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"thesis.tex": "precious\n"})
		_, err := startVar(t, dir)
		if err == nil || !strings.Contains(err.Error(), "not made by a master") || !strings.Contains(err.Error(), marker) {
			t.Fatalf("Start = %v, want a refusal naming the marker", err)
		}
		if got := testutil.ListDir(t, dir); !slices.Equal(got, []string{"thesis.tex"}) {
			t.Errorf("var holds %v after the refusal, want it untouched", got)
		}
		// The refused master let its ports go: another may start.
		if _, err := startVar(t, filepath.Join(t.TempDir(), "var")); err != nil {
			t.Errorf("a master after the refused one: %v", err)
		}
	})
	for _, tt := range []struct{ name, dir string }{
		{"--var . is refused, marker or not", "."},
		{"a var holding the working directory is refused", ".."},
		{"a var holding the working directory is refused, absolute", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			wd := filepath.Join(parent, "wd")
			writeFiles(t, wd, map[string]string{marker: "", "input.txt": "keep me\n"})
			writeFiles(t, parent, map[string]string{marker: ""})
			t.Chdir(wd)
			dir := tt.dir
			if dir == "" {
				dir = parent
			}
			_, err := startVar(t, dir)
			if err == nil || !strings.Contains(err.Error(), "holds the master's working directory") {
				t.Fatalf("Start with --var %s = %v, want a refusal", dir, err)
			}
			if got := testutil.ListDir(t, wd); !slices.Equal(got, []string{marker, "input.txt"}) {
				t.Errorf("working directory holds %v after the refusal, want it untouched", got)
			}
		})
	}
}

// TestJobRefusedAtStartLeavesNoOutputDirectory: a job whose input is gone
// when it starts fails, and its output directory, checked but not made,
// does not exist (issue #20: an empty one was left behind).
func TestJobRefusedAtStartLeavesNoOutputDirectory(t *testing.T) {
	c := startMaster(t, nil)
	spec := testJob(t, words, 1, 1)
	id := c.submit(spec) // no worker yet: it waits
	if err := os.RemoveAll(spec.InputDirectory); err != nil {
		t.Fatal(err)
	}
	c.join(101)
	if job := c.waitEnded(id); job.State != protocol.JobFailed {
		t.Fatalf("job %s, want failed: its input is gone", job.State)
	}
	if _, err := os.Stat(spec.OutputDirectory); err == nil {
		t.Errorf("output directory %s was made for a job that never ran", spec.OutputDirectory)
	}
}

// listIfAny lists dir, or nothing if it does not exist: a job that did not
// commit leaves no output directory it made.
func listIfAny(t *testing.T, dir string) []string {
	t.Helper()
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return testutil.ListDir(t, dir)
}
