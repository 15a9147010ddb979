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
// contiguous key ranges cut at key boundaries where the bytes written pass
// each reducer's equal share, so they are balanced in bytes (a key's lines
// never split, so one key can tip a partition over its share by at most its
// own size), each is sorted, and together, in order, they are the whole
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
	p := &rangePartitioner{outs: make([]*atomicFile, reducers), total: total}
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
	outs    []*atomicFile
	total   int64
	written int64
	current int
	prevKey []byte
	started bool
}

func (p *rangePartitioner) write(line []byte) error {
	key := Key(line)
	if !p.started || !bytes.Equal(key, p.prevKey) {
		for p.current < len(p.outs)-1 && p.written >= p.total*int64(p.current+1)/int64(len(p.outs)) {
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
	r.number++
	if r.number > 1 && Compare(r.prev, r.line) > 0 {
		return false, &UnsortedError{File: r.name, Line: r.number}
	}
	return true, nil
}

type runHeap []*run

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return Compare(h[i].line, h[j].line) < 0 }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*run)) }
func (h *runHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}
