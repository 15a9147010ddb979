package partition

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// line is a key/value line of a run, by its key and length with newline.
type line struct {
	key   string
	bytes int64
}

// samplesOf samples a run of sorted lines as a worker does: the line at
// or after every step bytes, the first one included.
func samplesOf(lines []line, samples int) []Sample {
	var size int64
	for _, l := range lines {
		size += l.bytes
	}
	step := max(size/int64(samples), 1)
	var out []Sample
	var off, next int64
	for _, l := range lines {
		if off >= next {
			out = append(out, Sample{Key: []byte(l.key)})
			next = off + step
		}
		out[len(out)-1].Bytes += l.bytes
		off += l.bytes
	}
	return out
}

// partitionBytes returns the bytes of each of reducers partitions that
// cuts make of the lines, checking each line falls in exactly one.
func partitionBytes(t *testing.T, lines []line, cuts [][]byte, reducers int) []int64 {
	t.Helper()
	sizes := make([]int64, reducers)
	for _, l := range lines {
		in := 0
		for i := range reducers {
			lo, hi, empty := Range(cuts, i)
			k := []byte(l.key)
			if !empty && (lo == nil || bytes.Compare(k, lo) >= 0) && (hi == nil || bytes.Compare(k, hi) < 0) {
				sizes[i] += l.bytes
				in++
			}
		}
		if in != 1 {
			t.Fatalf("key %q falls in %d partitions", l.key, in)
		}
	}
	return sizes
}

// checkCuts checks the form of cuts.
func checkCuts(t *testing.T, cuts [][]byte, reducers int) {
	t.Helper()
	if len(cuts) > max(reducers-1, 0) {
		t.Fatalf("%d cuts for %d reducers", len(cuts), reducers)
	}
	for i, c := range cuts {
		if len(c) == 0 {
			t.Fatalf("cut %d is the empty key", i)
		}
		if i > 0 && bytes.Compare(cuts[i-1], c) >= 0 {
			t.Fatalf("cuts %q then %q: not strictly ascending", cuts[i-1], c)
		}
	}
}

// runsOf deals lines to runs, sorts each and samples it.
func runsOf(rng *rand.Rand, lines []line, runs, samples int) [][]Sample {
	parts := make([][]line, runs)
	for _, l := range lines {
		i := rng.IntN(runs)
		parts[i] = append(parts[i], l)
	}
	var out [][]Sample
	for _, p := range parts {
		slices.SortFunc(p, func(a, b line) int { return strings.Compare(a.key, b.key) })
		out = append(out, samplesOf(p, samples))
	}
	return out
}

func TestCutsBalance(t *testing.T) {
	zipf := func(rng *rand.Rand) []line {
		z := rand.NewZipf(rng, 1.1, 1, 9999)
		lines := make([]line, 300_000)
		for i := range lines {
			lines[i] = line{fmt.Sprintf("w%04d", z.Uint64()), 8}
		}
		return lines
	}
	// One key holds 15% of the bytes and starts just before the first
	// share ends (with 4 reducers): cutting only after it would make the
	// first partition 2.5 times the second.
	heavy := func(*rand.Rand) []line {
		var lines []line
		for i := range 20_000 {
			lines = append(lines, line{fmt.Sprintf("a%05d", i), 8})
		}
		for range 15_000 {
			lines = append(lines, line{"b00000", 8})
		}
		for i := range 65_000 {
			lines = append(lines, line{fmt.Sprintf("c%05d", i), 8})
		}
		return lines
	}
	// Lines of very different lengths, keys evenly spread.
	lengths := func(rng *rand.Rand) []line {
		lines := make([]line, 50_000)
		for i := range lines {
			lines[i] = line{fmt.Sprintf("k%06d", rng.IntN(1_000_000)), 1 + rng.Int64N(2000)}
		}
		return lines
	}
	tests := []struct {
		name     string
		lines    func(*rand.Rand) []line
		runs     int
		reducers int
		samples  int
		most     float64 // largest over smallest partition
	}{
		{"zipf, 2 reducers", zipf, 4, 2, 256, 2},
		{"zipf, 3 reducers", zipf, 4, 3, 256, 2},
		{"zipf, 4 reducers", zipf, 4, 4, 256, 2},
		{"heavy key", heavy, 2, 4, 1024, 1.6},
		{"lengths, 8 reducers", lengths, 10, 8, 256, 1.3},
		{"lengths, few samples", lengths, 10, 8, 16, 1.6},
	}
	for seed, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 1))
			lines := tt.lines(rng)
			cuts := Cuts(runsOf(rng, lines, tt.runs, tt.samples), tt.reducers)
			checkCuts(t, cuts, tt.reducers)
			if len(cuts) != tt.reducers-1 {
				t.Fatalf("%d cuts for %d reducers", len(cuts), tt.reducers)
			}
			sizes := partitionBytes(t, lines, cuts, tt.reducers)
			lo, hi := slices.Min(sizes), slices.Max(sizes)
			if lo == 0 || float64(hi)/float64(lo) > tt.most {
				t.Errorf("partition bytes %v (cuts %q): largest over smallest is more than %.1f", sizes, cuts, tt.most)
			}
		})
	}
}

func TestCutsFewKeys(t *testing.T) {
	s := func(key string, n int64) Sample { return Sample{Key: []byte(key), Bytes: n} }
	tests := []struct {
		name     string
		runs     [][]Sample
		reducers int
		want     []string
	}{
		{"no runs", nil, 4, nil},
		{"empty runs", [][]Sample{nil, {}}, 4, nil},
		{"one reducer", [][]Sample{{s("a", 10), s("b", 10)}}, 1, nil},
		{"no reducers", [][]Sample{{s("a", 10), s("b", 10)}}, 0, nil},
		{"one key", [][]Sample{{s("a", 10)}, {s("a", 5), s("a", 7)}}, 3, nil},
		{"two keys, four reducers", [][]Sample{{s("a", 10)}, {s("b", 10)}}, 4, []string{"b"}},
		{"empty key never cut", [][]Sample{{s("", 100), s("a", 10), s("b", 10)}}, 3, []string{"a", "b"}},
		{"heavy first key", [][]Sample{{s("a", 100), s("b", 10), s("c", 10), s("d", 10)}}, 3, []string{"b", "c"}},
		{"heavy middle key", [][]Sample{{s("a", 10), s("b", 100)}, {s("c", 10), s("d", 10)}}, 4, []string{"b", "c", "d"}},
		{"equal keys across runs add up", [][]Sample{{s("a", 5), s("b", 5)}, {s("a", 5), s("c", 10)}}, 2, []string{"b"}},
		{"zero bytes", [][]Sample{{s("a", 0), s("b", 0), s("c", 0)}}, 5, []string{"b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cuts := Cuts(tt.runs, tt.reducers)
			checkCuts(t, cuts, tt.reducers)
			var got []string
			for _, c := range cuts {
				got = append(got, string(c))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Cuts = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRange(t *testing.T) {
	cuts := [][]byte{[]byte("b"), []byte("m")}
	tests := []struct {
		cuts   [][]byte
		i      int
		lo, hi []byte
		empty  bool
	}{
		{cuts, 0, nil, []byte("b"), false},
		{cuts, 1, []byte("b"), []byte("m"), false},
		{cuts, 2, []byte("m"), nil, false},
		{cuts, 3, nil, nil, true},
		{cuts, -1, nil, nil, true},
		{nil, 0, nil, nil, false}, // one partition: everything
		{nil, 1, nil, nil, true},
	}
	for _, tt := range tests {
		lo, hi, empty := Range(tt.cuts, tt.i)
		if !bytes.Equal(lo, tt.lo) || (lo == nil) != (tt.lo == nil) || !bytes.Equal(hi, tt.hi) || (hi == nil) != (tt.hi == nil) || empty != tt.empty {
			t.Errorf("Range(%q, %d) = %q, %q, %v; want %q, %q, %v", tt.cuts, tt.i, lo, hi, empty, tt.lo, tt.hi, tt.empty)
		}
	}
}

// TestCutsBalanceZipfRuns: 8 runs of word count's map output (a Zipf
// vocabulary, the counted lines of ~490,000 words each), 4 reducers. With
// 128 samples a run (the master's 256 a reducer) the largest partition is
// within 3% of the mean; with 16 it was 11% over, and the reduce phase
// ended with one reducer alone on a core.
func TestCutsBalanceZipfRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 1, 99_999)
	const maps, reducers, perRun = 8, 4, 128
	var samples [][]Sample
	var all []line
	for range maps {
		counts := map[uint64]int64{}
		for range 490_000 {
			counts[zipf.Uint64()]++
		}
		var run []line
		for w, c := range counts {
			// Keys in an order unrelated to their frequency.
			k := fmt.Sprintf("w%x", w*2654435761%1000003)
			run = append(run, line{k, c * int64(len(k)+3)})
		}
		slices.SortFunc(run, func(a, b line) int { return strings.Compare(a.key, b.key) })
		samples = append(samples, samplesOf(run, perRun))
		all = append(all, run...)
	}
	sizes := partitionBytes(t, all, Cuts(samples, reducers), reducers)
	var total, most int64
	for _, s := range sizes {
		total += s
		most = max(most, s)
	}
	if ratio := float64(most) * reducers / float64(total); ratio > 1.03 {
		t.Errorf("partitions of %v bytes: the largest is %.3f of the mean, want at most 1.03", sizes, ratio)
	}
}
