package worker

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/atomicfile"
	"mapreduce/internal/group"
	"mapreduce/internal/program"
	"mapreduce/protocol"
)

// stderrTail is how much of an executable's stderr a failure report keeps.
const stderrTail = 4 << 10

// runProgramTask runs the executable of a new_worker_job over each input
// file in turn and reports the outputs: map, combine and reduce tasks look
// the same from here. Output paths join the directory exactly as the master
// sent it with each input's base name. A task cancelled (by cancel_task or
// shutdown) reports no status; one that cancel_task killed sends its log.
func (w *Worker) runProgramTask(job protocol.NewWorkerJob, r *running) {
	defer w.release(r)
	log := w.log.With().Str("executable", job.Executable).Strs("inputs", job.InputFiles).Logger()
	if job.WorkerPID != 0 && job.WorkerPID != w.cfg.PID {
		// Reassigned work may still name the worker it was first meant for.
		log.Debug().Int("worker_pid", job.WorkerPID).Msg("task names another pid; running it anyway")
	}
	start := time.Now()
	// output_files is always there, even empty: a reference master reads it.
	status := protocol.Status{OutputFiles: []string{}, Status: protocol.StatusFinished, WorkerPID: w.cfg.PID, WorkerID: w.cfg.ID, Task: job.Task}
	var total ioCounts
	cmd := taskCommand(job)
	for _, run := range programRuns(job) {
		status.OutputFiles = append(status.OutputFiles, run.status)
		if status.Status != protocol.StatusFinished {
			continue
		}
		counts, err := w.runExecutable(r, cmd, run.in, run.output)
		total.add(counts)
		if err != nil {
			status.Status = protocol.StatusFailed
			status.Failure = failure(err, job.InputFiles)
		}
	}
	status.Report = r.stderr.result()
	if job.Task != nil && status.Status == protocol.StatusFinished {
		total.addTo(status.Counters, job.Task.Stage)
	}
	w.endTask(r, status, log, start)
}

// endTask reports a program task's end: its status, or, for a task that
// was cancelled, only the log of one that cancel_task killed.
func (w *Worker) endTask(r *running, status protocol.Status, log zerolog.Logger, start time.Time) {
	if r.ctx.Err() != nil {
		log.Info().Msg("task cancelled")
		w.reportKilled(r, status.Report)
		return
	}
	if status.Status == protocol.StatusFinished {
		log.Info().Stringer("took", time.Since(start)).Msg("task finished")
	} else {
		log.Warn().Str("error", status.Error).Msg("task failed")
	}
	w.report(status)
}

// runExecutable runs c with stdin from in, stdout to out, which appears
// whole once the program has succeeded, or not at all, in the job's
// working directory. Its stderr goes to the task's (r.stderr). It counts
// the records and bytes read and written by a program that succeeded. A
// program that could not start, or that its interpreter could not run,
// fails with a hint that names the fix (program.Hint).
func (w *Worker) runExecutable(r *running, c command, in programInput, out string) (ioCounts, error) {
	if err := acquire(r, w.slots); err != nil {
		return ioCounts{}, err
	}
	defer func() { <-w.slots }()
	return w.runInSlot(r, c, in, out)
}

// acquire waits for a token of sem (the worker's slots, or its gathers),
// showing the task as waiting meanwhile, or gives up when the task is
// cancelled; the caller gives the token back (<-sem).
func acquire(r *running, sem chan struct{}) error {
	r.waitingForSlot(true)
	select {
	case sem <- struct{}{}:
		r.waitingForSlot(false)
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

// runInSlot is runExecutable for a task that holds a slot.
func (w *Worker) runInSlot(r *running, c command, in programInput, out string) (ioCounts, error) {
	exe, err := c.path()
	if err != nil {
		// The master found the program and the working directory when
		// the job was submitted: this host does not see them.
		return ioCounts{}, own(err)
	}
	stdin, err := in.open(c.inputKey())
	if err != nil {
		return ioCounts{}, fmt.Errorf("open input: %w", err)
	}
	defer stdin.close()
	tmp, err := atomicfile.Create(out)
	if err != nil {
		return ioCounts{}, own(fmt.Errorf("create output: %w", err))
	}
	r.runningProgram(stdin.position, tmp.File)
	defer r.programDone()
	cmd := exec.CommandContext(r.ctx, exe, c.args...)
	cmd.Dir = c.dir()
	cmd.Env = c.environ(in)
	cmd.Stdin = stdin.reader
	cmd.Stdout = tmp.File
	cmd.Stderr = r.stderr
	// A worker killed outright takes its executable with it, so that no
	// orphan goes on writing after its task was given to another worker;
	// on cancel and shutdown the executable's whole process group goes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A child that holds stderr open must not hold us: a second after the
	// program exits, it is cut off.
	cmd.WaitDelay = time.Second
	tree, err := w.trees.Start(cmd)
	if err == nil {
		err = cmd.Wait()
		// Whatever the program started ends with it, whichever way it
		// ended: its group, and those that left it (setsid, a double fork).
		n, killErr := tree.Kill()
		if n > 0 {
			w.log.Info().Str("program", c.String()).Int("processes", n).Msg("killed what the program left running")
		}
		if killErr != nil {
			w.log.Warn().Str("program", c.String()).Err(killErr).Msg("what the program started may still run")
		}
	}
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		// The program succeeded, but a child it left running held its
		// stderr or stdin: the output it wrote is the output.
		err = nil
	}
	tail := r.stderr.endProgram()
	if readErr := stdin.err(); readErr != nil {
		// The program's input was cut short: that is the failure.
		tmp.Abort()
		return ioCounts{}, fmt.Errorf("%s < %s: %w", c, in, readErr)
	}
	if err != nil {
		tmp.Abort()
		// Looked at once the output is gone: a program that filled the
		// disk with it failed by itself, not for the disk.
		full := diskFull(tmp.Name())
		more := ""
		if tail := strings.TrimSpace(tail); tail != "" {
			more += ": " + tail
		}
		if full {
			more += "\n(the disk of its output on this worker is full)"
		} else if hint := program.Hint(exe, err); hint != "" && r.ctx.Err() == nil {
			more += "\nhint: " + hint
		}
		err = fmt.Errorf("%s < %s: %w%s", c, in, err, more)
		if full || startFailedHere(exe, err) {
			err = own(err)
		}
		return ioCounts{}, err
	}
	var counts ioCounts
	if counts.in, err = stdin.count(); err != nil {
		tmp.Abort()
		return ioCounts{}, fmt.Errorf("count input records: %w", err)
	}
	if counts.out, err = countLines(tmp.File); err != nil {
		tmp.Abort()
		return ioCounts{}, own(fmt.Errorf("count output records: %w", err))
	}
	if err := tmp.Commit(); err != nil {
		return ioCounts{}, own(fmt.Errorf("write output: %w", err))
	}
	return counts, nil
}

// programRun is one run of a new_worker_job's executable: its input, the
// file it writes and that file as the status names it.
type programRun struct {
	in             programInput
	output, status string
}

// programRuns lists the runs of job: one over its split into the split's
// output file, or one per input file into output_directory/<its base
// name>, named in the status as the directory was sent.
func programRuns(job protocol.NewWorkerJob) []programRun {
	if job.Split != nil {
		return []programRun{{in: programInput{ranges: job.Split.Ranges}, output: job.Split.OutputFile, status: job.Split.OutputFile}}
	}
	runs := make([]programRun, 0, len(job.InputFiles))
	for _, in := range job.InputFiles {
		runs = append(runs, programRun{in: programInput{file: in},
			output: filepath.Join(job.OutputDirectory, filepath.Base(in)), status: echoPath(job.OutputDirectory, filepath.Base(in))})
	}
	return runs
}

// runSortTask sorts the lines of a new_sort_job's inputs into its output file.
func (w *Worker) runSortTask(job protocol.NewSortJob, r *running) {
	defer w.release(r)
	start := time.Now()
	status := protocol.Status{OutputFile: job.OutputFile, Status: protocol.StatusFinished, WorkerPID: w.cfg.PID, WorkerID: w.cfg.ID, Task: job.Task}
	select {
	case w.sorting <- struct{}{}:
		err := group.SortFiles(job.InputFiles, job.OutputFile, w.cfg.SortMemory)
		<-w.sorting
		if err != nil {
			status.Status = protocol.StatusFailed
			status.Failure = failure(fmt.Errorf("sort: %w", err), job.InputFiles)
			w.log.Warn().Str("error", status.Error).Msg("sort failed")
		} else {
			w.log.Info().Str("output", job.OutputFile).Int("inputs", len(job.InputFiles)).
				Stringer("took", time.Since(start)).Msg("sort finished")
			w.countSort(job, &status)
		}
	case <-r.ctx.Done():
		return
	}
	w.report(status)
}

// countSort adds the built-in counters of a sort task that finished to its
// status, for a master that takes them (our task identity says so). A
// count that fails is logged, not a failure: the output is good.
func (w *Worker) countSort(job protocol.NewSortJob, status *protocol.Status) {
	if job.Task == nil {
		return
	}
	counts, err := sortCounts(job.InputFiles, job.OutputFile)
	if err != nil {
		w.log.Warn().Err(err).Msg("sort's counters not counted")
		return
	}
	status.Counters = protocol.Counters{}
	counts.addTo(status.Counters, job.Task.Stage)
}

// failure describes err. A missing input makes the failure retriable: the
// master may know how to produce it again. Otherwise a failure that is the
// worker's own says so (fault.go).
func failure(err error, inputs []string) protocol.Failure {
	f := protocol.Failure{Error: err.Error()}
	var pe *fs.PathError
	if errors.Is(err, fs.ErrNotExist) && errors.As(err, &pe) && slices.Contains(inputs, pe.Path) {
		f.Retry = true
		f.MissingFiles = []string{pe.Path}
	} else if isOwnFault(err) {
		f.Fault = protocol.FaultWorker
	}
	return f
}

// echoPath joins dir, exactly as the master sent it, and name, as Python's
// os.path.join would: a master that compares paths as strings must find
// its own directory in them, "./" or a doubled slash included.
func echoPath(dir, name string) string {
	if dir == "" || strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

// reportKilled sends the report of a task that cancel_task killed to a
// master that takes reports: once to one that does not acknowledge them,
// else until acknowledged, for RegisterTimeout at most (report.go).
func (w *Worker) reportKilled(r *running, report protocol.Report) {
	if !r.killed.Load() || !w.reports.Load() || report.Log == "" && report.StatusLine == "" {
		return
	}
	report.Counters = nil
	msg := protocol.AttemptLog{Output: r.output, WorkerPID: w.cfg.PID, WorkerID: w.cfg.ID, Task: r.task, Report: report}
	if !w.acks.Load() {
		if err := w.transport.Send(w.masterAddr(), msg); err != nil {
			w.log.Debug().Err(err).Msg("killed task's log not delivered")
		}
		return
	}
	// Acknowledged as a status is, and sent again for a while: the job's
	// error may name this log as the one to read.
	w.deliver(msg, "attempt_log", false)
}
