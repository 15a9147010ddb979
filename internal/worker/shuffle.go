package worker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"mapreduce/internal/group"
	"mapreduce/internal/layout"
	"mapreduce/protocol"
)

// The worker's side of the shuffle (protocol.CapShuffle): a map task keeps
// its output in the worker's local directory as a sorted run and reports
// its samples; a reduce task merges its key range of every run, fetched
// from the workers that hold them (fetch.go), into a local file that the
// reducer reads.

// mergeFanIn bounds the runs a reduce task reads at once: more are merged
// into local files first, so memory and connections stay bounded however
// many map tasks the job has.
const mergeFanIn = 32

// runShuffleTask runs a new_worker_job with map_output or reduce_input.
func (w *Worker) runShuffleTask(job protocol.NewWorkerJob, r *running) {
	defer w.release(r)
	start := time.Now()
	log := w.log.With().Str("executable", job.Executable).Logger()
	status := protocol.Status{OutputFiles: []string{}, Status: protocol.StatusFinished, WorkerPID: w.cfg.PID, WorkerID: w.cfg.ID, Task: job.Task}
	var counts ioCounts
	var err error
	if job.Task != nil {
		// The master runs one job at a time: the runs of any other job
		// (one that ended while this worker was taken for dead, or of an
		// earlier master) are no longer wanted.
		w.dropOtherJobs(job.Task.JobID)
	}
	switch {
	case job.Task == nil:
		err = errors.New("a task of the shuffle came without its identity")
	case job.MapOutput != nil && job.Split != nil:
		status.OutputFiles = append(status.OutputFiles, job.Split.OutputFile)
		status.Run, counts, err = w.mapToRun(job, r)
	case job.ReduceInput != nil:
		status.OutputFiles = append(status.OutputFiles, job.ReduceInput.OutputFile)
		counts, err = w.reduceRuns(job, r)
	default:
		err = errors.New("a map task of the shuffle came without its split")
	}
	status.Report = r.stderr.result()
	if err != nil {
		status.Status = protocol.StatusFailed
		status.Failure = shuffleFailure(err, job)
	} else {
		counts.addTo(status.Counters, job.Task.Stage)
	}
	w.endTask(r, status, log, start)
}

// mapToRun runs the mapper over its split, then sorts its output (through
// the combiner, if any) into the task's run in the local directory.
func (w *Worker) mapToRun(job protocol.NewWorkerJob, r *running) (*protocol.RunInfo, ioCounts, error) {
	out := job.MapOutput
	run, err := layout.LocalRun(w.localDir(), job.Task.JobID, out.Run)
	if err != nil {
		return nil, ioCounts{}, err
	}
	if err := os.MkdirAll(filepath.Dir(run), 0o755); err != nil {
		return nil, ioCounts{}, own(fmt.Errorf("local directory: %w", err))
	}
	scratch, err := taskScratch(filepath.Dir(run), job.Task)
	if err != nil {
		return nil, ioCounts{}, err
	}
	defer os.RemoveAll(scratch)
	mapped, combined := filepath.Join(scratch, "map"), filepath.Join(scratch, "combine")
	cmd := taskCommand(job)
	counts, err := w.runExecutable(r, cmd, programInput{ranges: job.Split.Ranges}, mapped)
	if err != nil {
		return nil, ioCounts{}, err
	}
	sortInput := mapped
	if out.Combiner != "" {
		if err := w.sortLocal(r, func() error { return group.SortFiles([]string{mapped}, mapped, w.cfg.SortMemory) }); err != nil {
			return nil, ioCounts{}, fmt.Errorf("sort map output: %w", err)
		}
		if _, err := w.runExecutable(r, cmd.combiner(out.Combiner), programInput{file: mapped}, combined); err != nil {
			return nil, ioCounts{}, err
		}
		sortInput = combined
	}
	var sorted group.Run
	err = w.sortLocal(r, func() error {
		var err error
		sorted, err = group.SortRun([]string{sortInput}, run, w.cfg.SortMemory, max(out.Samples, 1))
		return err
	})
	if err != nil {
		return nil, ioCounts{}, fmt.Errorf("sort map output into run %s: %w", out.Run, err)
	}
	info := &protocol.RunInfo{Run: out.Run, Size: sorted.Size}
	for _, s := range sorted.Samples {
		info.Samples = append(info.Samples, protocol.Sample{Key: s.Key, Bytes: s.Bytes})
	}
	return info, counts, nil
}

// sortLocal runs sort as the worker's one sort at a time (Config.SortMemory
// bounds the worker), showing progress meanwhile, or gives up when the task
// is cancelled.
func (w *Worker) sortLocal(r *running, sort func() error) error {
	r.waitingForSlot(true) // our own code, which cannot stall without failing
	defer r.waitingForSlot(false)
	select {
	case w.sorting <- struct{}{}:
		defer func() { <-w.sorting }()
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
	return sort()
}

// reduceRuns runs the reducer over the merge of its key range of every
// run, into the reduce input's output file. Pieces held by other workers
// are fetched into local files first, as Hadoop's reducers copy map
// outputs before they merge: a merge reads each input at the pace of its
// keys, and a holder must not be kept waiting by it. The merge goes to a
// local file too, which the reducer reads as its stdin: a program reads a
// file for much less than a pipe (a third more CPU for Python's
// line-by-line reading of a pipe, measured).
func (w *Worker) reduceRuns(job protocol.NewWorkerJob, r *running) (ioCounts, error) {
	red := job.ReduceInput
	id := job.Task
	tmpDir := layout.LocalJob(w.localDir(), id.JobID)
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return ioCounts{}, own(fmt.Errorf("local directory: %w", err))
	}
	scratch, err := taskScratch(tmpDir, id)
	if err != nil {
		return ioCounts{}, err
	}
	defer os.RemoveAll(scratch)
	merged := filepath.Join(scratch, "merged")
	if err := w.gather(r, id, red, scratch, merged); err != nil {
		return ioCounts{}, err
	}
	// The gather's token is kept until the reducer has a slot: while the
	// slots are taken, one merged input waits per token, not one per
	// reduce task the worker was sent (each holds a partition, every copy
	// of each line written out, on the local disk).
	err = acquire(r, w.slots)
	<-w.gathers
	if err != nil {
		return ioCounts{}, err
	}
	defer func() { <-w.slots }()
	in := programInput{file: merged, describe: fmt.Sprintf("key range [%q, %q) of %d runs", red.Lo, red.Hi, len(red.Pieces))}
	return w.runInSlot(r, taskCommand(job), in, red.OutputFile)
}

// taskScratch makes a new directory in dir for one attempt's temporary
// files, apart from every other attempt's: an earlier one of the same task
// (of this master's life or an earlier one's, whose attempts count from 1
// again), cancelled, may still be finishing. Its name starts with '.', so
// no run can be named so (layout.LocalRun).
func taskScratch(dir string, id *protocol.TaskIdentity) (string, error) {
	scratch, err := os.MkdirTemp(dir, fmt.Sprintf(".%s-%d-*", id.Stage, id.Index))
	if err != nil {
		return "", own(fmt.Errorf("local directory: %w", err))
	}
	return scratch, nil
}

// gather fetches the pieces of the reduce input that other workers hold
// into scratch and merges them all into the file merged, holding one of
// the worker's gather tokens (w.gathers), which it keeps on success: the
// caller gives it back.
func (w *Worker) gather(r *running, id *protocol.TaskIdentity, red *protocol.ReduceInput, scratch, merged string) error {
	if err := acquire(r, w.gathers); err != nil {
		return err
	}
	fetched, err := w.fetchPieces(r, id, red, scratch)
	if err == nil {
		err = mergePieces(r.ctx, red, fetched, merged, scratch, func(i int) (io.ReadCloser, error) {
			return w.openPiece(r.ctx, id.JobID, red.Pieces[i], red.Lo, red.Hi)
		})
	}
	if err != nil {
		<-w.gathers
	}
	return err
}

// mergePieces merges the reduce input's pieces into the file merged: a
// fetched piece from its local copy, any other opened with open. It stops
// at its next read once ctx is done, in the merges of some pieces into
// temporary files (past mergeFanIn) too.
func mergePieces(ctx context.Context, red *protocol.ReduceInput, fetched []string, merged, tmpDir string, open func(i int) (io.ReadCloser, error)) error {
	f, err := os.Create(merged)
	if err != nil {
		return own(fmt.Errorf("merge the reducer's input: %w", err))
	}
	// The runs hold each line once with its count; the reducer reads
	// every copy.
	lines := group.NewWriter(bufio.NewWriterSize(f, 64<<10), false)
	err = group.MergeStreams(len(red.Pieces), func(i int) (io.ReadCloser, error) {
		var rc io.ReadCloser
		var err error
		if fetched[i] != "" {
			rc, err = os.Open(fetched[i])
		} else {
			rc, err = open(i)
		}
		if err != nil {
			return nil, err
		}
		return cancellableReader{ctx, rc}, nil
	}, lines.Add, mergeFanIn, tmpDir)
	if err == nil {
		err = lines.Flush()
	}
	if closeErr := f.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("merge the reducer's input: %w", closeErr)
	}
	return err
}

// fetchPieces copies the pieces other workers hold into files in dir,
// parallelFetches at a time; fetched[i] is piece i's file, "" for a piece
// this worker holds. A piece that cannot be fetched is a
// *group.StreamError with its index, reported once the fetches under way
// end: no more start after the first failure.
func (w *Worker) fetchPieces(r *running, id *protocol.TaskIdentity, red *protocol.ReduceInput, dir string) (fetched []string, err error) {
	fetched = make([]string, len(red.Pieces))
	var remote []int
	for i, p := range red.Pieces {
		if p.HolderID == "" || p.HolderID != w.cfg.ID {
			fetched[i] = filepath.Join(dir, fmt.Sprintf("fetch-%d", i))
			remote = append(remote, i)
		}
	}
	var mu sync.Mutex
	var first error
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return first != nil || r.ctx.Err() != nil
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(parallelFetches, len(remote)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := w.fetchPieceTrying(r, id.JobID, red.Pieces[i], red.Lo, red.Hi, fetched[i]); err != nil {
					mu.Lock()
					if first == nil {
						first = &group.StreamError{Index: i, Err: err}
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, i := range remote {
		if failed() {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil && r.ctx.Err() != nil {
		first = r.ctx.Err()
	}
	return fetched, first
}

// fetchPieceTrying fetches a piece, trying fetchTries times, and for as
// long as busyWait while its holder answers that it is busy.
func (w *Worker) fetchPieceTrying(r *running, job int, p protocol.Piece, lo, hi []byte, path string) error {
	busySince := time.Time{}
	var err error
	for try := 0; try < fetchTries; {
		if err = w.fetchPiece(r.ctx, job, p, lo, hi, path); err == nil || r.ctx.Err() != nil {
			return err
		}
		pause := time.Duration(try+1) * 200 * time.Millisecond
		var remote *protocol.RemoteError
		if errors.As(err, &remote) && strings.HasPrefix(remote.Err, protocol.BusyPrefix) {
			// The holder is there and has the run: wait for a slot.
			if busySince.IsZero() {
				busySince = time.Now()
			}
			if time.Since(busySince) > busyWait {
				return err
			}
			pause = time.Second
		} else {
			try++
		}
		select {
		case <-time.After(pause):
		case <-r.ctx.Done():
			return r.ctx.Err()
		}
	}
	return err
}

// How many pieces a reduce task fetches at once; how often it tries one
// before it reports the piece lost; how long it waits for a holder that
// says it is busy.
const (
	parallelFetches = 4
	fetchTries      = 3
	busyWait        = 2 * time.Minute
)

// fetchPiece copies piece p's lines in [lo, hi) into path, or stops once
// ctx is done.
func (w *Worker) fetchPiece(ctx context.Context, job int, p protocol.Piece, lo, hi []byte, path string) error {
	rc, err := w.openPiece(ctx, job, p, lo, hi)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.Create(path)
	if err != nil {
		return own(fmt.Errorf("local copy of run %s: %w", p.Run, err))
	}
	if _, err := io.Copy(cancellableWriter{ctx, f}, rc); err != nil {
		f.Close()
		return fmt.Errorf("fetch run %s from %s: %w", p.Run, p.Holder, err)
	}
	if err := f.Close(); err != nil {
		return own(fmt.Errorf("local copy of run %s: %w", p.Run, err))
	}
	return nil
}

// shuffleFailure describes err, a shuffle task's failure. One that is the
// worker's own says so (fault.go), even about a piece: its local copy
// could not be written. A piece that could not be fetched makes it
// retriable: its map task can be run again.
func shuffleFailure(err error, job protocol.NewWorkerJob) protocol.Failure {
	f := protocol.Failure{Error: err.Error()}
	if isOwnFault(err) {
		f.Fault = protocol.FaultWorker
		return f
	}
	var se *group.StreamError
	if job.ReduceInput != nil && errors.As(err, &se) && se.Index >= 0 && se.Index < len(job.ReduceInput.Pieces) {
		var unsorted *group.UnsortedError
		if !errors.As(err, &unsorted) {
			f.Retry = true
			f.LostPieces = []protocol.Piece{job.ReduceInput.Pieces[se.Index]}
		}
	}
	return f
}

// cancellableWriter is w until ctx is done, then fails every write: a
// copy into it stops at its next write once its task is cancelled. (A
// fetch that waits on a holder that sends nothing stops too: the stream
// is closed with ctx, see protocol.Transport.Stream.)
type cancellableWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c cancellableWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// cancellableReader is ReadCloser until ctx is done, then fails every
// read: a merge of it stops once its task is cancelled.
type cancellableReader struct {
	ctx context.Context
	io.ReadCloser
}

func (c cancellableReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.ReadCloser.Read(p)
}
