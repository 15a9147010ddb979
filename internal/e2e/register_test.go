package e2e

import (
	"fmt"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// TestImpossibleRegistrationsRefused: registrations whose port is none, or
// the master's own, are refused (issue #20: 5,000 of them were kept for
// good, listed ready, then dead); a possible one after them is taken.
func TestImpossibleRegistrationsRefused(t *testing.T) {
	c := newCluster(t)
	bad := []int{0, -1, 70000, c.port, c.port - 1}
	for i, port := range bad {
		if err := protocol.Send(c.addr(), protocol.Register{WorkerHost: "localhost", WorkerPort: port, WorkerPID: 900000 + i}); err != nil {
			t.Fatal(err)
		}
	}
	good := freePort(t)
	if err := protocol.Send(c.addr(), protocol.Register{WorkerHost: "localhost", WorkerPort: good, WorkerPID: 900100}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the possible registration listed", func() bool {
		for _, w := range c.status().Workers {
			if w.Port == good {
				return true
			}
		}
		return false
	})
	for _, port := range bad {
		c.waitLog(c.master, "ignored register", fmt.Sprintf(`"port":%d,`, port))
	}
	for _, w := range c.status().Workers {
		if w.Port != good {
			t.Errorf("worker %d at port %d is listed: its registration was impossible", w.PID, w.Port)
		}
	}
}
