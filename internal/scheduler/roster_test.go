package scheduler

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRosterTook gives tasks to workers of a roster, as dispatch does,
// and checks that it stays in the order a fresh sort gives.
func TestRosterTook(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		r := &roster{}
		for i := range 1 + rng.IntN(20) {
			r.workers = append(r.workers, &worker{incarnation: i + 1, held: make([]*task, rng.IntN(4))})
		}
		slices.SortFunc(r.workers, byLoad)
		for range 30 {
			at := rng.IntN(len(r.workers))
			r.workers[at].held = append(r.workers[at].held, &task{})
			r.took(at)
			if !slices.IsSortedFunc(r.workers, byLoad) {
				t.Fatalf("roster out of order after a task to worker %d", r.workers[at].incarnation)
			}
		}
	}
}
