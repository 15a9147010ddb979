package group

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestChunkStaysInBudget: what a sort chunk holds, counted by capacity,
// never passes its budget, whatever the line lengths.
func TestChunkStaysInBudget(t *testing.T) {
	for _, lineLen := range []int{0, 1, 7, 100, 5000, 300 << 10} {
		t.Run(fmt.Sprint(lineLen), func(t *testing.T) {
			const memory = 1 << 20
			c := &chunk{memory: memory}
			line := bytes.Repeat([]byte("x"), lineLen)
			n := 0
			for c.add(line) {
				n++
				if used := int64(cap(c.arena)) + entryBytes*int64(cap(c.entries)); used > memory {
					t.Fatalf("after %d lines the chunk holds %d bytes, budget %d", n, used, memory)
				}
			}
			if n == 0 {
				t.Fatal("an empty chunk refused a line")
			}
			// Grown from nothing, a chunk holds old and new buffers while it
			// copies, so it may stop near a third of the budget, not less.
			if used := int64(len(c.arena)) + entryBytes*int64(len(c.entries)); used < memory/3 {
				t.Errorf("chunk refused a line while using only %d of %d bytes", used, memory)
			}
			// Sized ahead for its lines, it fills nearly all of it.
			c = newChunk(memory, 100*memory, int64(lineLen)+1)
			for c.add(line) {
				if used := int64(cap(c.arena)) + entryBytes*int64(cap(c.entries)); used > memory {
					t.Fatalf("a sized chunk holds %d bytes, budget %d", used, memory)
				}
			}
			if used := int64(len(c.arena)) + entryBytes*int64(len(c.entries)); used < memory*9/10 && memory-used > int64(lineLen)+entryBytes {
				t.Errorf("a sized chunk refused a line while using only %d of %d bytes", used, memory)
			}
		})
	}
	// A line longer than the whole budget still goes into an empty chunk.
	c := &chunk{memory: 1 << 10}
	if !c.add(bytes.Repeat([]byte("y"), 4<<10)) {
		t.Error("an empty chunk refused a line longer than its budget")
	}
}

// TestReuseResizes: a chunk sized for long lines that fills its entries
// with short ones is sized again for them after the spill, instead of
// spilling a few lines at a time from then on.
func TestReuseResizes(t *testing.T) {
	const memory = 1 << 20
	s := &sorter{output: filepath.Join(t.TempDir(), "out"), memory: memory, left: 100 << 20,
		chunk: newChunk(memory, 100<<20, 1000)}
	short := []byte("k\t1")
	n := 0
	for s.chunk.add(short) {
		n++
	}
	if err := s.spill(); err != nil {
		t.Fatal(err)
	}
	s.reuse()
	m := 0
	for s.chunk.add(short) {
		m++
	}
	if m < 10*n {
		t.Errorf("after the spill the chunk takes %d short lines, before %d: not sized again", m, n)
	}
	if used := int64(cap(s.chunk.arena)) + entryBytes*int64(cap(s.chunk.entries)); used > memory {
		t.Errorf("resized chunk holds %d bytes, budget %d", used, memory)
	}
	os.Remove(s.spills[0])
}

// TestSortManySpills: more spilled runs than one merge opens still sort
// right, and leave no run behind.
func TestSortManySpills(t *testing.T) {
	defer func(n int) { maxFanIn = n }(maxFanIn)
	maxFanIn = 3
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	var b bytes.Buffer
	rng := rand.New(rand.NewPCG(3, 4))
	var want []string
	for range 200_000 {
		line := fmt.Sprintf("w%05d\t%d", rng.IntN(50_000), rng.IntN(10))
		want = append(want, line)
		b.WriteString(line + "\n")
	}
	if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "sorted")
	if err := SortFiles([]string{in}, out, 1<<20); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	slices.SortFunc(want, func(a, b string) int { return Compare([]byte(a), []byte(b)) })
	if !slices.Equal(got, want) {
		t.Errorf("sorted output differs (%d lines, want %d)", len(got), len(want))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("directory holds %d entries, want in and sorted only", len(entries))
	}
}
