package liveness

import (
	"slices"
	"testing"
	"time"
)

func TestFailed(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	ms := time.Millisecond
	tests := []struct {
		name  string
		beats map[string]time.Duration // offset of each member's last beat from t0
		now   time.Duration
		want  []string
	}{
		{"none tracked", nil, 10 * time.Second, nil},
		{"fresh", map[string]time.Duration{"w1": 0}, 5000 * ms, nil},
		{"exactly the timeout is alive", map[string]time.Duration{"w1": 0}, 5000 * ms, nil},
		{"one past the timeout fails", map[string]time.Duration{"w1": 0}, 5001 * ms, []string{"w1"}},
		{"several, sorted", map[string]time.Duration{"w3": 0, "w1": 0, "w2": 4 * time.Second}, 6 * time.Second, []string{"w1", "w3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New[string]()
			for id, off := range tt.beats {
				tr.Beat(id, t0.Add(off))
			}
			got := tr.Failed(t0.Add(tt.now), 5*time.Second)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Failed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBeatRecoversAndIgnoresOlder(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	tr := New[int]()
	tr.Beat(7, t0)
	if got := tr.Failed(t0.Add(6*time.Second), 5*time.Second); !slices.Equal(got, []int{7}) {
		t.Fatalf("Failed = %v, want [7]", got)
	}
	tr.Beat(7, t0.Add(6*time.Second))
	tr.Beat(7, t0.Add(1*time.Second)) // reordered datagram
	if got := tr.Failed(t0.Add(10*time.Second), 5*time.Second); got != nil {
		t.Fatalf("Failed after new beat = %v, want none", got)
	}
	tr.Forget(7)
	if got := tr.Failed(t0.Add(time.Hour), 5*time.Second); got != nil {
		t.Fatalf("Failed after Forget = %v, want none", got)
	}
}
