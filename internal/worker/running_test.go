package worker

import (
	"fmt"
	"testing"

	"mapreduce/protocol"
)

// TestFitHeartbeat: a heartbeat listing more tasks than fit in a datagram
// lists some, says so, and lists every task in turn.
func TestFitHeartbeat(t *testing.T) {
	var all []protocol.TaskProgress
	for i := range 50 {
		all = append(all, protocol.TaskProgress{Output: fmt.Sprintf("/home/ana/mapreduce/var/job-0/mapper-output/file%03d.txt", i), Progress: int64(i)})
	}
	hb := protocol.Heartbeat{WorkerPID: 7, WorkerID: "0123456789abcdef", WorkerHost: "localhost", WorkerPort: 6001, Tasks: all,
		Capabilities: []string{protocol.CapProgress, protocol.CapCancel, protocol.CapTask, protocol.CapSplits}}
	seen := map[string]bool{}
	for turn := 0; len(seen) < len(all) && turn < 50; turn++ {
		fit := fitHeartbeat(hb, turn*10)
		data, err := protocol.Encode(fit)
		if err != nil || len(data)+protocol.AuthOverhead > protocol.MaxHeartbeatSize {
			t.Fatalf("heartbeat of %d bytes (%v), want at most %d", len(data), err, protocol.MaxHeartbeatSize)
		}
		if !fit.TasksCut || len(fit.Tasks) == 0 {
			t.Fatalf("%d tasks listed, cut %v; want some, and cut", len(fit.Tasks), fit.TasksCut)
		}
		for _, task := range fit.Tasks {
			seen[task.Output] = true
		}
	}
	if len(seen) != len(all) {
		t.Errorf("%d of %d tasks listed over the turns", len(seen), len(all))
	}
	small := protocol.Heartbeat{WorkerPID: 7, Tasks: all[:2]}
	if fit := fitHeartbeat(small, 3); fit.TasksCut || len(fit.Tasks) != 2 {
		t.Errorf("two tasks: listed %d, cut %v; want both, not cut", len(fit.Tasks), fit.TasksCut)
	}
}
