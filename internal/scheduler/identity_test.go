package scheduler

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/protocol"
)

// TestWorkerIdentity: workers are told apart by the id ours send, so pids
// may repeat; a reference worker, known by its pid alone, is refused while
// a live worker on another host has its pid; a worker the master does not
// know that heartbeats with its registration (after a master restart) is
// registered.
func TestWorkerIdentity(t *testing.T) {
	ours := func(id, host string, port int) protocol.Register {
		return protocol.Register{WorkerHost: host, WorkerPort: port, WorkerPID: 1, WorkerID: id,
			Capabilities: []string{protocol.CapProgress, protocol.CapCancel}}
	}
	reference := func(host string, port int) protocol.Register {
		return protocol.Register{WorkerHost: host, WorkerPort: port, WorkerPID: 1}
	}
	tests := []struct {
		name    string
		first   protocol.Register
		second  protocol.Register
		workers int  // the master knows this many after both register
		acked   bool // the second is acknowledged
	}{
		{"ours, same pid, two ids", ours("a", "h1", 7001), ours("b", "h2", 7001), 2, true},
		{"ours and a reference worker, same pid", ours("a", "h1", 7001), reference("h2", 7001), 2, true},
		{"reference workers, same pid, two hosts", reference("h1", 7001), reference("h2", 7001), 1, false},
		{"reference worker restarted on a new port", reference("h1", 7001), reference("h1", 7002), 1, true},
		{"ours registering again", ours("a", "h1", 7001), ours("a", "h1", 7001), 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScheduler()
			s.Register(at(0), tt.first)
			acts := s.Register(at(sec), tt.second)
			if got := len(sendsOf(acts, protocol.TypeRegisterAck)) == 1; got != tt.acked {
				t.Errorf("second register acknowledged: %v, want %v (%s)", got, tt.acked, describe(acts))
			}
			st, _ := s.Snapshot(nil, false)
			if len(st.Workers) != tt.workers {
				t.Errorf("master knows %d workers, want %d: %+v", len(st.Workers), tt.workers, st.Workers)
			}
		})
	}

	t.Run("ours asking again while its ack is on the way keeps its tasks", func(t *testing.T) {
		s := newScheduler()
		s.Register(at(0), ours("a", "h1", 7001))
		s.Submit(at(0), spec(1, 1))
		if maps := sendsOf(s.InputScanned(at(0), 0, inputFiles(1), nil), protocol.TypeNewWorkerJob); len(maps) != 1 {
			t.Fatalf("map tasks %v, want 1", maps)
		}
		acts := s.Register(at(sec), ours("a", "h1", 7001))
		if len(sendsOf(acts, protocol.TypeRegisterAck)) != 1 || len(sendsOf(acts, protocol.TypeNewWorkerJob)) != 0 {
			t.Errorf("register again returned %s, want only an ack", describe(acts))
		}
		wantWorker(t, s, 1, WorkerBusy, 1)
	})

	t.Run("a restarted master admits a worker from its heartbeat", func(t *testing.T) {
		s := newScheduler()
		reg := ours("a", "h1", 7001)
		hb := protocol.Heartbeat{WorkerPID: 1, WorkerID: "a", WorkerHost: "h1", WorkerPort: 7001, Capabilities: reg.Capabilities}
		acks := sendsOf(s.Heartbeat(at(0), hb), protocol.TypeRegisterAck)
		if len(acks) != 1 || acks[0].Addr != "h1:7001" {
			t.Fatalf("heartbeat of an unknown worker gave acks %+v, want one to h1:7001", acks)
		}
		if acts := s.Heartbeat(at(sec), hb); len(acts) != 0 {
			t.Errorf("the next heartbeat returned %s, want nothing", describe(acts))
		}
		// A reference worker's heartbeat carries no registration.
		if acts := s.Heartbeat(at(sec), protocol.Heartbeat{WorkerPID: 2}); len(acts) != 0 {
			t.Errorf("heartbeat of an unknown reference worker returned %s", describe(acts))
		}
		if st, _ := s.Snapshot(nil, false); len(st.Workers) != 1 {
			t.Errorf("workers %+v, want the one admitted", st.Workers)
		}
	})

	t.Run("statuses go to the worker whose id they carry", func(t *testing.T) {
		s := newScheduler()
		s.Register(at(0), ours("a", "h1", 7001))
		s.Register(at(0), ours("b", "h2", 7001))
		_, acts := s.Submit(at(0), spec(2, 1))
		acts = s.InputScanned(at(0), 0, inputFiles(2), nil)
		maps := sendsOf(acts, protocol.TypeNewWorkerJob)
		if len(maps) != 2 || maps[0].Addr == maps[1].Addr {
			t.Fatalf("map tasks %s, want one on each worker", describe(acts))
		}
		for _, m := range maps {
			st := finished(m)
			st.WorkerID = map[string]string{"h1:7001": "a", "h2:7001": "b"}[m.Addr]
			s.StatusReceived(at(sec), st)
		}
		if j := jobInfo(t, s, 0); j.Phases[0].Done != 2 {
			t.Errorf("map %d/%d done, want both: statuses went astray", j.Phases[0].Done, j.Phases[0].Total)
		}
	})
}

// TestTasksFoundByIdentity: a status, a heartbeat or an attempt log from a
// worker that echoes task identities is matched by the identity, whatever
// paths it names; one from a reference worker, by its output. A cancel
// names the attempt it kills.
func TestTasksFoundByIdentity(t *testing.T) {
	ours := protocol.Register{WorkerHost: "localhost", WorkerPort: port(1), WorkerPID: 1, WorkerID: "a",
		Capabilities: []string{protocol.CapProgress, protocol.CapCancel, protocol.CapTask}}
	t.Run("status by identity", func(t *testing.T) {
		s := newScheduler()
		s.Register(at(0), ours)
		s.Submit(at(0), spec(2, 1))
		maps := sendsOf(s.InputScanned(at(0), 0, inputFiles(2), nil), protocol.TypeNewWorkerJob)
		if len(maps) != 2 {
			t.Fatalf("map tasks %v, want 2", maps)
		}
		for i, m := range maps {
			id := m.Msg.(protocol.NewWorkerJob).Task
			if id == nil || id.JobID != 0 || id.Stage != "map" || id.Index != i || id.Attempt != 1 {
				t.Fatalf("map task %d sent with identity %+v", i, id)
			}
			st := finished(m)
			st.WorkerID = "a"
			st.OutputFiles = []string{"/not/a/path/the/master/knows"}
			s.StatusReceived(at(sec), st)
		}
		if j := jobInfo(t, s, 0); j.Phases[0].Done != 2 {
			t.Errorf("map %d/%d done, want both found by identity", j.Phases[0].Done, j.Phases[0].Total)
		}
		sorts := sendsOf(s.Tick(at(sec)), protocol.TypeNewSortJob)
		for _, m := range sorts {
			if m.Msg.(protocol.NewSortJob).Task == nil {
				t.Errorf("sort task sent without its identity to a worker that echoes it: %+v", m.Msg)
			}
		}
	})
	t.Run("a reference worker's status by output", func(t *testing.T) {
		s := newScheduler()
		register(s, at(0), 1)
		s.Submit(at(0), spec(1, 1))
		maps := sendsOf(s.InputScanned(at(0), 0, inputFiles(1), nil), protocol.TypeNewWorkerJob)
		if maps[0].Msg.(protocol.NewWorkerJob).Task != nil {
			t.Fatalf("identity sent to a reference worker: %+v", maps[0].Msg)
		}
		s.StatusReceived(at(sec), finished(maps[0]))
		if j := jobInfo(t, s, 0); j.Phases[0].Done != 1 {
			t.Errorf("map not done: the reference worker's status was not matched by its output")
		}
	})
	t.Run("an identity from another job or out of range is ignored", func(t *testing.T) {
		s := newScheduler()
		s.Register(at(0), ours)
		s.Submit(at(0), spec(1, 1))
		maps := sendsOf(s.InputScanned(at(0), 0, inputFiles(1), nil), protocol.TypeNewWorkerJob)
		for _, id := range []protocol.TaskIdentity{{JobID: 1, Stage: "map"}, {Stage: "map", Index: 1}, {Stage: "map", Index: -1}, {Stage: "sort"}, {Stage: "nope"}} {
			st := finished(maps[0])
			st.WorkerID, st.Task = "a", &id
			s.StatusReceived(at(sec), st)
		}
		if j := jobInfo(t, s, 0); j.Phases[0].Done != 0 {
			t.Errorf("a status with a wrong identity finished the map task")
		}
	})
	t.Run("a task timed out then retried on the same worker: the cancel names the old attempt", func(t *testing.T) {
		cfg := testConfig
		cfg.TaskTimeout = 10 * sec
		s := New(cfg, zerolog.Nop())
		s.Register(at(0), ours)
		s.Submit(at(0), spec(1, 1))
		m := sendsOf(s.InputScanned(at(0), 0, inputFiles(1), nil), protocol.TypeNewWorkerJob)[0].Msg.(protocol.NewWorkerJob)
		hb := protocol.Heartbeat{WorkerPID: 1, WorkerID: "a", Tasks: []protocol.TaskProgress{{Output: "x", Task: m.Task, Progress: 1}}}
		for i := range 11 {
			s.Heartbeat(at(time.Duration(i)*sec), hb)
		}
		acts := s.Tick(at(11 * sec))
		cancels := sendsOf(acts, protocol.TypeCancelTask)
		again := sendsOf(acts, protocol.TypeNewWorkerJob)
		if len(cancels) != 1 || len(again) != 1 {
			t.Fatalf("timeout gave %s, want a cancel and the task again", describe(acts))
		}
		if c := cancels[0].Msg.(protocol.CancelTask); c.Task == nil || c.Task.Attempt != 1 {
			t.Errorf("cancel %+v, want it to name attempt 1 only", c)
		}
		if id := again[0].Msg.(protocol.NewWorkerJob).Task; id == nil || id.Attempt != 2 {
			t.Errorf("task sent again as %+v, want attempt 2", id)
		}
		// The first attempt's status, late, is not the second's.
		stale := failed(sendsOf(acts, protocol.TypeNewWorkerJob)[0], "the first attempt failed")
		stale.WorkerID, stale.Task = "a", &protocol.TaskIdentity{JobID: 0, Stage: "map", Index: 0, Attempt: 1}
		s.StatusReceived(at(12*sec), stale)
		if j := jobInfo(t, s, 0); j.State != protocol.JobMapping {
			t.Errorf("job %s after the first attempt's late failure, want it still mapping: %v", j.State, j.Errors)
		}
		st := finished(again[0])
		st.WorkerID = "a"
		s.StatusReceived(at(13*sec), st)
		if j := jobInfo(t, s, 0); j.Phases[0].Done != 1 {
			t.Errorf("map %d/%d done after the second attempt finished", j.Phases[0].Done, j.Phases[0].Total)
		}
	})
}
