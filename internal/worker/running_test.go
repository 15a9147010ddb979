package worker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"mapreduce/internal/testutil"
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
	// The least room the worker leaves, for a master at the longest name.
	room := protocol.MaxHeartbeatSize - protocol.AuthOverhead
	for turn, next := 0, 0; len(seen) < len(all) && turn < 50; turn++ {
		fit := fitHeartbeat(hb, next, room)
		next += len(fit.Tasks)
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
	if fit := fitHeartbeat(small, 3, room); fit.TasksCut || len(fit.Tasks) != 2 {
		t.Errorf("two tasks: listed %d, cut %v; want both, not cut", len(fit.Tasks), fit.TasksCut)
	}
}

// TestTaskWaitingForSlotShowsProgress: a task whose next program waits for
// a slot, after an earlier one ran, shows progress all the while: it is
// not stuck, the programs holding the slots are, if anything. (One that
// waits before its first program: TestHeartbeatsListTasksAndCancelKillsOne.)
func TestTaskWaitingForSlotShowsProgress(t *testing.T) {
	w := &Worker{slots: make(chan struct{}, 1)}
	w.slots <- struct{}{} // another task's program holds the only slot
	r := &running{output: "/out/a", stderr: newTaskStderr()}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	defer r.cancel()
	// The task's first program read and wrote 100 bytes, and ended.
	r.runningProgram(func() int64 { return 100 }, nil)
	r.programDone()

	returned := make(chan error, 1)
	go func() {
		_, err := w.runExecutable(r, command{exe: "/bin/cat"}, programInput{file: "/dev/null"}, filepath.Join(t.TempDir(), "a"))
		returned <- err
	}()
	// Two changes in a row: the first might be the end of the earlier
	// program seen late.
	last := r.progress()
	for i := range 2 {
		testutil.WaitFor(t, 2*time.Second, fmt.Sprintf("change %d of the waiting task's progress", i+1), func() bool {
			return r.progress() != last
		})
		last = r.progress()
	}
	select {
	case err := <-returned:
		t.Fatalf("the program ran without a slot: %v", err)
	default:
	}
	r.cancel()
	if err := <-returned; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while waiting for a slot: %v, want context.Canceled", err)
	}
}
