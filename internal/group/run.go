package group

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"mapreduce/internal/partition"
)

// Run describes a sorted run that SortRun wrote.
type Run struct {
	// Size is the bytes of the run's lines written out, every copy: what
	// a reducer reads of it, not the size of the file.
	Size    int64
	Samples []Sample
}

// Sample is the key of a line of a run, and the bytes from the start of
// that line to the next sample's line (or the end of the run): what the
// key stands for when the master balances the reducers' key ranges.
type Sample struct {
	Key   []byte
	Bytes int64
}

// SortRun is SortFiles into a counted run (counted.go), and it also samples
// the output: at most samples keys, of lines about evenly spaced in the
// bytes of the lines written out, the first line among them, each key cut
// to partition.MaxKey bytes. The samples' Bytes sum to Size; an empty
// output has none.
func SortRun(inputs []string, output string, memory int64, samples int) (Run, error) {
	if samples < 1 {
		return Run{}, fmt.Errorf("sort run %s: %d samples, want at least 1", output, samples)
	}
	s := &sorter{output: output, counted: true, sample: newSampler(samples)}
	if err := s.sortFiles(inputs, memory); err != nil {
		return Run{}, err
	}
	return s.sample.run(), nil
}

// sampler picks the samples of an output as it is written. The size is not
// known ahead, so it samples densely, a line every step bytes, and each
// time it holds more than twice the samples wanted drops every other one
// and doubles the step: it never holds more than 2*most keys.
type sampler struct {
	most int
	step int64
	size int64 // bytes seen so far
	next int64 // the next sample is the first line starting at or after
	keys [][]byte
	offs []int64 // where each key's line starts
}

func newSampler(most int) *sampler { return &sampler{most: most, step: 1} }

// add counts count copies of line, sampling them where due. A nil sampler
// does nothing.
func (s *sampler) add(line []byte, count int64) {
	if s == nil {
		return
	}
	n := int64(len(line)) + 1
	end := s.size + count*n
	var key []byte // shared by the copies sampled
	for {
		// The first copy that starts at or after next.
		off := s.size + (max(s.next-s.size, 0)+n-1)/n*n
		if off >= end {
			break
		}
		if key == nil {
			k := Key(line)
			key = bytes.Clone(k[:min(len(k), partition.MaxKey)])
			if key == nil {
				key = []byte{}
			}
		}
		s.keys = append(s.keys, key)
		s.offs = append(s.offs, off)
		s.next = off + s.step
		if len(s.keys) > 2*s.most {
			s.thin()
		}
	}
	s.size = end
}

// thin drops every other sample and doubles the step.
func (s *sampler) thin() {
	j := 0
	for i := 0; i < len(s.keys); i += 2 {
		s.keys[j], s.offs[j] = s.keys[i], s.offs[i]
		j++
	}
	clear(s.keys[j:])
	s.keys, s.offs = s.keys[:j], s.offs[:j]
	s.step *= 2
	s.next = s.offs[j-1] + s.step
}

// run returns at most most samples: of those held, the first in each of
// most equal slices of the output's bytes.
func (s *sampler) run() Run {
	r := Run{Size: s.size}
	if s.size == 0 {
		return r
	}
	width := (s.size + int64(s.most) - 1) / int64(s.most)
	var offs []int64
	for i, off := range s.offs {
		if len(offs) == 0 || off/width > offs[len(offs)-1]/width {
			r.Samples = append(r.Samples, Sample{Key: s.keys[i]})
			offs = append(offs, off)
		}
	}
	offs = append(offs, s.size)
	for i := range r.Samples {
		r.Samples[i].Bytes = offs[i+1] - offs[i]
	}
	return r
}

// FindKey returns the offset of the first record of r, a counted run of
// size bytes, whose line's key is at least key, or size if there is none;
// 0 for a nil key. It binary-searches the bytes, reading about a record at
// each of O(log size) probes.
func FindKey(r io.ReaderAt, size int64, key []byte) (int64, error) {
	if key == nil {
		return 0, nil
	}
	// The search looks for the least offset whose next line start is the
	// end or a line with a key >= key: keys only grow along the file, so
	// every offset past it has one too. found is the next line start at
	// or after hi.
	br := bufio.NewReaderSize(nil, 4096)
	lo, hi, found := int64(0), size, size
	for lo < hi {
		mid := lo + (hi-lo)/2
		start, ok, err := seekLine(br, r, mid, hi, size)
		if err != nil {
			return 0, fmt.Errorf("find key: %w", err)
		}
		if !ok {
			hi = mid // no line starts in [mid, hi)
			continue
		}
		if _, err := br.ReadSlice(' '); err != nil && !errors.Is(err, io.EOF) {
			// The record's count; a malformed one shows in the merge.
			return 0, fmt.Errorf("find key: %w", err)
		}
		atLeast, err := keyAtLeast(br, key)
		if err != nil {
			return 0, fmt.Errorf("find key: %w", err)
		}
		if atLeast {
			hi, found = mid, start
		} else {
			lo = start + 1
		}
	}
	return found, nil
}

// keyAtLeast reports whether the key of the line r is at is at least key,
// reading no more of it than the comparison needs.
func keyAtLeast(r *bufio.Reader, key []byte) (bool, error) {
	for i := 0; ; i++ {
		b, err := r.ReadByte()
		if err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		if err != nil || b == '\t' || b == '\n' {
			return i == len(key), nil // the line's key is key[:i]
		}
		if i == len(key) {
			return true, nil // key is a prefix of the line's key
		}
		if b != key[i] {
			return b > key[i], nil
		}
	}
}

// OpenRange opens the part of path, a counted run, that holds exactly the
// records of the lines with lo <= key < hi, and returns its length. A nil lo
// is from the start, a nil hi to the end.
func OpenRange(path string, lo, hi []byte) (io.ReadCloser, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("open range: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open range: %w", err)
	}
	start, err := FindKey(f, info.Size(), lo)
	end := info.Size()
	if err == nil && hi != nil {
		end, err = FindKey(f, info.Size(), hi)
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open range of %s: %w", path, err)
	}
	end = max(end, start) // hi below lo: nothing
	return rangeReader{io.NewSectionReader(f, start, end-start), f}, end - start, nil
}

type rangeReader struct {
	*io.SectionReader
	io.Closer
}
