package worker

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"mapreduce/internal/group"
	"mapreduce/protocol"
)

// stderrTail is how much of an executable's stderr a failure report keeps.
const stderrTail = 4 << 10

// runWorkerJob runs the executable over each input file in turn and reports
// the outputs: map and reduce look the same from here. Output paths join the
// directory exactly as the master sent it with each input's base name.
func (w *Worker) runWorkerJob(job protocol.NewWorkerJob) {
	log := w.log.With().Str("executable", job.Executable).Strs("inputs", job.InputFiles).Logger()
	if job.WorkerPID != 0 && job.WorkerPID != w.pid {
		// Reassigned work may still name the worker it was first meant for.
		log.Debug().Int("worker_pid", job.WorkerPID).Msg("job names another pid; running it anyway")
	}
	start := time.Now()
	status := protocol.Status{Status: protocol.StatusFinished}
	for _, in := range job.InputFiles {
		out := filepath.Join(job.OutputDirectory, filepath.Base(in))
		status.OutputFiles = append(status.OutputFiles, out)
		if status.Status != protocol.StatusFinished {
			continue
		}
		if err := w.runExecutable(job.Executable, in, out); err != nil {
			fail(&status, err, job.InputFiles)
		}
	}
	if status.Status == protocol.StatusFinished {
		log.Info().Dur("took", time.Since(start)).Msg("job finished")
	} else {
		log.Warn().Str("error", status.Error).Msg("job failed")
	}
	if w.ctx.Err() != nil {
		return
	}
	w.report(status)
}

// runExecutable runs exe with stdin from in and stdout to out, which appears
// whole once the executable has succeeded, or not at all.
func (w *Worker) runExecutable(exe, in, out string) error {
	select {
	case w.slots <- struct{}{}:
		defer func() { <-w.slots }()
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
	stdin, err := os.Open(in)
	if err != nil {
		return fmt.Errorf("open input: %w", err)
	}
	defer stdin.Close()
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	var stderr tailBuffer
	cmd := exec.CommandContext(w.ctx, exe)
	cmd.Stdin = stdin
	cmd.Stdout = tmp
	cmd.Stderr = &stderr
	// A worker killed outright takes its executables with it, so that no
	// orphan goes on writing after its task was given to another worker.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	runErr := cmd.Run()
	closeErr := tmp.Close()
	if runErr != nil {
		msg := fmt.Sprintf("%s < %s: %v", exe, in, runErr)
		if tail := strings.TrimSpace(stderr.String()); tail != "" {
			msg += ": " + tail
		}
		return errors.New(msg)
	}
	if closeErr != nil {
		return fmt.Errorf("write output %s: %w", out, closeErr)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("rename output: %w", err)
	}
	return nil
}

// runSortJob sorts the lines of its inputs into the output file.
func (w *Worker) runSortJob(job protocol.NewSortJob) {
	start := time.Now()
	status := protocol.Status{OutputFile: job.OutputFile, Status: protocol.StatusFinished}
	select {
	case w.slots <- struct{}{}:
		err := group.SortFiles(job.InputFiles, job.OutputFile, w.cfg.SortMemory)
		<-w.slots
		if err != nil {
			fail(&status, fmt.Errorf("sort: %w", err), job.InputFiles)
			w.log.Warn().Str("error", status.Error).Msg("sort failed")
		} else {
			w.log.Info().Str("output", job.OutputFile).Int("inputs", len(job.InputFiles)).
				Dur("took", time.Since(start)).Msg("sort finished")
		}
	case <-w.ctx.Done():
		return
	}
	w.report(status)
}

// fail marks status failed with err. A missing input makes the failure
// retriable: the master may know how to produce it again.
func fail(status *protocol.Status, err error, inputs []string) {
	status.Status = protocol.StatusFailed
	status.Error = err.Error()
	var pe *fs.PathError
	if errors.Is(err, fs.ErrNotExist) && errors.As(err, &pe) && slices.Contains(inputs, pe.Path) {
		status.Retry = true
		status.MissingFiles = append(status.MissingFiles, pe.Path)
	}
}

// tailBuffer keeps the last stderrTail bytes written to it.
type tailBuffer struct{ bytes.Buffer }

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > stderrTail {
		p = p[len(p)-stderrTail:]
	}
	t.Buffer.Write(p)
	if extra := t.Len() - stderrTail; extra > 0 {
		t.Next(extra)
	}
	return n, nil
}
