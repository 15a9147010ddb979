package group

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// StreamError is a failure of one input of MergeStreams: opening it,
// reading it, or finding it out of order.
type StreamError struct {
	Index int
	Err   error
}

func (e *StreamError) Error() string { return fmt.Sprintf("stream %d: %v", e.Index, e.Err) }
func (e *StreamError) Unwrap() error { return e.Err }

// MergeStreams merges n streams, each a counted run (counted.go), and
// passes each line, in order and without its newline, to emit with its
// count; the slice is only valid during the call. open(i) opens stream i when the merge needs it. At most
// fanIn streams are open at once, so when there are more, groups of them
// are first merged into temporary files in tmpDir, removed before it
// returns. A failure of stream i is a *StreamError with Index i.
func MergeStreams(n int, open func(i int) (io.ReadCloser, error), emit func(line []byte, count int64) error, fanIn int, tmpDir string) error {
	if fanIn < 2 {
		return fmt.Errorf("merge streams: fan-in %d, want at least 2", fanIn)
	}
	m := &streamMerger{open: open, tmpDir: tmpDir}
	defer m.removeTemps()
	sources := make([]source, n)
	for i := range sources {
		sources[i] = source{stream: i}
	}
	for len(sources) > fanIn {
		// A merge takes fanIn sources, but leaves the last one no fewer:
		// what it can take goes to it straight, not through a file. Merged
		// files queue behind the streams, so each pass merges the last's.
		k := min(fanIn, len(sources)-fanIn+1)
		temp, err := m.mergeToTemp(sources[:k])
		if err != nil {
			return err
		}
		sources = append(sources[k:], temp)
	}
	return m.merge(sources, emit)
}

// source is an input of one of MergeStreams' merges: a stream, or a
// temporary file that merged some.
type source struct {
	stream int
	temp   string // the file's name, if a temporary file
}

type streamMerger struct {
	open   func(i int) (io.ReadCloser, error)
	tmpDir string
	temps  []string // temporary files not yet removed
}

// merge merges sources into emit, and removes those that are temporary
// files.
func (m *streamMerger) merge(sources []source, emit func(line []byte, count int64) error) error {
	runs := make(runHeap, 0, len(sources))
	var opened []io.Closer
	defer func() {
		for _, c := range opened {
			c.Close() // read whole or given up on: an error closing changes nothing
		}
	}()
	for i, src := range sources {
		rc, err := m.openSource(src)
		if err != nil {
			return m.fail(src, err)
		}
		opened = append(opened, rc)
		r := &run{name: "the stream", id: i, r: bufio.NewReaderSize(rc, mergeBuffer), counted: true}
		if src.temp != "" {
			r.name = src.temp
		}
		ok, err := r.next()
		if err != nil {
			return m.fail(src, err)
		}
		if ok {
			runs = append(runs, r)
		}
	}
	failed, err := mergeRuns(runs, emit)
	if failed != nil {
		return m.fail(sources[failed.id], err)
	}
	if err != nil {
		return err
	}
	for _, src := range sources {
		if src.temp != "" {
			m.remove(src.temp)
		}
	}
	return nil
}

func (m *streamMerger) openSource(src source) (io.ReadCloser, error) {
	if src.temp != "" {
		return os.Open(src.temp)
	}
	return m.open(src.stream)
}

// fail returns err from reading src: a stream's as a *StreamError.
func (m *streamMerger) fail(src source, err error) error {
	if src.temp != "" {
		return fmt.Errorf("merge streams: %w", err)
	}
	return &StreamError{Index: src.stream, Err: err}
}

// mergeToTemp merges sources into a new temporary file.
func (m *streamMerger) mergeToTemp(sources []source) (source, error) {
	f, err := os.CreateTemp(m.tmpDir, ".merge-*")
	if err != nil {
		return source{}, fmt.Errorf("merge streams: %w", err)
	}
	m.temps = append(m.temps, f.Name())
	defer f.Close()
	writeErr := func(err error) error { return fmt.Errorf("merge streams: write %s: %w", f.Name(), err) }
	w := NewWriter(bufio.NewWriterSize(f, mergeBuffer), true)
	err = m.merge(sources, func(line []byte, count int64) error {
		if err := w.Add(line, count); err != nil {
			return writeErr(err)
		}
		return nil
	})
	if err != nil {
		return source{}, err
	}
	if err := w.Flush(); err != nil {
		return source{}, writeErr(err)
	}
	if err := f.Close(); err != nil {
		return source{}, writeErr(err)
	}
	return source{temp: f.Name()}, nil
}

func (m *streamMerger) remove(name string) {
	os.Remove(name)
	for i, t := range m.temps {
		if t == name {
			m.temps = append(m.temps[:i], m.temps[i+1:]...)
			return
		}
	}
}

func (m *streamMerger) removeTemps() {
	for _, t := range m.temps {
		os.Remove(t)
	}
	m.temps = nil
}
