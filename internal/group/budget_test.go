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
			// Grown from nothing, a chunk holds old and new buffers while it
			// copies, so it may stop near a third of the budget, not less.
			if used := int64(len(c.arena)) + entryBytes*int64(len(c.entries)); used < memory/3 {
				t.Errorf("chunk refused a line while using only %d of %d bytes", used, memory)
			}
			// Sized ahead for its lines, it fills nearly all of it.
			c = newChunk(memory, 100*memory, int64(lineLen)+1)
			for c.add(line) {
				if used := int64(cap(c.arena)) + entryBytes*int64(cap(c.entries)); used > memory {
					t.Fatalf("a sized chunk holds %d bytes, budget %d", used, memory)
				}
			}
			if used := int64(len(c.arena)) + entryBytes*int64(len(c.entries)); used < memory*9/10 && memory-used > int64(lineLen)+entryBytes {
				t.Errorf("a sized chunk refused a line while using only %d of %d bytes", used, memory)
			}
		})
	}
	// A line longer than the whole budget still goes into an empty chunk.
	c := &chunk{memory: 1 << 10}
	if !c.add(bytes.Repeat([]byte("y"), 4<<10)) {
		t.Error("an empty chunk refused a line longer than its budget")
	}
}
