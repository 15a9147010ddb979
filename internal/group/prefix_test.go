package group

import (
	"math/rand/v2"
	"testing"
)

// TestComparePrefixedAgreesWithCompare checks the prefix shortcut against
// Compare on random lines built from the bytes that matter: zero (the
// padding), tab (the key's end), small and large bytes, keys around 7 bytes.
func TestComparePrefixedAgreesWithCompare(t *testing.T) {
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
		if got := sign(comparePrefixed(keyPrefix(a), keyPrefix(b), a, b)); got != want {
			t.Fatalf("comparePrefixed(%q, %q) = %d, Compare says %d", a, b, got, want)
		}
	}
}
