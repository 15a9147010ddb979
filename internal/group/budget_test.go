package group

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// inUse is what the chunk's lines take of its buffers.
func (c *chunk) inUse() int64 {
	perEntry := plainEntryBytes
	if c.hashing {
		perEntry = hashedEntryBytes
	}
	return int64(len(c.arena)) + perEntry*int64(len(c.entries))
}

// sortSpilling is SortFiles for tests meant to exercise spilling: it fails
// the test unless the sort spilled at least minRuns sorted runs, since a
// budget that turned out big enough would leave the spill and merge code
// untested while the output still came out right.
func sortSpilling(t *testing.T, inputs []string, output string, memory int64, minRuns int) {
	t.Helper()
	s := &sorter{output: output}
	if err := s.sortFiles(inputs, memory); err != nil {
		t.Fatalf("SortFiles: %v", err)
	}
	if s.runs < minRuns {
		t.Fatalf("SortFiles with a budget of %d bytes spilled %d sorted runs, want at least %d: the test no longer exercises spilling", memory, s.runs, minRuns)
	}
}

// distinctLine returns line number i, n bytes long (at least 8): a
// different line for each i.
func distinctLine(i, n int) []byte {
	line := bytes.Repeat([]byte("x"), max(n, 8))
	binary.BigEndian.PutUint64(line, uint64(i))
	return line
}

// TestChunkStaysInBudget: what a sort chunk holds, counted by capacity,
// never passes its budget, whatever the line lengths, and it takes lines
// until it is reasonably full.
func TestChunkStaysInBudget(t *testing.T) {
	for _, lineLen := range []int{8, 100, 5000, 300 << 10} {
		t.Run(fmt.Sprint(lineLen), func(t *testing.T) {
			const memory = 1 << 20
			c := newChunk(memory)
			n := 0
			for c.add(distinctLine(n, lineLen)) {
				n++
				if c.used() > memory {
					t.Fatalf("after %d lines the chunk holds %d bytes, budget %d", n, c.used(), memory)
				}
				if c.hashing && len(c.index) != 2*cap(c.entries) {
					t.Fatalf("index of %d slots for %d entries", len(c.index), cap(c.entries))
				}
			}
			if n == 0 {
				t.Fatal("an empty chunk refused a line")
			}
			// Grown from nothing, a chunk holds old and new buffers while it
			// copies, and its entries double: it may stop near a sixth of
			// the budget, not less.
			if used := c.inUse(); used < memory/6 {
				t.Errorf("chunk refused a line while using only %d of %d bytes", used, memory)
			}
		})
	}
	// A line longer than the whole budget still goes into an empty chunk.
	c := newChunk(1 << 10)
	if !c.add(bytes.Repeat([]byte("y"), 4<<10)) {
		t.Error("an empty chunk refused a line longer than its budget")
	}
}

// TestChunkSizedWhenLinesDoNotRepeat: once hashing stops, a chunk sized
// for the input still to come fills nearly all its budget, not the third
// that growing by doubling reaches.
func TestChunkSizedWhenLinesDoNotRepeat(t *testing.T) {
	for _, lineLen := range []int{8, 30, 200} {
		t.Run(fmt.Sprint(lineLen), func(t *testing.T) {
			const memory = 16 << 20
			c := newChunk(memory)
			c.left = 100 * memory
			n := 0
			for c.add(distinctLine(n, lineLen)) {
				n++
				if c.used() > memory {
					t.Fatalf("after %d lines the chunk holds %d bytes, budget %d", n, c.used(), memory)
				}
			}
			if c.hashing {
				t.Fatalf("still hashing after %d lines that never repeat", n)
			}
			if used := c.inUse(); used < memory*8/10 {
				t.Errorf("chunk refused a line while using only %d of %d bytes", used, memory)
			}
		})
	}
}

// TestChunkOverBudgetAfterLongLine: a chunk that took a line longer than
// its budget takes no more lines, and after the spill drops the buffers
// that grew for it.
func TestChunkOverBudgetAfterLongLine(t *testing.T) {
	const memory = 1 << 20
	c := newChunk(memory)
	// Each line three times, so that the chunk goes on hashing.
	for i := 0; c.add(distinctLine(i/3, 100)); i++ {
	}
	if !c.hashing {
		t.Fatal("stopped hashing lines read three times each")
	}
	c.reset() // both buffers over half full: kept
	if !c.add(bytes.Repeat([]byte("L"), 900<<10)) {
		t.Fatal("an empty chunk refused a line longer than its budget")
	}
	if c.add(distinctLine(0, 100)) {
		t.Errorf("chunk holding %d bytes, budget %d, took another line", c.used(), memory)
	}
	c.reset()
	// The same from a new chunk, whose buffers both fill with the line.
	c = newChunk(memory)
	c.add(bytes.Repeat([]byte("L"), 2<<20))
	c.reset()
	for round := range 3 {
		n := 0
		for ; c.add(distinctLine(n, 8)); n++ {
		}
		if c.used() > memory || n < 1000 {
			t.Errorf("chunk %d after the long line: %d lines in %d bytes, budget %d", round, n, c.used(), memory)
		}
		c.reset()
	}
}

// TestChunkCountsRepeats: a line read again takes no room, however often.
func TestChunkCountsRepeats(t *testing.T) {
	c := newChunk(1 << 20)
	lines := [][]byte{[]byte("the\t1"), []byte("a\t1"), []byte("the\t2")}
	for i := range 300_000 {
		if !c.add(lines[i%len(lines)]) {
			t.Fatalf("chunk full after %d lines, all repeats of %d", i, len(lines))
		}
	}
	wantBytes := len("the\t1a\t1the\t2") + len(lines)*headerBytes
	if len(c.entries) != len(lines) || len(c.arena) != wantBytes {
		t.Errorf("chunk holds %d entries and %d bytes, want %d and %d", len(c.entries), len(c.arena), len(lines), wantBytes)
	}
	c.sort()
	var b bytes.Buffer
	w := NewWriter(bufio.NewWriter(&b), false)
	if err := c.writeTo(w.Add, nil); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	want := strings.Repeat("a\t1\n", 100_000) + strings.Repeat("the\t1\n", 100_000) + strings.Repeat("the\t2\n", 100_000)
	if b.String() != want {
		t.Errorf("written lines differ from each line as often as it was read")
	}
}

// TestChunkStopsHashing: lines that do not repeat turn hashing off after
// the trial, and lines repeated after that still sort right.
func TestChunkStopsHashing(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	var want []string
	add := func(line string) {
		b.WriteString(line + "\n")
		want = append(want, line)
	}
	for i := range hashingTrial + 1000 {
		add(fmt.Sprintf("k%06d\t%d", (i*7919)%(hashingTrial+1000), i%3))
	}
	for i := range 5000 {
		add(fmt.Sprintf("k%06d\t%d", i%100, i%3))
	}
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newChunk(64 << 20)
	if err := c.read(in, func() error { t.Fatal("spilled"); return nil }); err != nil {
		t.Fatal(err)
	}
	if c.hashing || c.index != nil {
		t.Errorf("still hashing after %d lines that never repeat", hashingTrial)
	}
	out := filepath.Join(dir, "out")
	if err := SortFiles([]string{in}, out, 64<<20); err != nil {
		t.Fatal(err)
	}
	if got, want := readLines(t, out), sortedCopy(want); !slices.Equal(got, want) {
		t.Errorf("sorted output differs (%d lines, want %d)", len(got), len(want))
	}
}

// TestResetResizes: a chunk whose buffers grew for long lines and then
// gets short ones spills early once, and is then sized again for them
// instead of spilling a few lines at a time from then on.
func TestResetResizes(t *testing.T) {
	const memory = 1 << 20
	c := newChunk(memory)
	long := 0
	for c.add(distinctLine(long, 1000)) {
		long++
	}
	c.reset()
	fill := func() int {
		n := 0
		for c.add(distinctLine(n, 8)) {
			n++
		}
		c.reset()
		return n
	}
	fill() // the long lines' buffers, kept
	if short := fill(); short < 10*long {
		t.Errorf("after a spill of short lines the chunk takes %d of them, %d long ones before: not sized again", short, long)
	}
}

// TestSortManySpills: more spilled runs than one merge opens still sort
// right, and leave no run behind. It must spill more runs than maxFanIn,
// so that runs are first merged into longer ones.
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
	sortSpilling(t, []string{in}, out, 1<<20, maxFanIn+1)
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
