package group

import (
	"bytes"
	"fmt"
	"testing"
)

// TestChunkStaysInBudget: what a sort chunk holds, counted by capacity,
// never passes its budget, whatever the line lengths.
func TestChunkStaysInBudget(t *testing.T) {
	for _, lineLen := range []int{0, 1, 7, 100, 5000, 300 << 10} {
		t.Run(fmt.Sprint(lineLen), func(t *testing.T) {
			const memory = 1 << 20
			c := &chunk{memory: memory}
			line := bytes.Repeat([]byte("x"), lineLen)
			n := 0
			for c.add(line) {
				n++
				if used := int64(cap(c.arena)) + entryBytes*int64(cap(c.entries)); used > memory {
					t.Fatalf("after %d lines the chunk holds %d bytes, budget %d", n, used, memory)
				}
			}
			if n == 0 {
				t.Fatal("an empty chunk refused a line")
			}
			// Full means nearly full: no more than one line and the growth
			// granularity short of the budget.
			if used := int64(len(c.arena)) + entryBytes*int64(len(c.entries)); used < memory/2 {
				t.Errorf("chunk refused a line while using only %d of %d bytes", used, memory)
			}
		})
	}
	// A line longer than the whole budget still goes into an empty chunk.
	c := &chunk{memory: 1 << 10}
	if !c.add(bytes.Repeat([]byte("y"), 4<<10)) {
		t.Error("an empty chunk refused a line longer than its budget")
	}
}
