package scheduler

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"mapreduce/protocol"
)

// TestCounterSumKeptUpToDate finishes tasks with random counters (names
// that repeat, past MaxCounters, some tasks finishing again) and checks,
// after each, that the job's sum, kept up to date as tasks finish, is
// what summing every task again gives.
func TestCounterSumKeptUpToDate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 50 {
		j := &job{}
		st := &stage{kind: stageMap}
		j.stages = []*stage{st}
		for i := range 40 {
			st.tasks = append(st.tasks, &task{job: j, stage: st, index: i})
		}
		s := newScheduler()
		names := 1 + rng.IntN(2*protocol.MaxCounters)
		for range 100 {
			tk := st.tasks[rng.IntN(len(st.tasks))]
			r := protocol.Report{Counters: protocol.Counters{}}
			for range rng.IntN(8) {
				r.Counters.Add(fmt.Sprintf("g%d", rng.IntN(3)), fmt.Sprintf("n%d", rng.IntN(names)), rng.Int64N(100))
			}
			if rng.IntN(4) == 0 {
				r.Counters.Add(protocol.CounterGroup, protocol.BuiltinCounter(protocol.PhaseMap, "input_bytes"), 1)
			}
			s.record(tk, &attempt{}, r, true)
			if rng.IntN(3) == 0 {
				j.counters() // the sum is made, and then kept up to date
			}
			got, gotDropped := j.counters()
			j.counterSum = nil
			want, wantDropped := j.counters()
			if !reflect.DeepEqual(got, want) || gotDropped != wantDropped {
				t.Fatalf("round %d: sum kept %v (%d dropped), summed again %v (%d dropped)", round, got, gotDropped, want, wantDropped)
			}
		}
	}
}
