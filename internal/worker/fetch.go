package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"mapreduce/internal/group"
	"mapreduce/internal/layout"
	"mapreduce/protocol"
)

// The shuffle's fetches (protocol.FetchRun): a worker serves the runs it
// keeps to the reduce tasks of other workers, and reads the pieces of a
// reduce task's input, from its own directory or from their holders.

// maxFetches bounds the fetches a worker serves at once: each holds a file
// and a connection, and reads the disk.
const maxFetches = 16

// fetchSlotWait is how long a fetch waits for one of the maxFetches slots
// before it is refused: within the 10 s in which a refusal must be
// written (protocol.ReadTimeout), so that the fetcher hears it. A
// variable, for tests.
var fetchSlotWait = 5 * time.Second

// fetchTimeout bounds how long a fetcher waits for each read of a stream:
// longer than fetchSlotWait, so that a busy holder's refusal arrives
// first.
const fetchTimeout = 30 * time.Second

// openRange opens the records of a counted run (group.Writer) whose lines'
// keys are at least lo and below hi (a nil bound is open): the part of the
// file that holds them, found by binary search. A variable, for tests.
var openRange = func(path string, lo, hi []byte) (io.ReadCloser, error) {
	rc, _, err := group.OpenRange(path, lo, hi)
	return rc, err
}

// serveFetch answers a fetch_run with the records of the run, streamed, or
// an Error naming the run and the job.
func (w *Worker) serveFetch(from string, m protocol.FetchRun, reply func(protocol.Message) error) {
	refuse := func(err error) {
		w.log.Info().Err(err).Str("from", from).Msg("fetch refused")
		reply(protocol.Error{Error: err.Error()})
	}
	what := fmt.Sprintf("run %q of job %d", m.Run, m.JobID)
	local := w.localDir()
	if local == "" {
		refuse(fmt.Errorf("%s: the worker is not ready", what))
		return
	}
	path, err := layout.LocalRun(local, m.JobID, m.Run)
	if err != nil {
		refuse(fmt.Errorf("%s: %w", what, err))
		return
	}
	wait := time.NewTimer(fetchSlotWait)
	defer wait.Stop()
	select {
	case w.fetches <- struct{}{}:
		defer func() { <-w.fetches }()
	case <-wait.C:
		refuse(fmt.Errorf("%s%s: %d fetches being served", protocol.BusyPrefix, what, maxFetches))
		return
	}
	r, err := openRange(path, m.Lo, m.Hi)
	if errors.Is(err, fs.ErrNotExist) {
		refuse(fmt.Errorf("%s: no such run on this worker", what))
		return
	}
	if err != nil {
		refuse(fmt.Errorf("%s: %w", what, err))
		return
	}
	defer r.Close()
	err = reply(protocol.Streamer(func(out io.Writer) error {
		_, err := io.Copy(out, r)
		return err
	}))
	if err != nil {
		w.log.Warn().Err(err).Str("from", from).Str("run", m.Run).Int("job", m.JobID).Msg("fetch failed")
	}
}

// openPiece opens the records of piece p of job whose keys are in [lo, hi):
// from the file itself when this worker holds it, else fetched from its
// holder, until ctx is done. The caller closes it.
func (w *Worker) openPiece(ctx context.Context, job int, p protocol.Piece, lo, hi []byte) (io.ReadCloser, error) {
	if p.HolderID != "" && p.HolderID == w.cfg.ID {
		path, err := layout.LocalRun(w.localDir(), job, p.Run)
		if err != nil {
			return nil, fmt.Errorf("run %q of job %d: %w", p.Run, job, err)
		}
		r, err := openRange(path, lo, hi)
		if err != nil {
			return nil, fmt.Errorf("run %q of job %d: %w", p.Run, job, err)
		}
		return r, nil
	}
	r, err := w.transport.Stream(ctx, p.Holder, protocol.FetchRun{JobID: job, Run: p.Run, Lo: lo, Hi: hi}, fetchTimeout)
	if err != nil {
		return nil, fmt.Errorf("fetch run %q of job %d from %s: %w", p.Run, job, p.Holder, err)
	}
	return r, nil
}
