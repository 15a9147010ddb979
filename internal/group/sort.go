package group

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// entryBytes is what one line costs in a sort chunk beyond its own bytes.
const entryBytes = 16

// entry is one line of a sort chunk: where it lies in the chunk's arena,
// and its key's prefix (see keyPrefix), which decides most comparisons
// without touching the arena.
type entry struct {
	prefix uint64
	off    uint32
	n      uint32
}

// chunk is the lines read so far, held in one arena. It grows its buffers
// itself, so that their capacity, which is what the memory really holds,
// stays within memory bytes.
type chunk struct {
	arena   []byte
	entries []entry
	memory  int64
}

// add appends line, or reports false if it does not fit in the budget.
// An empty chunk takes any line, however long.
func (c *chunk) add(line []byte) bool {
	if len(c.arena)+len(line) > cap(c.arena) || len(c.entries) == cap(c.entries) {
		if !c.grow(len(line)) && len(c.entries) > 0 {
			return false
		}
	}
	off := len(c.arena)
	c.arena = append(c.arena, line...)
	c.entries = append(c.entries, entry{prefix: keyPrefix(line), off: uint32(off), n: uint32(len(line))})
	return true
}

// grow makes room for one more line of n bytes, doubling what is short.
// Growing copies, so for a moment a buffer is held twice: it grows only as
// far as the old and new buffers together stay within the budget, and
// reports false when the line cannot fit so.
func (c *chunk) grow(n int) bool {
	arenaCap, entriesCap := int64(cap(c.arena)), int64(cap(c.entries))
	if need := int64(len(c.arena) + n); need > arenaCap {
		room := c.memory - arenaCap - entryBytes*entriesCap
		grown := min(max(need, 2*arenaCap, 1<<16), room)
		if grown < need {
			return false
		}
		c.arena = append(make([]byte, 0, grown), c.arena...)
		arenaCap = grown
	}
	if int64(len(c.entries)) == entriesCap {
		room := (c.memory - arenaCap - entryBytes*entriesCap) / entryBytes
		grown := min(max(2*entriesCap, 1<<12), room)
		if grown <= entriesCap {
			return false
		}
		c.entries = append(make([]entry, 0, grown), c.entries...)
	}
	return true
}

// newChunk sizes a chunk's buffers at once for what the inputs will put in
// them, within the budget, so that they rarely grow: total is the inputs'
// size and lineLen the average length of their lines, newline included.
func newChunk(memory, total, lineLen int64) *chunk {
	lineLen = max(lineLen, 1)
	arena := min(total, memory*lineLen/(lineLen+entryBytes))
	lines := arena/lineLen + arena/lineLen/8 + 1024 // some slack for the estimate
	entries := min(lines, (memory-arena)/entryBytes)
	return &chunk{arena: make([]byte, 0, arena), entries: make([]entry, 0, entries), memory: memory}
}

// averageLine estimates the length of the lines of files from the start of
// the first one that has any.
func averageLine(files []string) (int64, error) {
	buf := make([]byte, 64<<10)
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", file, err)
		}
		n, err := io.ReadFull(f, buf)
		f.Close()
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("read %s: %w", file, err)
		}
		if n > 0 {
			return int64(n) / int64(bytes.Count(buf[:n], []byte{'\n'})+1), nil
		}
	}
	return 1, nil
}

func (c *chunk) line(e entry) []byte { return c.arena[e.off : e.off+e.n] }

// sort orders the chunk's entries by Compare.
func (c *chunk) sort() {
	slices.SortFunc(c.entries, func(a, b entry) int {
		return comparePrefixed(a.prefix, b.prefix, c.line(a), c.line(b))
	})
}

func (c *chunk) writeTo(w *bufio.Writer) error {
	for _, e := range c.entries {
		w.Write(c.line(e))
		if err := w.WriteByte('\n'); err != nil {
			return err
		}
	}
	return nil
}

// SortFiles sorts the lines of all inputs into output, each line ending in a
// newline, holding at most about memory bytes of lines at once: past that,
// sorted runs spill to temporary files beside output and are merged at the
// end. The output appears whole or not at all; output may be one of the
// inputs.
func SortFiles(inputs []string, output string, memory int64) (err error) {
	memory = min(max(memory, 1<<20), 1<<32-1) // offsets are 32-bit
	var total int64
	for _, in := range inputs {
		info, err := os.Stat(in)
		if err != nil {
			return fmt.Errorf("read %s: %w", in, err)
		}
		total += info.Size()
	}
	lineLen, err := averageLine(inputs)
	if err != nil {
		return err
	}
	s := &sorter{output: output, memory: memory, left: total, chunk: newChunk(memory, total, lineLen)}
	defer func() {
		for _, f := range s.spills {
			os.Remove(f)
		}
	}()
	makeRoom := func() error {
		if err := s.spill(); err != nil {
			return err
		}
		s.reuse()
		return nil
	}
	for _, in := range inputs {
		if err := s.chunk.read(in, makeRoom); err != nil {
			return err
		}
	}
	out, err := createAtomic(output)
	if err != nil {
		return err
	}
	if len(s.spills) == 0 {
		s.chunk.sort()
		if err := s.chunk.writeTo(out.Writer); err != nil {
			out.Abort()
			return fmt.Errorf("write %s: %w", output, err)
		}
		return out.Commit()
	}
	if len(s.chunk.entries) > 0 {
		if err := s.spill(); err != nil {
			out.Abort()
			return err
		}
	}
	s.chunk = nil // let the merge have the memory
	if err := s.mergeSpills(out.Writer); err != nil {
		out.Abort()
		return fmt.Errorf("merge sorted runs into %s: %w", output, err)
	}
	return out.Commit()
}

// maxFanIn bounds how many spilled runs one merge opens at once.
var maxFanIn = 64 // a variable so that tests can make merges pass it

// sorter is one SortFiles in progress.
type sorter struct {
	output string
	memory int64
	// left is about how many input bytes are still to be read.
	left   int64
	chunk  *chunk
	spills []string
}

// spill sorts the chunk and writes it to a new run.
func (s *sorter) spill() error {
	c := s.chunk
	c.sort()
	name, err := s.writeRun(func(w *bufio.Writer) error { return c.writeTo(w) })
	if err != nil {
		return err
	}
	s.spills = append(s.spills, name)
	return nil
}

// reuse empties the spilled chunk for more lines. If the lines read so far
// are shorter or longer than its buffers were sized for, so that one filled
// while the other stayed mostly empty, the buffers are sized again for the
// lines seen.
func (s *sorter) reuse() {
	c := s.chunk
	lines, bytes := int64(len(c.entries)), int64(len(c.arena))
	s.left -= bytes + lines
	arenaUse := float64(bytes) / float64(max(cap(c.arena), 1))
	entriesUse := float64(lines) / float64(max(cap(c.entries), 1))
	if min(arenaUse, entriesUse) < 0.5 || int64(cap(c.arena))+entryBytes*int64(cap(c.entries)) > c.memory {
		// Drop the old buffers before making the new ones, in place: the
		// reading loop holds c.
		c.arena, c.entries = nil, nil
		*c = *newChunk(s.memory, max(s.left, 1<<20), (bytes+lines)/max(lines, 1))
	} else {
		c.arena, c.entries = c.arena[:0], c.entries[:0]
	}
}

// writeRun writes a new run beside the output with write and returns its
// name, a unique one: a speculative copy of the task may be spilling beside
// it.
func (s *sorter) writeRun(write func(*bufio.Writer) error) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(s.output), "."+filepath.Base(s.output)+".run-*")
	if err != nil {
		return "", fmt.Errorf("spill: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("spill %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}

// mergeSpills merges the spilled runs into out, first merging them
// maxFanIn at a time into longer runs while there are more.
func (s *sorter) mergeSpills(out *bufio.Writer) error {
	emitTo := func(w *bufio.Writer) func([]byte) error {
		return func(line []byte) error {
			w.Write(line)
			return w.WriteByte('\n')
		}
	}
	for len(s.spills) > maxFanIn {
		group := s.spills[:maxFanIn]
		name, err := s.writeRun(func(w *bufio.Writer) error { return mergeFiles(group, emitTo(w)) })
		if err != nil {
			return err
		}
		for _, f := range group {
			os.Remove(f)
		}
		s.spills = append(s.spills[maxFanIn:], name)
	}
	return mergeFiles(s.spills, emitTo(out))
}

// read adds the lines of file to the chunk, calling spill whenever the
// chunk reaches memory bytes.
func (c *chunk) read(file string, spill func() error) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it whole, copying
			// before the next read reuses the buffer.
			line = bytes.Clone(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				var more []byte
				more, err = r.ReadSlice('\n')
				line = append(line, more...)
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read %s: %w", file, err)
		}
		if len(line) > 0 {
			line = bytes.TrimSuffix(line, []byte{'\n'})
			if !c.add(line) {
				if err := spill(); err != nil {
					return err
				}
				c.add(line)
			}
		}
		if err != nil {
			return nil
		}
	}
}
