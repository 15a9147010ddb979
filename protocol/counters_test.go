package protocol

import (
	"fmt"
	"strings"
	"testing"
)

func TestCountersAdd(t *testing.T) {
	c := Counters{}
	tests := []struct {
		group, name string
		n           int64
		ok          bool
	}{
		{"wc", "lines", 3, true},
		{"wc", "lines", 4, true},
		{"wc", "words", -2, true},
		{"", "x", 1, false},
		{"wc", "", 1, false},
		{strings.Repeat("g", MaxCounterGroupName+1), "x", 1, false},
		{"wc", strings.Repeat("n", MaxCounterName+1), 1, false},
	}
	for _, tt := range tests {
		if got := c.Add(tt.group, tt.name, tt.n); got != tt.ok {
			t.Errorf("Add(%q, %q, %d) = %t, want %t", tt.group, tt.name, tt.n, got, tt.ok)
		}
	}
	if c["wc"]["lines"] != 7 || c["wc"]["words"] != -2 || c.Len() != 2 {
		t.Errorf("counters %v, want wc/lines 7 and wc/words -2 only", c)
	}
}

func TestCountersBounded(t *testing.T) {
	c := Counters{}
	o := Counters{"g": {}}
	for i := range MaxCounters + 10 {
		o["g"][fmt.Sprintf("c%03d", i)] = 1
	}
	c.AddAll(o)
	if c.Len() != MaxCounters {
		t.Fatalf("%d counters kept, want MaxCounters (%d)", c.Len(), MaxCounters)
	}
	// A counter already there still adds past the bound.
	if !c.Add("g", "c000", 5) || c["g"]["c000"] != 6 {
		t.Errorf("adding to a known counter at the bound: %d, want 6", c["g"]["c000"])
	}
	if c.Add("g", "new", 1) {
		t.Error("a new counter past the bound was taken")
	}
}

func TestBuiltinCounters(t *testing.T) {
	c := Counters{}
	for i := range MaxCounters {
		c.Add("mine", fmt.Sprintf("c%d", i), 1)
	}
	if !c.Add(CounterGroup, BuiltinCounter(PhaseMap, "input_records"), 3) {
		t.Error("a built-in counter was refused once a program's counters reached the bound")
	}
	if c.Add(CounterGroup, "forged", 1) {
		t.Error("a counter in the built-in group that is not built-in was taken")
	}
	if refused := (Counters{}).AddAll(Counters{CounterGroup: {"x": 1, BuiltinCounter(PhaseReduce, "output_bytes"): 2}}); refused != 1 {
		t.Errorf("AddAll refused %d, want 1", refused)
	}
}
