package group

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// zipfLines makes n lines of 5–15 words drawn from a Zipf vocabulary, as
// gentext's (the benchmark's input) are: prefixes that often tie.
func zipfLines(n int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 1))
	zipf := rand.NewZipf(rng, 1.1, 1, 99_999)
	lines := make([][]byte, n)
	for i := range lines {
		var b []byte
		for w := range 5 + rng.IntN(11) {
			if w > 0 {
				b = append(b, ' ')
			}
			b = fmt.Appendf(b, "w%x", zipf.Uint64())
		}
		lines[i] = b
	}
	return lines
}

// BenchmarkChunkSort sorts a chunk of 200,000 distinct-ish lines: by the
// radix sort, and by the comparison sort alone.
func BenchmarkChunkSort(b *testing.B) {
	c := newChunk(1 << 30)
	c.hashing = false
	for _, l := range zipfLines(200_000) {
		c.add(l)
	}
	orig := slices.Clone(c.entries)
	for _, sort := range []struct {
		name string
		f    func()
	}{
		{"radix", func() { c.radixSort(c.entries) }},
		{"compare", func() { slices.SortFunc(c.entries, c.compare) }},
	} {
		b.Run(sort.name, func(b *testing.B) {
			for b.Loop() {
				copy(c.entries, orig)
				sort.f()
			}
		})
	}
}
