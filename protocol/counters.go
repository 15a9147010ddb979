package protocol

import (
	"maps"
	"slices"
)

// Counters are named totals, GROUP → NAME → amount: what Hadoop
// Streaming's `reporter:counter:GROUP,NAME,AMOUNT` stderr lines add to, and
// the built-in ones in CounterGroup. A task's status carries its own; a
// job's are the sum over the accepted attempt of each task.
type Counters map[string]map[string]int64

// CounterGroup holds the built-in counters: STAGE_input_records,
// STAGE_input_bytes, STAGE_output_records and STAGE_output_bytes for the
// map, combine and reduce stages.
const CounterGroup = "mapreduce"

// Bounds on counters, as Hadoop bounds them: what others send is clipped to
// these, and a counter past MaxCounters is dropped.
const (
	MaxCounters         = 120
	MaxCounterGroupName = 128
	MaxCounterName      = 64
)

// Add adds n to GROUP/NAME and reports whether it could: a new counter
// past MaxCounters, or with a name too long or empty, is refused.
func (c Counters) Add(group, name string, n int64) bool {
	if group == "" || name == "" || len(group) > MaxCounterGroupName || len(name) > MaxCounterName {
		return false
	}
	if _, ok := c[group][name]; !ok && c.Len() >= MaxCounters {
		return false
	}
	if c[group] == nil {
		c[group] = map[string]int64{}
	}
	c[group][name] += n
	return true
}

// AddAll adds every counter of o to c, within c's bounds.
func (c Counters) AddAll(o Counters) {
	for _, g := range slices.Sorted(maps.Keys(o)) {
		for _, n := range slices.Sorted(maps.Keys(o[g])) {
			c.Add(g, n, o[g][n])
		}
	}
}

// Len counts the counters.
func (c Counters) Len() int {
	n := 0
	for _, g := range c {
		n += len(g)
	}
	return n
}
