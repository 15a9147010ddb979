package worker

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"mapreduce/internal/layout"
	"mapreduce/internal/vardir"
)

// prepareLocalDir settles the worker's local directory, by default one of
// its own named after its port (which no master's --var is, since it is
// marked as a worker's), and readies it: made, or wiped if a worker made
// it, or refused.
func (w *Worker) prepareLocalDir() error {
	dir := w.cfg.LocalDir
	if dir == "" {
		_, port, _ := net.SplitHostPort(w.ln.Addr()) // the port chosen when it was 0
		dir = filepath.Join(os.TempDir(), "mapreduce-worker-"+port)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("local directory: %w", err)
	}
	workDir, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	if err := vardir.Prepare(dir, workDir, vardir.Worker); err != nil {
		return err
	}
	w.mu.Lock()
	w.local = dir
	w.mu.Unlock()
	return nil
}

// localDir is the worker's local directory, or "" until it is ready: the
// worker listens before it has one.
func (w *Worker) localDir() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.local
}

// jobEnded removes the runs the worker keeps for job id, unless it keeps
// intermediates. A fetch still reading a run reads on: the file goes once
// it is closed.
func (w *Worker) jobEnded(id int) {
	local := w.localDir()
	if w.cfg.KeepIntermediates || id < 0 || local == "" {
		return
	}
	dir := layout.LocalJob(local, id)
	if err := os.RemoveAll(dir); err != nil {
		w.log.Warn().Err(err).Int("job", id).Msg("remove the job's runs")
		return
	}
	w.log.Debug().Int("job", id).Msg("job ended: its runs are removed")
}

// removeRuns removes, once the worker has stopped, the runs it kept: no
// master can have them fetched from a stopped worker. The default local
// directory, this process's own, goes whole; one given with --local-dir
// keeps its marker. --keep-intermediates keeps everything.
func (w *Worker) removeRuns() {
	dir := w.localDir()
	if dir == "" || w.cfg.KeepIntermediates {
		return
	}
	if w.cfg.LocalDir == "" {
		if err := os.RemoveAll(dir); err != nil {
			w.log.Warn().Err(err).Str("local_dir", dir).Msg("could not remove the local directory")
		}
		return
	}
	jobs, _ := filepath.Glob(filepath.Join(dir, "job-*"))
	for _, j := range jobs {
		if err := os.RemoveAll(j); err != nil {
			w.log.Warn().Err(err).Str("dir", j).Msg("could not remove a job's runs")
		}
	}
}

// dropOtherJobs removes the runs the worker keeps for jobs other than job,
// unless it keeps intermediates.
func (w *Worker) dropOtherJobs(job int) {
	dir := w.localDir()
	if dir == "" || w.cfg.KeepIntermediates {
		return
	}
	jobs, _ := filepath.Glob(filepath.Join(dir, "job-*"))
	for _, j := range jobs {
		if j == layout.LocalJob(dir, job) {
			continue
		}
		if err := os.RemoveAll(j); err != nil {
			w.log.Warn().Err(err).Str("dir", j).Msg("could not remove another job's runs")
		} else {
			w.log.Info().Str("dir", j).Msg("another job's runs removed")
		}
	}
}
