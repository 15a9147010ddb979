package group

import (
	"bufio"
	"container/heap"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// PartitionName is the name of reducer i's input, as the seed fixes it.
func PartitionName(i int) string { return fmt.Sprintf("input_%d", i) }

// Partition returns which of n reducers gets key.
func Partition(key []byte, n int) int {
	h := fnv.New32a()
	h.Write(key)
	return int(h.Sum32() % uint32(n))
}

// MergePartition merges inputs, each sorted by Compare, in one streaming
// pass, and writes each line to outDir/input_i for the reducer i its key
// partitions to. Every partition file is written, empty or not, and each is
// sorted.
//
// A worker that follows only the seed may sort in another order (Python's
// sorted() over lines that keep their newline puts "k\t1\n" before "k\n").
// Such an input is found out of order during the merge, sorted again here,
// and the merge starts over; resorted names those inputs.
func MergePartition(inputs []string, outDir string, reducers int) (resorted []string, err error) {
	for {
		err := mergeOnce(inputs, outDir, reducers)
		var unsorted *UnsortedError
		if !errors.As(err, &unsorted) || slices.Contains(resorted, unsorted.File) {
			return resorted, err
		}
		if err := SortFiles([]string{unsorted.File}, unsorted.File); err != nil {
			return resorted, err
		}
		resorted = append(resorted, unsorted.File)
	}
}

// UnsortedError reports an input of MergePartition that is not sorted.
type UnsortedError struct {
	File string
	Line int
}

func (e *UnsortedError) Error() string {
	return fmt.Sprintf("%s is not sorted at line %d", e.File, e.Line)
}

func mergeOnce(inputs []string, outDir string, reducers int) (err error) {
	if reducers < 1 {
		return fmt.Errorf("merge: %d reducers", reducers)
	}
	outs := make([]*atomicFile, reducers)
	defer func() {
		if err != nil {
			for _, o := range outs {
				if o != nil {
					o.Abort()
				}
			}
		}
	}()
	for i := range outs {
		if outs[i], err = createAtomic(filepath.Join(outDir, PartitionName(i))); err != nil {
			return err
		}
	}
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
		out := outs[Partition(Key(r.line), reducers)]
		out.Write(r.line)
		if err := out.WriteByte('\n'); err != nil {
			return fmt.Errorf("write %s: %w", out.target, err)
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
	for i, o := range outs {
		if err := o.Commit(); err != nil {
			outs = outs[i+1:]
			return err
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
