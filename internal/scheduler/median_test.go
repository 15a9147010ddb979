package scheduler

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestMedian adds random durations, asking for the median now and then,
// and checks it against a sort of all of them.
func TestMedian(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var m median
	var all []time.Duration
	if _, ok := m.get(); ok {
		t.Fatal("a median of no durations")
	}
	for range 2000 {
		d := time.Duration(rng.IntN(50)) * time.Second
		all = append(all, d)
		m.add(d)
		if rng.IntN(5) > 0 {
			continue
		}
		sorted := slices.Sorted(slices.Values(all))
		if got, ok := m.get(); !ok || got != sorted[len(sorted)/2] {
			t.Fatalf("median of %d durations %v, want %v", len(all), got, sorted[len(sorted)/2])
		}
	}
}
