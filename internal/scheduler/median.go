package scheduler

import (
	"container/heap"
	"time"
)

// median keeps durations so that their median is at hand however many
// are added: speculation asks for the median of a stage's finished
// attempts on every event once a worker is idle, and a stage may finish
// 100,000. The lower half is a max-heap (of negated durations), the upper
// half a min-heap holding the extra one of an odd count, so the median,
// the sorted durations' element at index n/2, is the upper half's least.
type median struct {
	low, high durations
}

// add adds d.
func (m *median) add(d time.Duration) {
	if len(m.high) > 0 && d < m.high[0] {
		heap.Push(&m.low, -d)
	} else {
		heap.Push(&m.high, d)
	}
	switch {
	case len(m.high) > len(m.low)+1:
		heap.Push(&m.low, -heap.Pop(&m.high).(time.Duration))
	case len(m.low) > len(m.high):
		heap.Push(&m.high, -heap.Pop(&m.low).(time.Duration))
	}
}

// get returns the median, if a duration was added.
func (m *median) get() (time.Duration, bool) {
	if len(m.high) == 0 {
		return 0, false
	}
	return m.high[0], true
}

// durations is a min-heap (container/heap).
type durations []time.Duration

func (h durations) Len() int           { return len(h) }
func (h durations) Less(i, j int) bool { return h[i] < h[j] }
func (h durations) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *durations) Push(x any)        { *h = append(*h, x.(time.Duration)) }
func (h *durations) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
