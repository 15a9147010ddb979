package group

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// wordCountOutput writes, into dir, maps files of word count's map output
// ("word\t1" lines, the words Zipf-distributed as gentext's) of about
// bytes each, and returns their names.
func wordCountOutput(b *testing.B, dir string, maps int, bytes int64) []string {
	b.Helper()
	rng := rand.New(rand.NewPCG(3, 3))
	zipf := rand.NewZipf(rng, 1.1, 1, 99_999)
	var names []string
	for i := range maps {
		name := filepath.Join(dir, fmt.Sprintf("map-output-%d", i))
		f, err := os.Create(name)
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		for n := int64(0); n < bytes; {
			k, _ := fmt.Fprintf(w, "w%x\t1\n", zipf.Uint64())
			n += int64(k)
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		names = append(names, name)
	}
	return names
}

// BenchmarkShuffleWordCount times the shuffle's two halves on 8 map
// outputs of 4 MB of word count's lines: a map task's sort of its output
// into a run, and a reduce task's merge of the runs into its input.
func BenchmarkShuffleWordCount(b *testing.B) {
	dir := b.TempDir()
	outputs := wordCountOutput(b, dir, 8, 4<<20)
	runs := make([]string, len(outputs))
	for i, out := range outputs {
		runs[i] = out + ".run"
		if _, err := SortRun([]string{out}, runs[i], 256<<20, 64); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("sort", func(b *testing.B) {
		b.SetBytes(4 << 20)
		for b.Loop() {
			if _, err := SortRun(outputs[:1], filepath.Join(dir, "sorted"), 256<<20, 64); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("merge", func(b *testing.B) {
		b.SetBytes(8 * 4 << 20)
		w := NewWriter(bufio.NewWriterSize(io.Discard, 64<<10), false)
		for b.Loop() {
			err := MergeStreams(len(runs), func(i int) (io.ReadCloser, error) {
				rc, _, err := OpenRange(runs[i], nil, nil)
				return rc, err
			}, w.Add, 32, dir)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
