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

	"mapreduce/internal/layout"
)

// resortMemory bounds the master's memory when it sorts a file again.
const resortMemory = 32 << 20

// MergePartition merges inputs, each sorted by Compare, in one streaming
// pass into outDir/input_0 … input_{reducers-1}. The partitions are
// contiguous key ranges, balanced in bytes: their bounds are keys chosen
// before the merge from samples of the inputs, so a key's lines never split
// and partition i is complete, and handed to ready, as soon as the merge
// passes its last key. Every partition file is written, empty or not, each
// is sorted, and together, in order, they are the whole sorted input.
//
// A worker that follows only the reference protocol may sort in another order (Python's
// sorted() over lines that keep their newline puts "k\t1\n" before "k\n").
// Such an input is found out of order during the merge, sorted again here,
// and the merge starts over with the same bounds, so that partitions
// already handed out come out the same; resorted names those inputs. ready
// may be nil.
func MergePartition(inputs []string, outDir string, reducers int, ready func(partition int)) (resorted []string, err error) {
	if reducers < 1 {
		return nil, fmt.Errorf("merge: %d reducers", reducers)
	}
	cuts, err := cutKeys(inputs, reducers)
	if err != nil {
		return nil, err
	}
	// Too few keys to cut everywhere: the last partitions stay empty.
	for len(cuts) < reducers-1 {
		cuts = append(cuts, nil)
	}
	announced := make([]bool, reducers)
	announce := func(i int) {
		if !announced[i] && ready != nil {
			ready(i)
		}
		announced[i] = true
	}
	for {
		err := mergePartitionOnce(inputs, outDir, cuts, announce)
		var unsorted *UnsortedError
		if !errors.As(err, &unsorted) || slices.Contains(resorted, unsorted.File) {
			return resorted, err
		}
		// The line found out of order belongs to a partition the merge had
		// already passed: if that partition went to its reducer, it cannot
		// be taken back. (A worker ordering keys as Python's sorted() does
		// lines, for keys with bytes below a tab, gets here.)
		if announced[partitionOf(cuts, unsorted.Key)] {
			return resorted, fmt.Errorf("%w, with a line for a partition already reduced: the worker that sorted it does not order keys as this master does", err)
		}
		if err := SortFiles([]string{unsorted.File}, unsorted.File, resortMemory); err != nil {
			return resorted, err
		}
		resorted = append(resorted, unsorted.File)
	}
}

// UnsortedError reports an input of a merge that is not sorted.
type UnsortedError struct {
	File string
	Line int
	// Key is the key of the line out of order.
	Key []byte
}

func (e *UnsortedError) Error() string {
	return fmt.Sprintf("%s is not sorted at line %d", e.File, e.Line)
}

func mergePartitionOnce(inputs []string, outDir string, cuts [][]byte, ready func(int)) (err error) {
	p := &rangePartitioner{dir: outDir, outs: make([]*atomicFile, len(cuts)+1), cuts: cuts, ready: ready}
	defer func() {
		if err != nil {
			for _, o := range p.outs {
				if o != nil {
					o.Abort()
				}
			}
		}
	}()
	if err := mergeFiles(inputs, false, p.write); err != nil {
		return err
	}
	return p.finish(len(p.outs))
}

// rangePartitioner writes a sorted stream of lines into the partitions that
// cuts bound: partition i takes the keys from cuts[i-1] up to, not
// including, cuts[i]. A nil cut is past every key.
type rangePartitioner struct {
	dir string
	// outs holds the partition being written; the ones before it are
	// committed, the ones after it not yet made.
	outs    []*atomicFile
	cuts    [][]byte
	ready   func(int)
	current int
}

func (p *rangePartitioner) write(line []byte, count int64) error {
	if next := partitionOf(p.cuts[p.current:], Key(line)) + p.current; next > p.current {
		if err := p.finish(next); err != nil {
			return err
		}
	}
	out, err := p.out(p.current)
	if err != nil {
		return err
	}
	for range count {
		out.Write(line)
		if err := out.WriteByte('\n'); err != nil {
			return fmt.Errorf("write %s: %w", out.f.Target(), err)
		}
	}
	return nil
}

// out returns partition i's file, making it if needed.
func (p *rangePartitioner) out(i int) (*atomicFile, error) {
	if p.outs[i] == nil {
		o, err := createAtomic(filepath.Join(p.dir, layout.ReduceInputName(i)))
		if err != nil {
			return nil, err
		}
		p.outs[i] = o
	}
	return p.outs[i], nil
}

// partitionOf returns the partition that cuts give key.
func partitionOf(cuts [][]byte, key []byte) int {
	i := 0
	for i < len(cuts) && cuts[i] != nil && bytes.Compare(key, cuts[i]) >= 0 {
		i++
	}
	return i
}

// finish commits the partitions before partition end and hands them to
// ready.
func (p *rangePartitioner) finish(end int) error {
	for ; p.current < end; p.current++ {
		out, err := p.out(p.current)
		if err != nil {
			return err
		}
		p.outs[p.current] = nil // committed or aborted either way
		if err := out.Commit(); err != nil {
			return err
		}
		p.ready(p.current)
	}
	p.current = min(p.current, len(p.outs)-1)
	return nil
}

// cutKeys chooses the keys that bound reducers partitions of about equal
// bytes. It reads the line after every step bytes of each input, a sample
// standing for step bytes of its key, and walks the sampled keys in order;
// where a partition's share ends inside a key's samples, the cut goes
// before or after that key, whichever is nearer. It costs a short read per
// sample, at most a few hundred per reducer, not a pass over the inputs.
func cutKeys(inputs []string, reducers int) ([][]byte, error) {
	var total int64
	for _, in := range inputs {
		info, err := os.Stat(in)
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		total += info.Size()
	}
	if reducers == 1 || total == 0 {
		return nil, nil
	}
	step := max(total/int64(min(256*reducers, 1<<16)), 1)
	keys, err := sampleKeys(inputs, step)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(keys, func(a, b []byte) int { return bytes.Compare(a, b) })
	sampled := len(keys)
	cuts := make([][]byte, 0, reducers-1)
	// Each partition aims at an equal share of what the earlier ones left,
	// so that one falling short of its share (a large key went on to the
	// next) does not leave the next overfull.
	end := sampled / reducers
	for i := 0; i < sampled; {
		j := i
		for j < sampled && bytes.Equal(keys[j], keys[i]) {
			j++
		}
		// Samples i..j-1 are one key: cut before it if more than half of
		// it lies past the current partition's end.
		for len(cuts) < reducers-1 && i+(j-i)/2 >= end {
			cuts = append(cuts, keys[i])
			end = i + (sampled-i)/(reducers-len(cuts))
		}
		i = j
	}
	return cuts, nil
}

// sampleKeys returns the key of the line that starts at or after every
// step bytes of each input (the first line too). A line may be long: only
// its key is read, up to maxSampledKey bytes.
func sampleKeys(inputs []string, step int64) ([][]byte, error) {
	var keys [][]byte
	r := bufio.NewReaderSize(nil, 4096)
	for _, in := range inputs {
		f, err := os.Open(in)
		if err != nil {
			return nil, fmt.Errorf("sample: %w", err)
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("sample: %w", err)
		}
		for off := int64(0); off < info.Size(); off += step {
			key, ok, err := keyAt(r, f, off, info.Size())
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("sample %s: %w", in, err)
			}
			if ok {
				keys = append(keys, key)
			}
		}
		f.Close()
	}
	return keys, nil
}

// maxSampledKey bounds the key a sample reads; longer ones go unsampled.
const maxSampledKey = 64 << 10

// keyAt reads, through r, the key of the first line that starts at or
// after off in f, of size bytes; ok is false if there is none.
func keyAt(r *bufio.Reader, f io.ReaderAt, off, size int64) (key []byte, ok bool, err error) {
	if _, ok, err := seekLine(r, f, off, size, size); !ok || err != nil {
		return nil, false, err
	}
	// Never nil, even empty: a nil cut stands for "past every key".
	key = make([]byte, 0, 32)
	for len(key) <= maxSampledKey {
		b, err := r.ReadByte()
		if errors.Is(err, io.EOF) {
			// The last line, without a newline; or no line at all.
			return key, len(key) > 0, nil
		}
		if err != nil {
			return nil, false, err
		}
		if b == '\t' || b == '\n' {
			return key, true, nil
		}
		key = append(key, b)
	}
	return nil, false, nil
}

// seekLine sets r to read f, of size bytes, from the first line that
// starts at or after off, and returns where that is. It looks no further
// than limit: ok is false if no line starts before it. A long line costs
// reading through it, a buffer at a time.
func seekLine(r *bufio.Reader, f io.ReaderAt, off, limit, size int64) (start int64, ok bool, err error) {
	// From the byte before off: if it ends a line, the line at off is
	// whole.
	at := max(off-1, 0)
	r.Reset(io.NewSectionReader(f, at, size-at))
	if off == 0 {
		return 0, limit > 0, nil
	}
	for at < limit {
		chunk, err := r.ReadSlice('\n')
		at += int64(len(chunk))
		switch {
		case err == nil:
			return at, at < limit, nil
		case errors.Is(err, io.EOF):
			return at, false, nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return at, false, err
		}
	}
	return at, false, nil
}

// mergeFiles merges sorted files, counted runs if counted, plain lines if
// not, and passes each line, in order and without its newline, to emit with
// its count. The slice is only valid during the call. An input out of order
// is an *UnsortedError.
func mergeFiles(inputs []string, counted bool, emit func(line []byte, count int64) error) error {
	runs := make(runHeap, 0, len(inputs))
	for _, in := range inputs {
		f, err := os.Open(in)
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		defer f.Close()
		r := &run{name: in, r: bufio.NewReaderSize(f, mergeBuffer), counted: counted}
		ok, err := r.next()
		if err != nil {
			return err
		}
		if ok {
			runs = append(runs, r)
		}
	}
	_, err := mergeRuns(runs, emit)
	return err
}

// mergeBuffer is the read buffer of each input of a merge.
const mergeBuffer = 256 << 10

// mergeRuns merges runs, each holding its first line, into emit as
// mergeFiles does. If reading a run fails, failed is that run.
func mergeRuns(runs runHeap, emit func(line []byte, count int64) error) (failed *run, err error) {
	runs.init()
	for len(runs) > 0 {
		r := runs[0]
		if err := emit(r.line, r.count); err != nil {
			return nil, err
		}
		ok, err := r.next()
		if err != nil {
			return r, err
		}
		switch {
		case !ok:
			last := len(runs) - 1
			runs[0] = runs[last]
			runs = runs[:last]
			runs.down(0)
		case !r.repeat:
			runs.down(0)
		}
		// A line equal to the one just emitted is still the least.
	}
	return nil, nil
}

// run is one sorted input being merged.
type run struct {
	name    string
	id      int // the caller's number for it
	r       *bufio.Reader
	counted bool // a counted run's records, not plain lines
	line    []byte
	count   int64  // how many times line was read
	prefix  uint64 // keyPrefix(line)
	keyLen  int    // len(Key(line))
	prev    []byte
	// bufs hold the current record and the one before, in turn.
	bufs   [2][]byte
	number int
	repeat bool // line equals prev
}

// next reads the run's next line, checking that the run is sorted. It
// reports false at the end of the run.
func (r *run) next() (bool, error) {
	r.prev = r.line
	buf := &r.bufs[r.number%2]
	rec, err := readLine(r.r, *buf)
	*buf = rec
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", r.name, err)
	}
	r.number++
	r.line, r.count = rec, 1
	if r.counted {
		if r.line, r.count, err = parseRecord(rec); err != nil {
			return false, fmt.Errorf("read %s: line %d: %w", r.name, r.number, err)
		}
	}
	r.repeat = r.number > 1 && bytes.Equal(r.line, r.prev)
	if r.repeat {
		return true, nil // sorted lines repeat often, and need no check
	}
	prevPrefix, prevKeyLen := r.prefix, r.keyLen
	r.prefix, r.keyLen = keyOf(r.line)
	if r.number > 1 && compareKeyed(prevPrefix, r.prefix, prevKeyLen, r.keyLen, r.prev, r.line) > 0 {
		return false, &UnsortedError{File: r.name, Line: r.number, Key: bytes.Clone(Key(r.line))}
	}
	return true, nil
}

// runHeap orders runs by their current lines, the least first: a binary
// heap of its own rather than container/heap's, whose calls go through an
// interface once per comparison, and each line's key end is looked for
// once (run.keyLen), not at every comparison.
type runHeap []*run

func (h runHeap) less(i, j int) bool {
	a, b := h[i], h[j]
	return compareKeyed(a.prefix, b.prefix, a.keyLen, b.keyLen, a.line, b.line) < 0
}

func (h runHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// down moves h[i] down to its place.
func (h runHeap) down(i int) {
	for {
		least := 2*i + 1
		if least >= len(h) {
			return
		}
		if right := least + 1; right < len(h) && h.less(right, least) {
			least = right
		}
		if !h.less(least, i) {
			return
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
}
