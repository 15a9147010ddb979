package e2e

import (
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// TestClientsRideAFlood: while 600 idle connections hold the master at its
// bound (it serves 512 at once and closes the others unread), `sendjob
// --wait` and `sendjob --status` keep trying, and succeed once the flood
// ends; `sendjob --status` and a submit where nothing listens fail at once.
func TestClientsRideAFlood(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	// The master serves each idle connection until its read deadline (10
	// s): the flood lasts until the test closes it, well before.
	var flood []net.Conn
	closeFlood := func() {
		for _, conn := range flood {
			conn.Close()
		}
		flood = nil
	}
	defer closeFlood()
	for range 600 {
		conn, err := net.Dial("tcp", c.addr())
		if err != nil {
			t.Fatalf("flood: %v", err)
		}
		flood = append(flood, conn)
	}
	testutil.WaitFor(t, 5*time.Second, "the master at its bound, dropping a request unread", func() bool {
		_, err := protocol.Request(c.addr(), protocol.JobStatusRequest{}, time.Second)
		return protocol.Unread(err)
	})

	out := filepath.Join(c.dir, "out")
	wait := c.startSendjob("--wait", "--output-directory", out, "--num-mappers", "2", "--num-reducers", "1")
	status := c.startSendjob("--status")
	testutil.WaitFor(t, 5*time.Second, "both clients to meet the bound", func() bool {
		for _, client := range []*sendjobRun{wait, status} {
			if client.exited() {
				t.Fatalf("sendjob %s exited during the flood: %v\n%s", client.args, client.err, client.out)
			}
		}
		return strings.Contains(wait.out.String(), "dropped the connection") && strings.Contains(status.out.String(), "dropped the connection")
	})
	closeFlood()
	released := time.Now()
	for _, client := range []struct {
		*sendjobRun
		prints string
	}{{wait, "job 0 done"}, {status, "WORKER"}} {
		select {
		case <-client.done:
			if client.err != nil || !strings.Contains(client.out.String(), client.prints) {
				t.Fatalf("sendjob %s: %v\n%s\nwant success, printing %q", client.args, client.err, client.out, client.prints)
			}
			t.Logf("sendjob %s ended %s after the flood", client.args, time.Since(released).Round(time.Millisecond))
		case <-time.After(30 * time.Second):
			t.Fatalf("sendjob %s still running 30 s after the flood:\n%s", client.args, client.out)
		}
	}
	c.checkOutput(job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", reducers: 1}, out)

	// Where nothing listens, at once.
	port := strconv.Itoa(freePort(t))
	for _, args := range [][]string{{"--status", port}, {"--wait", port}, {port}} {
		cmd := exec.Command(filepath.Join(binDir, "sendjob"), args...)
		cmd.Dir = repoRoot
		start := time.Now()
		text, err := cmd.CombinedOutput()
		took := time.Since(start)
		if err == nil || !strings.Contains(string(text), "connection refused") || took > 3*time.Second {
			t.Errorf("sendjob %s where nothing listens: %v after %s\n%s\nwant a refused connection within 3 s", strings.Join(args, " "), err, took, text)
		}
	}
}

// sendjobRun is a sendjob running: what it prints, and its end.
type sendjobRun struct {
	args string
	out  *syncBuffer
	done chan struct{}
	err  error // once done
}

func (r *sendjobRun) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// startSendjob starts sendjob with args and the cluster's port.
func (c *cluster) startSendjob(args ...string) *sendjobRun {
	c.t.Helper()
	cmd := c.sendjobCmd(args...)
	r := &sendjobRun{args: strings.Join(args, " "), out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()
	c.t.Cleanup(func() {
		cmd.Process.Kill()
		<-r.done
	})
	return r
}
