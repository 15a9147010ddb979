// Package group orders key/value lines the way the reducers need them. A
// line's key is its text before the first tab, or the whole line without
// one, as in Hadoop Streaming. Lines are ordered by key, then by the whole
// line, so that all lines of a key are contiguous even when another key
// extends it with bytes that sort below a tab.
//
// Sorted lines come in two forms: plain, every copy of a line on its own,
// which is what programs read and what the reference protocol's sort tasks
// write (SortFiles, MergePartition); and counted runs, each distinct line
// once with its count (counted.go), which the shuffle between workers keeps
// and merges (SortRun, OpenRange, MergeStreams). Writer writes either.
package group

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"mapreduce/internal/atomicfile"
)

// Key returns line's key: the bytes before the first tab.
func Key(line []byte) []byte {
	if i := bytes.IndexByte(line, '\t'); i >= 0 {
		return line[:i]
	}
	return line
}

// Compare orders two lines (without their newlines) by key, then by the
// whole line.
func Compare(a, b []byte) int {
	if c := bytes.Compare(Key(a), Key(b)); c != 0 {
		return c
	}
	return bytes.Compare(a, b)
}

// keyPrefix packs the start of line's key into a number that orders as the
// keys do wherever two numbers differ: a key of up to 7 bytes is its bytes,
// zero-padded, then its length; a longer key is its first 7 bytes, then
// 0xff. Equal numbers with a length below 0xff mean equal keys.
func keyPrefix(line []byte) uint64 {
	key := Key(line)
	var b [8]byte
	n := copy(b[:7], key)
	if len(key) > 7 {
		b[7] = 0xff
	} else {
		b[7] = byte(n)
	}
	return binary.BigEndian.Uint64(b[:])
}

// keyOf returns keyPrefix(line) and the length of line's key, which
// compareKeyed takes, looked for once.
func keyOf(line []byte) (prefix uint64, keyLen int) {
	return keyPrefix(line), len(Key(line))
}

// compareKeyed is Compare(a, b) for lines whose keyPrefix values are pa
// and pb and whose keys are ka and kb bytes long, without looking for the
// keys' ends again.
func compareKeyed(pa, pb uint64, ka, kb int, a, b []byte) int {
	switch {
	case pa < pb:
		return -1
	case pa > pb:
		return 1
	case pa&0xff == 0xff:
		// Keys longer than 7 bytes, equal in their first 7.
		if c := bytes.Compare(a[7:ka], b[7:kb]); c != 0 {
			return c
		}
	}
	// The same key: the rest of the lines decides.
	return bytes.Compare(a[ka:], b[kb:])
}

// readLine reads the next line from r into buf[:0] and returns it without
// its newline. The last line of a file need not end in one. It returns
// io.EOF only when there is no line left.
func readLine(r *bufio.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
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

// atomicFile is a buffered atomicfile.File.
type atomicFile struct {
	*bufio.Writer
	f *atomicfile.File
}

func createAtomic(target string) (*atomicFile, error) {
	f, err := atomicfile.Create(target)
	if err != nil {
		return nil, err
	}
	return &atomicFile{Writer: bufio.NewWriterSize(f, 64<<10), f: f}, nil
}

// Commit flushes the file and renames it into place.
func (a *atomicFile) Commit() error {
	if err := a.Flush(); err != nil {
		a.Abort()
		return fmt.Errorf("write %s: %w", a.f.Target(), err)
	}
	return a.f.Commit()
}

// Abort removes the temporary file.
func (a *atomicFile) Abort() { a.f.Abort() }
