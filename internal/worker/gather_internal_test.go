package worker

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"mapreduce/internal/group"
	"mapreduce/protocol"
)

// A cancelled reduce task's merge stops at its first read, in a first
// pass that merges some pieces into a temporary file (more pieces than
// mergeFanIn) too.
func TestCancelledMergeStopsInItsFirstPass(t *testing.T) {
	dir := t.TempDir()
	const n = mergeFanIn + 8
	fetched := make([]string, n)
	for i := range n {
		fetched[i] = filepath.Join(dir, fmt.Sprintf("fetch-%d", i))
		f, err := os.Create(fetched[i])
		if err != nil {
			t.Fatal(err)
		}
		w := group.NewWriter(bufio.NewWriter(f), true)
		for k := range 1000 {
			w.Add(fmt.Appendf(nil, "key%05d\t%d", k, i), 1)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opened := 0
	red := &protocol.ReduceInput{Pieces: make([]protocol.Piece, n)}
	err := mergePieces(ctx, red, make([]string, n), filepath.Join(dir, "merged"), dir, func(i int) (io.ReadCloser, error) {
		opened++
		return os.Open(fetched[i])
	})
	if err == nil {
		t.Fatal("a cancelled merge succeeded")
	}
	if opened > mergeFanIn {
		t.Errorf("a cancelled merge went on past its first pass: %d pieces opened", opened)
	}
}
