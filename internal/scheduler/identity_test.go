package scheduler

import (
	"testing"

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
