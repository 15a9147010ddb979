package group

import (
	"bufio"
	"bytes"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// PartitionName is the name of reducer i's input, as the seed fixes it.
func PartitionName(i int) string { return fmt.Sprintf("input_%d", i) }

// resortMemory bounds the master's memory when it sorts a file again.
const resortMemory = 32 << 20

// MergePartition merges inputs, each sorted by Compare, in one streaming
// pass into outDir/input_0 … input_{reducers-1}. The partitions are
// contiguous key ranges, balanced in bytes: each is cut, at a key boundary,
// where the bytes written reach the end of its equal share. A key's lines
// never split, so before a key known (from samples of the inputs) to be
// large, the cut goes wherever leaves the partition nearer its share's end.
// Each partition is sorted, and together, in order, they are the whole
// sorted input. Every partition file is written, empty or not.
//
// A worker that follows only the seed may sort in another order (Python's
// sorted() over lines that keep their newline puts "k\t1\n" before "k\n").
// Such an input is found out of order during the merge, sorted again here,
// and the merge starts over; resorted names those inputs.
func MergePartition(inputs []string, outDir string, reducers int) (resorted []string, err error) {
	if reducers < 1 {
		return nil, fmt.Errorf("merge: %d reducers", reducers)
	}
	for {
		err := mergePartitionOnce(inputs, outDir, reducers)
		var unsorted *UnsortedError
		if !errors.As(err, &unsorted) || slices.Contains(resorted, unsorted.File) {
			return resorted, err
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
}

func (e *UnsortedError) Error() string {
	return fmt.Sprintf("%s is not sorted at line %d", e.File, e.Line)
}

func mergePartitionOnce(inputs []string, outDir string, reducers int) (err error) {
	var total int64
	for _, in := range inputs {
		info, err := os.Stat(in)
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		total += info.Size()
	}
	sizes, err := sampleKeys(inputs, max(total/int64(256*reducers), 4096))
	if err != nil {
		return err
	}
	p := &rangePartitioner{outs: make([]*atomicFile, reducers), total: total, keySizes: sizes}
	defer func() {
		if err != nil {
			for _, o := range p.outs {
				if o != nil {
					o.Abort()
				}
			}
		}
	}()
	for i := range p.outs {
		if p.outs[i], err = createAtomic(filepath.Join(outDir, PartitionName(i))); err != nil {
			return err
		}
	}
	if err := mergeFiles(inputs, p.write); err != nil {
		return err
	}
	for i, o := range p.outs {
		p.outs[i] = nil // committed or aborted either way
		if err := o.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// rangePartitioner writes a sorted stream of lines into len(outs)
// partitions of about equal bytes, moving to the next partition only where
// a new key starts.
type rangePartitioner struct {
	outs  []*atomicFile
	total int64
	// keySizes estimates the bytes of the keys large enough to be sampled.
	keySizes map[string]int64
	written  int64
	current  int
	prevKey  []byte
	started  bool
}

func (p *rangePartitioner) write(line []byte) error {
	key := Key(line)
	if !p.started || !bytes.Equal(key, p.prevKey) {
		// Cut before this key if the partition would pass its share's
		// end by more than it would fall short of it without the key.
		for p.current < len(p.outs)-1 && p.written+p.keySizes[string(key)]/2 >= p.total*int64(p.current+1)/int64(len(p.outs)) {
			p.current++
		}
		p.prevKey = append(p.prevKey[:0], key...)
		p.started = true
	}
	out := p.outs[p.current]
	out.Write(line)
	if err := out.WriteByte('\n'); err != nil {
		return fmt.Errorf("write %s: %w", out.target, err)
	}
	p.written += int64(len(line)) + 1
	return nil
}

// sampleKeys estimates the bytes of the largest keys of sorted inputs by
// reading the line at every step bytes of each: a key met at n points in a
// row spans at least (n-1)×step bytes there. Keys met once are left out:
// they may be tiny. It costs a read per step, not a pass.
func sampleKeys(inputs []string, step int64) (map[string]int64, error) {
	sizes := make(map[string]int64)
	met := make(map[string]int64)
	buf := make([]byte, 4096)
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
		for off := step; off < info.Size(); off += step {
			n, err := f.ReadAt(buf, off)
			if err != nil && !errors.Is(err, io.EOF) {
				f.Close()
				return nil, fmt.Errorf("sample %s: %w", in, err)
			}
			// Skip the partial line at off; a line longer than the buffer
			// goes unsampled.
			rest := buf[:n]
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				continue
			}
			rest = rest[i+1:]
			if j := bytes.IndexByte(rest, '\n'); j >= 0 {
				met[string(Key(rest[:j]))]++
			}
		}
		f.Close()
		for key, n := range met {
			if n > 1 {
				sizes[key] += (n - 1) * step
			}
		}
		clear(met)
	}
	return sizes, nil
}

// mergeFiles merges sorted files and passes each line, in order and without
// its newline, to emit. The slice is only valid during the call. An input
// out of order is an *UnsortedError.
func mergeFiles(inputs []string, emit func(line []byte) error) error {
	runs := make(runHeap, 0, len(inputs))
	for _, in := range inputs {
		f, err := os.Open(in)
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		defer f.Close()
		r := &run{name: in, r: bufio.NewReaderSize(f, 256<<10)}
		ok, err := r.next()
		if err != nil {
			return err
		}
		if ok {
			runs = append(runs, r)
		}
	}
	heap.Init(&runs)
	for len(runs) > 0 {
		r := runs[0]
		if err := emit(r.line); err != nil {
			return err
		}
		ok, err := r.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&runs, 0)
		} else {
			heap.Pop(&runs)
		}
	}
	return nil
}

// run is one sorted input being merged.
type run struct {
	name   string
	r      *bufio.Reader
	line   []byte
	prefix uint64 // keyPrefix(line)
	prev   []byte
	number int
}

// next reads the run's next line, checking that the run is sorted. It
// reports false at the end of the run.
func (r *run) next() (bool, error) {
	r.prev, r.line = r.line, r.prev
	line, err := readLine(r.r, r.line)
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", r.name, err)
	}
	r.line = line
	prevPrefix := r.prefix
	r.prefix = keyPrefix(line)
	r.number++
	if r.number > 1 && comparePrefixed(prevPrefix, r.prefix, r.prev, r.line) > 0 {
		return false, &UnsortedError{File: r.name, Line: r.number}
	}
	return true, nil
}

type runHeap []*run

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	return comparePrefixed(h[i].prefix, h[j].prefix, h[i].line, h[j].line) < 0
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*run)) }
func (h *runHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}
