// Package liveness decides which members of a group have failed from the
// times their heartbeats arrived. It reads no clock: callers pass the time,
// so the same logic serves the TCP master (wall clock) and the stdio node
// (time carried in the messages), and tests need no sleeping.
package liveness

import (
	"cmp"
	"slices"
	"time"
)

// Tracker records the last heartbeat of each member.
type Tracker[K cmp.Ordered] struct {
	last map[K]time.Time
}

// New returns an empty Tracker.
func New[K cmp.Ordered]() *Tracker[K] {
	return &Tracker[K]{last: make(map[K]time.Time)}
}

// Beat records a heartbeat from id at t. A heartbeat older than the one
// already recorded (a reordered datagram) does not move the time back.
func (t *Tracker[K]) Beat(id K, at time.Time) {
	if prev, ok := t.last[id]; ok && prev.After(at) {
		return
	}
	t.last[id] = at
}

// Forget stops tracking id.
func (t *Tracker[K]) Forget(id K) {
	delete(t.last, id)
}

// Failed returns, sorted, the members whose last heartbeat is more than
// timeout before now. Exactly timeout is not failed.
func (t *Tracker[K]) Failed(now time.Time, timeout time.Duration) []K {
	var failed []K
	for id, at := range t.last {
		if now.Sub(at) > timeout {
			failed = append(failed, id)
		}
	}
	slices.Sort(failed)
	return failed
}
