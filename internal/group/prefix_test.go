package group

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCompareKeyedAgreesWithCompare checks the prefix shortcut against
// Compare on random lines built from the bytes that matter: zero (the
// padding), tab (the key's end), small and large bytes, keys around 7 bytes.
func TestCompareKeyedAgreesWithCompare(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	alphabet := []byte{0, 1, '\t', 'a', 'b', 0xfe, 0xff}
	line := func() []byte {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return b
	}
	sign := func(x int) int { return min(max(x, -1), 1) }
	for range 200_000 {
		a, b := line(), line()
		want := sign(Compare(a, b))
		pa, ka := keyOf(a)
		pb, kb := keyOf(b)
		if got := sign(compareKeyed(pa, pb, ka, kb, a, b)); got != want {
			t.Fatalf("compareKeyed(%q, %q) = %d, Compare says %d", a, b, got, want)
		}
	}
}

// TestChunkCompareAgreesWithCompare checks the sort's comparison of
// entries, which reads key lengths from the arena, against Compare, on
// lines that often share a prefix of 7 bytes or more and then differ by
// bytes around the tab.
func TestChunkCompareAgreesWithCompare(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	alphabet := []byte{0, 1, '\t', 'a', 0xff}
	c := newChunk(64 << 20)
	for range 20_000 {
		b := make([]byte, rng.IntN(16))
		for i := range b {
			if i < 6 && rng.IntN(8) > 0 {
				b[i] = 'a'
			} else {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		c.add(b)
	}
	sign := func(x int) int { return min(max(x, -1), 1) }
	for range 200_000 {
		a, b := c.entries[rng.IntN(len(c.entries))], c.entries[rng.IntN(len(c.entries))]
		want := sign(Compare(c.line(a), c.line(b)))
		if got := sign(c.compare(a, b)); got != want {
			t.Fatalf("compare(%q, %q) = %d, Compare says %d", c.line(a), c.line(b), got, want)
		}
	}
	c.sort()
	for i := 1; i < len(c.entries); i++ {
		if a, b := c.line(c.entries[i-1]), c.line(c.entries[i]); Compare(a, b) > 0 {
			t.Fatalf("sorted %q before %q", a, b)
		}
	}
}

// TestRadixSortAgreesWithCompare sorts chunks of lines that tie in their
// prefixes in every way (short keys, keys of 7 bytes and more, the same
// key with other values, bytes 0 and 0xff) and checks the order against
// Compare, with buckets above and below the radix cutoff.
func TestRadixSortAgreesWithCompare(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	alphabet := []byte{0, 1, '\t', 'a', 'b', 0xfe, 0xff}
	for _, lines := range []int{0, 1, 2, radixCutoff - 1, radixCutoff, 1000, 50_000, -50_000} {
		// Negative: keys that tie over two prefixes' worth of bytes.
		same, length := 9, 20
		if lines < 0 {
			lines, same, length = -lines, 22, 30
		}
		c := newChunk(64 << 20)
		c.hashing = false // keep repeated lines apart too
		for range lines {
			b := make([]byte, rng.IntN(length))
			for i := range b {
				if i < same && rng.IntN(16) > 0 {
					b[i] = 'a'
				} else {
					b[i] = alphabet[rng.IntN(len(alphabet))]
				}
			}
			c.add(b)
		}
		want := slices.Clone(c.entries)
		slices.SortFunc(want, c.compare)
		c.sort()
		if len(c.entries) != lines {
			t.Fatalf("%d lines sorted into %d", lines, len(c.entries))
		}
		for i, e := range c.entries {
			// The same lines in the same order (equal lines may swap).
			if got, w := c.line(e), c.line(want[i]); !bytes.Equal(got, w) {
				t.Fatalf("%d lines: line %d is %q, want %q", lines, i, got, w)
			}
		}
	}
}
