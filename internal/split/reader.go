package split

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"mapreduce/protocol"
)

// bufferSize is the Reader's one buffer: memory stays flat however long
// the files or their lines.
const bufferSize = 64 << 10

// Reader reads the lines that a split's ranges own, as one stream. A range
// [start, start+length) owns the lines that begin inside it: a range that
// does not start its file skips to the first line beginning at or after
// start (the byte before start tells), and the last line it owns is read
// to its newline or its file's end, however far past the range. A newline
// is put between two ranges' lines where the first lacks a final one, so
// a line never spans two files. An empty range owns no line.
//
// A file shorter than planned gives what it has. Errors name the range.
type Reader struct {
	ranges []protocol.InputRange
	i      int // the range being read
	phase  phase
	f      *os.File
	br     *bufio.Reader
	pos    int64 // f's offset of br's next byte
	end    int64 // range i's end
	wrote  bool  // range i gave out bytes, the last of them last
	last   byte
	owed   bool // a newline goes before the next range's first byte
	read   atomic.Int64
	err    error
	// file is the file of the bytes Read gave last.
	file string
}

type phase int

const (
	opening  phase = iota // range i is not open yet
	skipping              // skipping the line begun before the range
	copying               // giving out the range's bytes
	ending                // giving out the rest of its last line
)

// NewReader reads ranges. Close it when done.
func NewReader(ranges []protocol.InputRange) *Reader {
	return &Reader{ranges: ranges, br: bufio.NewReaderSize(nil, bufferSize)}
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for r.i < len(r.ranges) {
		rg := r.ranges[r.i]
		n, err := r.step(p)
		if err != nil {
			r.err = fmt.Errorf("read %s: %w", Describe([]protocol.InputRange{rg}), err)
			r.Close()
			return 0, r.err
		}
		if n > 0 {
			r.read.Add(int64(n))
			r.file = rg.File
			return n, nil
		}
	}
	r.err = io.EOF
	return 0, io.EOF
}

// Err is the error that ended reading, nil if none did or the split was
// read to its end.
func (r *Reader) Err() error {
	if errors.Is(r.err, io.EOF) {
		return nil
	}
	return r.err
}

// File is the file that the bytes of the last Read came from: each Read
// gives bytes of one file (a newline put after a file's last line that
// lacked one counts as that line's, though it may come with the next
// file's Read).
func (r *Reader) File() string { return r.file }

// Position counts the bytes read so far; it may be called while another
// goroutine reads.
func (r *Reader) Position() int64 { return r.read.Load() }

// Close closes the file being read, if any.
func (r *Reader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// step does one step of reading range i into p: it opens the range, skips,
// gives out bytes (their count) or ends the range.
func (r *Reader) step(p []byte) (int, error) {
	switch r.phase {
	case opening:
		return 0, r.open(r.ranges[r.i])
	case skipping:
		line, err := r.br.ReadSlice('\n')
		r.pos += int64(len(line))
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return 0, r.next()
		case err != nil:
			return 0, err
		case r.pos >= r.end: // the next line begins past the range
			return 0, r.next()
		default:
			r.phase = copying
		}
		return 0, nil
	case copying:
		if r.pos >= r.end {
			if !r.wrote || r.last == '\n' {
				return 0, r.next()
			}
			r.phase = ending
			return 0, nil
		}
		if r.owed {
			r.owed = false
			p[0] = '\n'
			return 1, nil
		}
		n, err := r.br.Read(p[:min(int64(len(p)), r.end-r.pos)])
		r.gave(p[:n])
		if errors.Is(err, io.EOF) {
			return n, r.next()
		}
		return n, err
	default: // ending
		if r.br.Buffered() == 0 {
			if _, err := r.br.Peek(1); errors.Is(err, io.EOF) {
				return 0, r.next()
			} else if err != nil {
				return 0, err
			}
		}
		buf, _ := r.br.Peek(min(r.br.Buffered(), len(p)))
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[:i+1]
		}
		n := copy(p, buf)
		r.br.Discard(n)
		r.gave(p[:n])
		if r.last == '\n' {
			return n, r.next()
		}
		return n, nil
	}
}

// open opens range rg, placed to skip the line begun before it.
func (r *Reader) open(rg protocol.InputRange) error {
	if rg.Length <= 0 {
		return r.next()
	}
	f, err := os.Open(rg.File)
	if err != nil {
		return err
	}
	r.f = f
	r.pos, r.end, r.wrote, r.phase = rg.Start, rg.Start+rg.Length, false, copying
	if rg.Start > 0 {
		// The line before the range ends at or after start-1: skipping
		// from there, a range that begins a line skips just the newline.
		r.pos, r.phase = rg.Start-1, skipping
	}
	if _, err := f.Seek(r.pos, io.SeekStart); err != nil {
		return err
	}
	r.br.Reset(f)
	return nil
}

// gave records bytes given out of the current range.
func (r *Reader) gave(b []byte) {
	if len(b) > 0 {
		r.pos += int64(len(b))
		r.wrote, r.last = true, b[len(b)-1]
	}
}

// next closes range i and moves to the one after it.
func (r *Reader) next() error {
	if r.wrote && r.last != '\n' {
		r.owed = true
	}
	r.wrote, r.last = false, 0
	r.i++
	r.phase = opening
	return r.Close()
}
