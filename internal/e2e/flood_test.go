package e2e

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// floodConns is more idle connections than the master serves at once
// (protocol's maxConns, 512): while they are held, the master resets every
// new connection unread.
const floodConns = 600

// flood opens n idle connections to addr and returns a function that
// closes them. Those past the master's bound are reset by it, some before
// the dial returns: those count as made, since they reached the bound.
func flood(t *testing.T, addr string, n int) (release func()) {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	for range n {
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if errors.Is(err, syscall.ECONNRESET) {
			continue
		}
		if err != nil {
			t.Fatalf("flood: %d connections open: %v", len(conns), err)
		}
		conns = append(conns, conn)
	}
	return func() {
		for _, conn := range conns {
			conn.Close()
		}
	}
}

// TestReportsSurviveAConnectionFlood: while more idle connections than the
// master serves are held open, the workers' statuses are dropped at the
// master's bound; our workers see it (the connection is reset, no
// status_ack comes) and send them again until acknowledged. So the job
// ends within a few seconds of the flood's end, although --task-timeout is
// ten minutes, and its output is the truth pipeline's.
func TestReportsSurviveAConnectionFlood(t *testing.T) {
	c := newCluster(t)
	workers := []*proc{c.startWorker(), c.startWorker()}
	for _, w := range workers {
		c.waitRegistered(w)
	}
	mapper := script(t, t.TempDir(), "slow_map", fmt.Sprintf("sleep 1.5\nexec python3 %s\n", c.repoPath("exec/word_count/map.py")), 0o755)
	j := job{input: "input", mapper: mapper, reducer: "exec/word_count/reduce.py", mappers: 3, reducers: 2}
	id, out := c.submit(j)
	testutil.WaitFor(t, 10*time.Second, "the map stage to start", func() bool {
		for _, info := range c.status().Jobs {
			if info.ID == id {
				return info.State == protocol.JobMapping
			}
		}
		return false
	})

	// Held past the first map tasks' end (1.5 s), so that their statuses
	// meet the flood.
	release := flood(t, c.addr(), floodConns)
	testutil.WaitFor(t, 10*time.Second, "a status to be dropped and sent again", func() bool {
		for _, w := range workers {
			if c.logged(w, "status not delivered; trying again") {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second) // the flood goes on a while: a controlled condition, not a wait
	release()
	ended := time.Now()

	info := c.waitJob(id, 30*time.Second)
	if info.State != protocol.JobDone {
		t.Fatalf("job %d ended %s: %v", id, info.State, info.Errors)
	}
	// The reports' backoff reaches 2 s; the rest of the job takes about
	// one map task and the reduce tasks.
	if took := time.Since(ended); took > 10*time.Second {
		t.Errorf("the job ended %s after the flood: its reports waited for something other than their backoff", took.Round(time.Millisecond))
	}
	if !c.logged(c.master, "dropped connection") {
		t.Error("the master logged no dropped connection: the flood did not reach its bound")
	}
	c.checkOutput(j, out)
}
