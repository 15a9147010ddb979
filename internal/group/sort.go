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

// grow makes room for one more line of n bytes, doubling what is short but
// never past the budget; it reports false if the line does not fit.
func (c *chunk) grow(n int) bool {
	// What each buffer must have, then what doubling would give it.
	arenaMin := int64(max(cap(c.arena), len(c.arena)+n))
	entriesMin := int64(max(cap(c.entries), len(c.entries)+1))
	if arenaMin+entryBytes*entriesMin > c.memory {
		return false
	}
	arenaCap, entriesCap := arenaMin, entriesMin
	if arenaMin > int64(cap(c.arena)) {
		arenaCap = max(arenaMin, 2*int64(cap(c.arena)), 1<<16)
	}
	if entriesMin > int64(cap(c.entries)) {
		entriesCap = max(entriesMin, 2*int64(cap(c.entries)), 1<<12)
	}
	// Give back what doubling overshot, from the arena first.
	if over := arenaCap + entryBytes*entriesCap - c.memory; over > 0 {
		cut := min(over, arenaCap-arenaMin)
		arenaCap -= cut
		over -= cut
		entriesCap -= (over + entryBytes - 1) / entryBytes
	}
	// Exact sizes: append's own growth would round up past the budget.
	if arenaCap > int64(cap(c.arena)) {
		c.arena = append(make([]byte, 0, arenaCap), c.arena...)
	}
	if entriesCap > int64(cap(c.entries)) {
		c.entries = append(make([]entry, 0, entriesCap), c.entries...)
	}
	return true
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
	c := &chunk{memory: memory}
	var spills []string
	defer func() {
		for _, s := range spills {
			os.Remove(s)
		}
	}()
	spill := func() error {
		c.sort()
		// A unique name: a speculative copy of this task may be spilling
		// beside it.
		f, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".run-*")
		if err != nil {
			return fmt.Errorf("spill: %w", err)
		}
		spills = append(spills, f.Name())
		w := bufio.NewWriterSize(f, 256<<10)
		err = c.writeTo(w)
		if err == nil {
			err = w.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("spill %s: %w", f.Name(), err)
		}
		c.arena, c.entries = c.arena[:0], c.entries[:0]
		if int64(cap(c.arena))+entryBytes*int64(cap(c.entries)) > c.memory {
			// A line longer than the budget grew the arena past it; keep it
			// and every later line would spill alone.
			c.arena, c.entries = nil, nil
		}
		return nil
	}
	for _, in := range inputs {
		if err := c.read(in, spill); err != nil {
			return err
		}
	}
	out, err := createAtomic(output)
	if err != nil {
		return err
	}
	if len(spills) == 0 {
		c.sort()
		if err := c.writeTo(out.Writer); err != nil {
			out.Abort()
			return fmt.Errorf("write %s: %w", output, err)
		}
		return out.Commit()
	}
	if len(c.entries) > 0 {
		if err := spill(); err != nil {
			out.Abort()
			return err
		}
	}
	c.arena, c.entries = nil, nil // let the merge have the memory
	err = mergeFiles(spills, func(line []byte) error {
		out.Write(line)
		return out.WriteByte('\n')
	})
	if err != nil {
		out.Abort()
		return fmt.Errorf("merge sorted runs into %s: %w", output, err)
	}
	return out.Commit()
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
