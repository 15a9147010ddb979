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

// CounterGroup holds the built-in counters, BuiltinCounter's names. They
// are the worker's own: a program's counter in this group is refused.
const CounterGroup = "mapreduce"

// BuiltinCounter names the built-in counter of stage (a phase: map, sort,
// combine or reduce) that counts what: input_records, input_bytes,
// output_records or output_bytes.
func BuiltinCounter(stage, what string) string { return stage + "_" + what }

// builtin holds BuiltinCounter's names.
var builtin = func() map[string]bool {
	names := map[string]bool{}
	for _, stage := range Phases {
		for _, what := range []string{"input_records", "input_bytes", "output_records", "output_bytes"} {
			names[BuiltinCounter(stage, what)] = true
		}
	}
	return names
}()

// Bounds on counters, as Hadoop bounds them: a counter past MaxCounters,
// or with a name too long, is refused. The built-in counters do not count
// against MaxCounters: a program's counters cannot push them out.
const (
	MaxCounters         = 120
	MaxCounterGroupName = 128
	MaxCounterName      = 64
)

// Add adds n to GROUP/NAME and reports whether it could: a new counter
// past MaxCounters, with a name too long or empty, or in CounterGroup but
// not built-in, is refused.
func (c Counters) Add(group, name string, n int64) bool {
	if group == "" || name == "" || len(group) > MaxCounterGroupName || len(name) > MaxCounterName {
		return false
	}
	if group == CounterGroup && !builtin[name] {
		return false
	}
	if _, ok := c[group][name]; !ok && group != CounterGroup && c.Len() >= MaxCounters {
		return false
	}
	if c[group] == nil {
		c[group] = map[string]int64{}
	}
	c[group][name] += n
	return true
}

// AddAll adds every counter of o to c, within c's bounds, and returns how
// many it refused.
func (c Counters) AddAll(o Counters) (refused int) {
	for _, g := range slices.Sorted(maps.Keys(o)) {
		for _, n := range slices.Sorted(maps.Keys(o[g])) {
			if !c.Add(g, n, o[g][n]) {
				refused++
			}
		}
	}
	return refused
}

// Len counts the counters, the built-in ones left out.
func (c Counters) Len() int {
	n := 0
	for g, names := range c {
		if g != CounterGroup {
			n += len(names)
		}
	}
	return n
}
