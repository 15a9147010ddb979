package group

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mapreduce/internal/layout"
)

// partitionSizes merges sorted runs made from lines into reducers
// partitions and returns their sizes in bytes.
func partitionSizes(t *testing.T, runs [][]string, reducers int) []int64 {
	t.Helper()
	dir := t.TempDir()
	var sorted []string
	for i, lines := range runs {
		raw := filepath.Join(dir, fmt.Sprintf("raw_%d", i))
		if err := os.WriteFile(raw, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s := filepath.Join(dir, fmt.Sprintf("sorted_%d", i))
		if err := SortFiles([]string{raw}, s, 64<<20); err != nil {
			t.Fatal(err)
		}
		sorted = append(sorted, s)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := MergePartition(sorted, out, reducers, nil); err != nil {
		t.Fatal(err)
	}
	sizes := make([]int64, reducers)
	for i := range sizes {
		info, err := os.Stat(filepath.Join(out, layout.ReduceInputName(i)))
		if err != nil {
			t.Fatal(err)
		}
		sizes[i] = info.Size()
	}
	return sizes
}

func checkBalance(t *testing.T, sizes []int64, most float64) {
	t.Helper()
	lo, hi := sizes[0], sizes[0]
	for _, s := range sizes {
		lo, hi = min(lo, s), max(hi, s)
	}
	if lo == 0 || float64(hi)/float64(lo) > most {
		t.Errorf("partition sizes %v: largest over smallest is more than %.1f", sizes, most)
	}
}

// TestBalanceZipf: word-count lines with Zipf keys, keys outnumbering
// reducers by far more than 1000 to 1: the largest partition is within 2x
// of the smallest, though the commonest key alone is over a tenth.
func TestBalanceZipf(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 1, 9999)
	runs := make([][]string, 2)
	for i := range 300_000 {
		runs[i%2] = append(runs[i%2], fmt.Sprintf("w%04d\t1", zipf.Uint64()))
	}
	for _, reducers := range []int{2, 3, 4} {
		t.Run(fmt.Sprint(reducers), func(t *testing.T) {
			checkBalance(t, partitionSizes(t, runs, reducers), 2)
		})
	}
}

// TestBalanceHeavyKey: one key holds 15% of the bytes and starts just
// before the first share ends; cutting only after it would make the first
// partition 2.5 times the second.
func TestBalanceHeavyKey(t *testing.T) {
	var lines []string
	for i := range 20_000 {
		lines = append(lines, fmt.Sprintf("a%05d\t1", i)) // 20% of the bytes, before the heavy key
	}
	for range 15_000 {
		lines = append(lines, "b00000\t1") // the heavy key: 15%
	}
	for i := range 65_000 {
		lines = append(lines, fmt.Sprintf("c%05d\t1", i))
	}
	sizes := partitionSizes(t, [][]string{lines[:50_000], lines[50_000:]}, 4)
	checkBalance(t, sizes, 1.6)
}

// TestMergePartitionReady: each partition is handed over once, in order,
// complete on disk when it is.
func TestMergePartitionReady(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "sorted")
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "k%05d\t1\n", i)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	var got []int
	lines := 0
	ready := func(i int) {
		got = append(got, i)
		data, err := os.ReadFile(filepath.Join(out, layout.ReduceInputName(i)))
		if err != nil {
			t.Errorf("partition %d handed over but not there: %v", i, err)
		}
		lines += strings.Count(string(data), "\n")
	}
	if _, err := MergePartition([]string{in}, out, 4, ready); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 1 2 3]" {
		t.Errorf("partitions handed over in order %v, want [0 1 2 3]", got)
	}
	if lines != 5000 {
		t.Errorf("handed-over partitions hold %d lines, want 5000", lines)
	}
}

// TestMergeForeignOrder: a file sorted as Python's sorted() sorts whole
// lines puts "z\x01\t1" before "z\t1". Found while the merge is still in z's
// partition, it is re-sorted and merged again; found after a line's
// partition went to its reducer, the merge fails rather than change it.
func TestMergeForeignOrder(t *testing.T) {
	dir := t.TempDir()
	var good strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&good, "k%03d\t1\n", i)
	}
	tests := []struct {
		name, bad string
		wantErr   bool
	}{
		{"in the last partition", "a\t1\nz\x01\t1\nz\t1\n", false},
		{"behind a reduced partition", "a\x01\t1\nk500\t1\na\t1\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := t.TempDir()
			goodFile, badFile := filepath.Join(in, "good"), filepath.Join(in, "bad")
			os.WriteFile(goodFile, []byte(good.String()), 0o644)
			os.WriteFile(badFile, []byte(tt.bad), 0o644)
			out := filepath.Join(dir, tt.name)
			os.Mkdir(out, 0o755)
			var ready []int
			_, err := MergePartition([]string{goodFile, badFile}, out, 4, func(i int) { ready = append(ready, i) })
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "already reduced") {
					t.Fatalf("got %v, want an error naming a partition already reduced", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ready) != "[0 1 2 3]" {
				t.Errorf("partitions handed over %v, want each once in order", ready)
			}
			data, _ := os.ReadFile(filepath.Join(out, layout.ReduceInputName(3)))
			if !strings.HasSuffix(string(data), "z\t1\nz\x01\t1\n") {
				t.Errorf("last partition ends %q, want z before z\\x01", data[max(0, len(data)-20):])
			}
		})
	}
}

// TestBalanceLongLines: lines far longer than a sample's read still give
// their keys, so the partitions stay balanced.
func TestBalanceLongLines(t *testing.T) {
	var lines []string
	value := strings.Repeat("v", 1100)
	for i := range 400 {
		lines = append(lines, fmt.Sprintf("doc%03d\t%s", i, value))
	}
	checkBalance(t, partitionSizes(t, [][]string{lines}, 4), 1.5)
}

// TestEmptyKeyCut: the empty key, sampled many times, can bound a
// partition like any other.
func TestEmptyKeyCut(t *testing.T) {
	var lines []string
	for i := range 3000 {
		lines = append(lines, fmt.Sprintf("\t%d", i)) // key ""
	}
	for i := range 3000 {
		lines = append(lines, fmt.Sprintf("k%04d\t1", i))
	}
	sizes := partitionSizes(t, [][]string{lines}, 2)
	if sizes[0] == 0 || sizes[1] == 0 {
		t.Errorf("partition sizes %v: one is empty", sizes)
	}
}

// TestMergeAllocatesPerRunNotPerLine: ten times the lines cost the merge
// no more allocations, beyond a small constant.
func TestMergeAllocatesPerRunNotPerLine(t *testing.T) {
	allocs := func(lines int) float64 {
		dir := t.TempDir()
		var runs []string
		for r := range 2 {
			var b strings.Builder
			for i := range lines {
				fmt.Fprintf(&b, "k%07d\t%d\n", i, r)
			}
			name := filepath.Join(dir, fmt.Sprintf("run%d", r))
			if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			runs = append(runs, name)
		}
		out := filepath.Join(dir, "out")
		os.Mkdir(out, 0o755)
		return testing.AllocsPerRun(1, func() {
			if _, err := MergePartition(runs, out, 4, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(10_000), allocs(100_000)
	if large > small+200 {
		t.Errorf("merging 2×100k lines took %.0f allocations, 2×10k took %.0f: the merge allocates per line", large, small)
	}
	t.Logf("allocations: %.0f for 2×10k lines, %.0f for 2×100k", small, large)
}
