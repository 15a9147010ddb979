package group

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"os"
	"path/filepath"
	"unsafe"
)

// entry is one line of a sort chunk: where it lies in the chunk's arena,
// and its key's prefix (see keyPrefix), which decides most comparisons
// without touching the arena. It stays 16 bytes: the sort moves entries,
// and a bigger one sorted twice as slowly.
type entry struct {
	prefix uint64
	off    uint32 // the line's first byte, after its header
	n      uint32
}

// headerBytes is the header before each line in the arena: how many times
// the line was read, the length of its key, and its own length (so that a
// look-up compares lines without reading the line's entry).
const headerBytes = 12

// Bytes one entry costs: the entry, and with hashing its two index slots.
const (
	plainEntryBytes  = int64(unsafe.Sizeof(entry{}))
	hashedEntryBytes = plainEntryBytes + 2*8
)

// Hashing stops for the rest of a chunk when, after this many distinct
// lines or a sixteenth of the budget, whichever comes first, fewer than
// half of the lines read were repeats: looking lines up then costs more
// than it saves.
const hashingTrial = 1 << 15

// chunk is the lines read so far, held in one arena. Map outputs repeat
// lines heavily (word count's "the\t1"), so while they do, a chunk holds
// each distinct line once and counts it: a line read again costs a hash
// look-up instead of its share of the sort and the memory. It grows its
// buffers itself, so that their capacity, which is what the memory really
// holds, stays within memory bytes.
type chunk struct {
	arena   []byte
	entries []entry
	// index finds a line in the arena while hashing: open addressing with
	// linear probing, 0 for an empty slot, else the line's offset in the
	// arena in the low 32 bits and the top 32 bits of its hash in the high
	// ones (most probes that miss end there, the arena unread: a look-up is
	// a chain of cache misses). It has twice as many slots as entries has
	// room, a power of two.
	index   []uint64
	hashing bool
	tried   bool  // whether the hashing trial is over
	reads   int64 // lines added
	// left is about how many bytes of input are still to be read.
	left   int64
	seed   maphash.Seed
	memory int64
}

func newChunk(memory int64) *chunk {
	return &chunk{memory: memory, seed: maphash.MakeSeed(), hashing: true}
}

// used is what the chunk holds, counted by capacity.
func (c *chunk) used() int64 {
	return int64(cap(c.arena)) + plainEntryBytes*int64(cap(c.entries)) + 8*int64(len(c.index))
}

func (c *chunk) line(e entry) []byte { return c.arena[e.off : e.off+e.n] }

func (c *chunk) count(e entry) uint32 {
	return binary.NativeEndian.Uint32(c.arena[e.off-headerBytes:])
}

// slotValue is what the index holds for the line at off, of hash hash.
func slotValue(off uint32, hash uint64) uint64 { return hash&^(1<<32-1) | uint64(off) }

func (c *chunk) keyLen(e entry) uint32 {
	return binary.NativeEndian.Uint32(c.arena[e.off-headerBytes+4:])
}

// add counts line, or reports false if it does not fit in the budget. An
// empty chunk takes any line, however long.
func (c *chunk) add(line []byte) bool {
	var hash uint64
	slot := -1
	if c.hashing {
		hash = maphash.Bytes(c.seed, line)
	}
	if len(c.index) > 0 {
		slot = c.find(line, hash)
		if v := c.index[slot]; v != 0 {
			count := c.arena[uint32(v)-headerBytes:]
			n := binary.NativeEndian.Uint32(count)
			if n == math.MaxUint32 {
				return false
			}
			binary.NativeEndian.PutUint32(count, n+1)
			c.reads++
			c.left -= int64(len(line)) + 1
			return true
		}
	}
	size := headerBytes + len(line)
	if len(c.entries) > 0 && c.used() > c.memory {
		return false // it took a line longer than the budget
	}
	if len(c.arena)+size > cap(c.arena) || len(c.entries) == cap(c.entries) {
		if !c.grow(size) {
			if len(c.entries) > 0 {
				return false
			}
			if cap(c.entries) == 0 {
				// An empty chunk takes any line, past its budget if it must.
				c.entries = make([]entry, 0, 1)
				c.reindex()
			}
		}
		if c.hashing {
			slot = c.find(line, hash) // in the index made anew
		}
	}
	off := len(c.arena) + headerBytes
	c.arena = binary.NativeEndian.AppendUint32(c.arena, 1)
	c.arena = binary.NativeEndian.AppendUint32(c.arena, uint32(len(Key(line))))
	c.arena = binary.NativeEndian.AppendUint32(c.arena, uint32(len(line)))
	c.arena = append(c.arena, line...)
	c.entries = append(c.entries, entry{prefix: keyPrefix(line), off: uint32(off), n: uint32(len(line))})
	c.reads++
	c.left -= int64(len(line)) + 1
	if !c.hashing {
		return true
	}
	c.index[slot] = slotValue(uint32(off), hash)
	if !c.tried && (len(c.entries) == hashingTrial || int64(len(c.arena)) >= c.memory/16) {
		c.tried = true
		if c.reads < 2*int64(len(c.entries)) {
			c.hashing, c.index = false, nil
			c.sizeForRest()
		}
	}
	return true
}

// sizeForRest sizes the buffers of a chunk that stopped hashing once for
// the lines still to come, like those so far, within the budget: grown by
// doubling, which holds old and new buffers at once, they would spill at
// a third of it.
func (c *chunk) sizeForRest() {
	lineLen := int64(len(c.arena))/int64(len(c.entries)) + 1 // with its header
	lines := int64(len(c.entries)) + max(c.left, 0)/max(lineLen-headerBytes+1, 1)
	lines += lines/8 + 1024 // some slack for the estimate
	room := c.memory - c.used()
	arena := max(min(lines*lineLen, room*lineLen/(lineLen+plainEntryBytes)), int64(cap(c.arena)))
	entries := max(min(lines, (room-arena)/plainEntryBytes), int64(cap(c.entries)))
	if arena > int64(cap(c.arena)) && arena+plainEntryBytes*entries <= room {
		c.arena = append(make([]byte, 0, arena), c.arena...)
		c.entries = append(make([]entry, 0, entries), c.entries...)
	}
}

// find returns the index slot that holds line, or the empty slot where it
// belongs.
func (c *chunk) find(line []byte, hash uint64) int {
	mask := uint64(len(c.index) - 1)
	tag := slotValue(0, hash)
	for i := hash & mask; ; i = (i + 1) & mask {
		v := c.index[i]
		if v == 0 {
			return int(i)
		}
		if v&^(1<<32-1) != tag {
			continue
		}
		off := uint32(v)
		n := binary.NativeEndian.Uint32(c.arena[off-4:])
		if int(n) == len(line) && bytes.Equal(c.arena[off:off+n], line) {
			return int(i)
		}
	}
}

// grow makes room for n more bytes in the arena and one more entry,
// doubling what is short. Growing copies, so for a moment a buffer is held
// twice: it grows only as far as the old and new buffers together stay
// within the budget, and reports false when that leaves no room.
func (c *chunk) grow(n int) bool {
	if need := int64(len(c.arena) + n); need > int64(cap(c.arena)) {
		grown := min(max(need, 2*int64(cap(c.arena)), 1<<16), c.memory-c.used())
		if grown < need {
			return false
		}
		c.arena = append(make([]byte, 0, grown), c.arena...)
	}
	if len(c.entries) == cap(c.entries) {
		// Doubling keeps the entries a power of two, and the index twice
		// their number.
		grown := max(2*int64(cap(c.entries)), 1<<10)
		perEntry := plainEntryBytes
		if c.hashing {
			perEntry = hashedEntryBytes
		}
		if perEntry*grown > c.memory-c.used() {
			return false
		}
		c.entries = append(make([]entry, 0, grown), c.entries...)
		c.reindex()
	}
	return true
}

// reindex builds the index anew for the entries' capacity, if hashing.
func (c *chunk) reindex() {
	c.index = nil // before the new one: the budget has no room for both
	if !c.hashing {
		return
	}
	c.index = make([]uint64, 2*cap(c.entries))
	mask := uint64(len(c.index) - 1)
	for _, e := range c.entries {
		hash := maphash.Bytes(c.seed, c.line(e))
		i := hash & mask
		for c.index[i] != 0 {
			i = (i + 1) & mask
		}
		c.index[i] = slotValue(e.off, hash)
	}
}

// sort orders the chunk's entries by Compare (radix.go).
func (c *chunk) sort() {
	c.radixSort(c.entries)
}

// compare is Compare for the lines of two entries.
func (c *chunk) compare(a, b entry) int {
	switch {
	case a.prefix < b.prefix:
		return -1
	case a.prefix > b.prefix:
		return 1
	}
	la, lb := c.line(a), c.line(b)
	ka, kb := c.keyLen(a), c.keyLen(b)
	if a.prefix&0xff == 0xff {
		// Keys longer than the prefix, equal in its 7 bytes.
		if k := bytes.Compare(la[7:ka], lb[7:kb]); k != 0 {
			return k
		}
	}
	// The same key: the rest of the lines decides.
	return bytes.Compare(la[ka:], lb[kb:])
}

// writeTo passes the sorted lines to emit, each with how many times it was
// read, and shows them to smp, if not nil.
func (c *chunk) writeTo(emit func(line []byte, count int64) error, smp *sampler) error {
	for _, e := range c.entries {
		line, count := c.line(e), int64(c.count(e))
		smp.add(line, count)
		if err := emit(line, count); err != nil {
			return err
		}
	}
	return nil
}

// reset empties the chunk for more lines after a spill, hashing again. Its
// buffers are dropped, to grow again in proportion to the lines to come,
// if one of them filled while the other stayed mostly empty (the lines
// turned longer or shorter), or if hashing had stopped (the budget had no
// room kept for the index; a line longer than the budget, alone in its
// chunk, stops it too).
func (c *chunk) reset() {
	arenaUse := float64(len(c.arena)) / float64(max(cap(c.arena), 1))
	entriesUse := float64(len(c.entries)) / float64(max(cap(c.entries), 1))
	c.reads, c.tried = 0, false
	if min(arenaUse, entriesUse) < 0.5 || !c.hashing {
		c.arena, c.entries, c.index = nil, nil, nil
		c.hashing = true
		return
	}
	c.arena, c.entries = c.arena[:0], c.entries[:0]
	clear(c.index)
}

// SortFiles sorts the lines of all inputs into output, each line ending in a
// newline, holding at most about memory bytes of lines at once: past that,
// sorted runs spill to temporary files beside output and are merged at the
// end. The output appears whole or not at all; output may be one of the
// inputs.
func SortFiles(inputs []string, output string, memory int64) error {
	s := &sorter{output: output}
	return s.sortFiles(inputs, memory)
}

// sortFiles is SortFiles on a new sorter, whose runs then tell how many
// sorted runs it spilled.
func (s *sorter) sortFiles(inputs []string, memory int64) error {
	memory = min(max(memory, 1<<20), 1<<32-1) // offsets are 32-bit
	var total int64
	for _, in := range inputs {
		info, err := os.Stat(in)
		if err != nil {
			return fmt.Errorf("read %s: %w", in, err)
		}
		total += info.Size()
	}
	s.chunk = newChunk(memory)
	s.chunk.left = total
	defer func() {
		for _, f := range s.spills {
			os.Remove(f)
		}
	}()
	makeRoom := func() error {
		if err := s.spill(); err != nil {
			return err
		}
		s.chunk.reset()
		return nil
	}
	for _, in := range inputs {
		if err := s.chunk.read(in, makeRoom); err != nil {
			return err
		}
	}
	out, err := createAtomic(s.output)
	if err != nil {
		return err
	}
	if len(s.spills) == 0 {
		s.chunk.sort()
		w := NewWriter(out.Writer, s.counted)
		err := s.chunk.writeTo(w.Add, s.sample)
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			out.Abort()
			return fmt.Errorf("write %s: %w", s.output, err)
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
	if err := s.mergeSpills(NewWriter(out.Writer, s.counted)); err != nil {
		out.Abort()
		return fmt.Errorf("merge sorted runs into %s: %w", s.output, err)
	}
	return out.Commit()
}

// maxFanIn bounds how many spilled runs one merge opens at once.
var maxFanIn = 64 // a variable so that tests can make merges pass it

// sorter is one SortFiles in progress.
type sorter struct {
	output string
	// counted makes the output a counted run (counted.go); plain lines
	// otherwise. Spills are counted runs either way.
	counted bool
	chunk   *chunk
	spills  []string
	// runs counts the sorted runs spilled, merged runs not included.
	runs int
	// sample, if not nil, sees the output's lines (for SortRun).
	sample *sampler
}

// spill sorts the chunk and writes it to a new run.
func (s *sorter) spill() error {
	c := s.chunk
	c.sort()
	name, err := s.writeRun(func(w *Writer) error { return c.writeTo(w.Add, nil) })
	if err != nil {
		return err
	}
	s.spills = append(s.spills, name)
	s.runs++
	return nil
}

// writeRun writes a new counted run beside the output with write and
// returns its name, a unique one: a speculative copy of the task may be
// spilling beside it.
func (s *sorter) writeRun(write func(*Writer) error) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(s.output), "."+filepath.Base(s.output)+".run-*")
	if err != nil {
		return "", fmt.Errorf("spill: %w", err)
	}
	w := NewWriter(bufio.NewWriterSize(f, 256<<10), true)
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
// maxFanIn at a time into longer runs while there are more, and flushes
// out.
func (s *sorter) mergeSpills(out *Writer) error {
	for len(s.spills) > maxFanIn {
		group := s.spills[:maxFanIn]
		name, err := s.writeRun(func(w *Writer) error { return mergeFiles(group, true, w.Add) })
		if err != nil {
			return err
		}
		for _, f := range group {
			os.Remove(f)
		}
		s.spills = append(s.spills[maxFanIn:], name)
	}
	err := mergeFiles(s.spills, true, func(line []byte, count int64) error {
		s.sample.add(line, count)
		return out.Add(line, count)
	})
	if err != nil {
		return err
	}
	return out.Flush()
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
		if err != nil && errors.Is(err, bufio.ErrBufferFull) {
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
		if n := len(line); n > 0 {
			if line[n-1] == '\n' {
				line = line[:n-1]
			}
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
