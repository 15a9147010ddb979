package master_test

import (
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"mapreduce/internal/master"
	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// TestOutboxKeepsOrder: a worker's messages go out one at a time, in the
// order the scheduler gave them, however many queue up behind a slow send;
// and the scheduler gives kills before new tasks. A worker the master does
// not know (the master restarted) heartbeats with its registration and a
// task of the earlier master while a task waits for a worker: it gets
// register_ack, the cancel_task of the old task, then the waiting task. The
// register_ack is held on the way until the task is queued behind it.
func TestOutboxKeepsOrder(t *testing.T) {
	// Dead only after 100 missed intervals (2 s): no death here comes
	// from the heartbeats.
	c := startMaster(t, func(cfg *master.Config) { cfg.Scheduler.MissedHeartbeats = 100 })

	// The job's task goes first to a worker whose port refuses: it is
	// dead at once, and the task waits for another.
	gone := c.newFakeWorker(101)
	gone.register()
	gone.ln.Close()
	spec := testJob(t, map[string]string{"a.txt": "a\n"}, 1, 1)
	id := c.submit(spec)
	testutil.WaitFor(t, 2*time.Second, "the worker whose port refuses to be dead", func() bool {
		return workerState(c.status(id), gone.pid) == "dead"
	})

	w := c.newFakeWorker(201)
	var mu sync.Mutex
	var sent []string
	release := make(chan struct{})
	var releaseOnce sync.Once
	let := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(let)
	c.net.SetFault(func(addr string, msg protocol.Message) error {
		if addr != w.ln.Addr() {
			return nil
		}
		mu.Lock()
		sent = append(sent, msg.Type())
		mu.Unlock()
		if _, ok := msg.(protocol.RegisterAck); ok {
			<-release
		}
		return nil
	})
	old := filepath.Join(t.TempDir(), "job-0", "mapper-output", "a.txt") // an earlier master's task
	c.net.SendDatagram(protocol.HeartbeatAddr("localhost", masterPort), protocol.Heartbeat{
		WorkerPID: w.pid, WorkerID: "worker-201", WorkerHost: "localhost", WorkerPort: w.port,
		Capabilities: []string{protocol.CapProgress, protocol.CapCancel},
		Tasks:        []protocol.TaskProgress{{Output: old, Progress: 1}},
	})
	testutil.WaitFor(t, 2*time.Second, "the waiting task to be given to the new worker", func() bool {
		return workerState(c.status(id), w.pid) == "busy"
	})
	let()
	want := []string{protocol.TypeRegisterAck, protocol.TypeCancelTask, protocol.TypeNewWorkerJob}
	testutil.WaitFor(t, 2*time.Second, "three messages sent to the new worker", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(sent) >= len(want)
	})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(sent, want) {
		t.Errorf("the new worker was sent %v, want %v", sent, want)
	}
}
