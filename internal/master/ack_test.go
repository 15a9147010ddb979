package master_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"mapreduce/protocol"
)

// TestStatusesAreAcknowledged: a worker that announces extensions hears
// that the master acknowledges statuses, and each status it sends as a
// request is answered with status_ack once recorded, a repeated one too
// (the worker sends again what it saw no answer for); the job goes on as
// if it came once.
func TestStatusesAreAcknowledged(t *testing.T) {
	c := startMaster(t, nil)
	w := c.newFakeWorker(101)
	if err := c.net.Send(c.addr, protocol.Register{WorkerHost: "localhost", WorkerPort: w.port, WorkerPID: w.pid,
		Capabilities: []string{protocol.CapProgress}}); err != nil {
		t.Fatal(err)
	}
	ack, ok := w.next(2 * time.Second).(protocol.RegisterAck)
	if !ok || !slices.Contains(ack.Capabilities, protocol.CapAck) {
		t.Fatalf("register_ack %#v does not announce %q", ack, protocol.CapAck)
	}
	w.startHeartbeats()

	spec := testJob(t, map[string]string{"a.txt": "the cat\n"}, 1, 1)
	progs := programs{spec.MapperExecutable: wordCountMap, spec.ReducerExecutable: wordCountReduce}
	id := c.submit(spec)
	status, ok := w.run(w.next(2*time.Second), progs)
	if !ok {
		t.Fatal("the map task did not run")
	}
	status.WorkerPID = w.pid
	for range 2 {
		answer, err := c.net.Request(c.addr, status, 2*time.Second)
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		if _, ok := answer.(protocol.StatusAck); !ok {
			t.Fatalf("status answered %#v, want status_ack", answer)
		}
	}
	if phase := c.job(id).Phases[0]; phase.Done != 1 {
		t.Errorf("map phase %+v once acknowledged, want its task done", phase)
	}
	// The job goes on: the next stage's task comes.
	if _, ok := w.next(2 * time.Second).(protocol.NewSortJob); !ok {
		t.Error("no sort task after the map task's status")
	}

	// A status from a worker the master does not know (after a restart,
	// one that comes before the worker's heartbeat) is not acknowledged:
	// it must come again once the worker is known.
	stranger := status
	stranger.WorkerPID = 999
	answer, err := c.net.Request(c.addr, stranger, 2*time.Second)
	if e, ok := answer.(protocol.Error); err != nil || !ok || !strings.Contains(e.Error, "does not know the worker") {
		t.Errorf("a stranger's status answered %#v, %v; want an error saying the master does not know it", answer, err)
	}
}
