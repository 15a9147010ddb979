package group

import (
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mapreduce/internal/partition"
)

// TestShuffle runs the pieces as the shuffle does: maps sort runs and
// sample them, the cuts come from the samples, and each reducer merges its
// range of every run. Together, in order, the reducers see every line
// sorted, each key at one reducer.
func TestShuffle(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 13))
	dir := t.TempDir()
	const maps, reducers = 7, 5
	var all []string
	var runs []string
	var samples [][]partition.Sample
	for i := range maps {
		lines := randomLines(rng, 5000, 2000)
		all = append(all, lines...)
		in := filepath.Join(dir, fmt.Sprintf("in%d", i))
		writeFile(t, in, strings.Join(lines, "\n"))
		out := filepath.Join(dir, fmt.Sprintf("run%d", i))
		r, err := SortRun([]string{in}, out, testMemory, 64)
		if err != nil {
			t.Fatal(err)
		}
		var s []partition.Sample
		for _, x := range r.Samples {
			s = append(s, partition.Sample{Key: x.Key, Bytes: x.Bytes})
		}
		samples = append(samples, s)
		runs = append(runs, out)
	}
	cuts := partition.Cuts(samples, reducers)
	var got []string
	for p := range reducers {
		lo, hi, empty := partition.Range(cuts, p)
		if empty {
			continue
		}
		var part []string
		open := func(i int) (io.ReadCloser, error) {
			rc, _, err := OpenRange(runs[i], lo, hi)
			return rc, err
		}
		err := MergeStreams(len(runs), open, func(line []byte, count int64) error {
			for range count {
				part = append(part, string(line))
			}
			return nil
		}, 3, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if len(part) == 0 {
			t.Errorf("partition %d is empty", p)
		}
		got = append(got, part...)
	}
	if want := sortedCopy(all); !slices.Equal(got, want) {
		t.Errorf("the reducers got %d lines, want %d, in order", len(got), len(want))
	}
}
