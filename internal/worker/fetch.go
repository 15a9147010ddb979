package worker

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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

// openRange opens the lines of a sorted run whose key is at least lo and
// below hi (a nil bound is open), each ending in a newline.
var openRange = scanRange

// serveFetch answers a fetch_run with the lines of the run, streamed, or
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
		refuse(fmt.Errorf("%s: busy, %d fetches being served", what, maxFetches))
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

// openPiece opens the lines of piece p of job whose key is in [lo, hi):
// from the file itself when this worker holds it, else fetched from its
// holder. The caller closes it.
func (w *Worker) openPiece(job int, p protocol.Piece, lo, hi []byte) (io.ReadCloser, error) {
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
	r, err := w.transport.Stream(p.Holder, protocol.FetchRun{JobID: job, Run: p.Run, Lo: lo, Hi: hi}, fetchTimeout)
	if err != nil {
		return nil, fmt.Errorf("fetch run %q of job %d from %s: %w", p.Run, job, p.Holder, err)
	}
	return r, nil
}

// scanRange is openRange by reading the run from its start: a line at a
// time, passing on those in range and stopping at the first at or past hi
// (the run is sorted).
func scanRange(path string, lo, hi []byte) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &rangeScan{f: f, r: bufio.NewReaderSize(f, 64<<10), lo: lo, hi: hi}, nil
}

type rangeScan struct {
	f      *os.File
	r      *bufio.Reader
	lo, hi []byte
	// line is the line being passed on, with its newline, from off.
	line []byte
	off  int
	err  error
}

func (s *rangeScan) Read(p []byte) (int, error) {
	for s.off == len(s.line) {
		if s.err != nil {
			return 0, s.err
		}
		s.err = s.next()
	}
	n := copy(p, s.line[s.off:])
	s.off += n
	return n, nil
}

// next reads the next line in range into line; io.EOF past the range.
func (s *rangeScan) next() error {
	for {
		line, err := readLine(s.r, s.line[:0])
		s.line, s.off = line[:0], 0
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", s.f.Name(), err)
		}
		key := group.Key(line)
		if s.hi != nil && bytes.Compare(key, s.hi) >= 0 {
			return io.EOF
		}
		if s.lo == nil || bytes.Compare(key, s.lo) >= 0 {
			s.line = append(line, '\n')
			return nil
		}
	}
}

// readLine reads the next line into buf, without its newline; the last
// line need not end in one. It returns io.EOF only when no line is left.
// Lines are taken whole, however long: a run is the worker's own file.
func readLine(r *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) > 0:
			return buf, nil
		default:
			return buf, err
		}
	}
}

func (s *rangeScan) Close() error { return s.f.Close() }
