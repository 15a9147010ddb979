package e2e

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// floodConns is more connections than the master serves at once
// (protocol's maxConns, 512).
const floodConns = 600

// flood opens n connections to addr and returns a function that closes
// them. Silent ones send nothing: the master resets the oldest of them to
// make room for a new connection. Speaking ones send the start of a
// document and hold it: at the bound, the master resets new connections
// unread until one of them ends (its read deadline, 10 s, or release).
// Those the master resets, some before the dial returns, count as made.
func flood(t *testing.T, addr string, n int, speak bool) (release func()) {
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
		if speak {
			conn.Write([]byte(`{"message_type"`)) // a reset connection fails here, which is as good
		}
		conns = append(conns, conn)
	}
	return func() {
		for _, conn := range conns {
			conn.Close()
		}
	}
}

// TestReportsSurviveAConnectionFlood: more connections than the master
// serves at once delay no job. Silent ones (the reproduction: 600
// idle connections) give their places to new connections, so a job runs
// through such a flood held from start to end in about the time it takes
// without. Connections that sent the start of a document keep their
// places until their read deadline: the master resets the workers'
// statuses unread, and our workers, which see the reset, send them again
// until acknowledged; so the job ends within a few seconds of such a
// flood's end, although --task-timeout is ten minutes, and its output is
// the truth pipeline's.
func TestReportsSurviveAConnectionFlood(t *testing.T) {
	c := newCluster(t)
	workers := []*proc{c.startWorker(), c.startWorker()}
	for _, w := range workers {
		c.waitRegistered(w)
	}
	mapper := script(t, t.TempDir(), "slow_map", fmt.Sprintf("sleep 1.5\nexec python3 %s\n", c.repoPath("exec/word_count/map.py")), 0o755)
	j := job{input: "input", mapper: mapper, reducer: "exec/word_count/reduce.py", mappers: 3, reducers: 2}
	run := func() time.Duration {
		start := time.Now()
		id, out := c.submit(j)
		c.waitDone(j, id, out)
		return time.Since(start)
	}
	baseline := run()

	// Silent connections, held from the job's start to its end.
	{
		release := flood(t, c.addr(), floodConns, false)
		took := run()
		release()
		// A heartbeat interval at the defaults.
		if took > baseline+2*time.Second {
			t.Errorf("the job took %s through a flood of silent connections, %s without", took.Round(time.Millisecond), baseline.Round(time.Millisecond))
		}
		if !c.logged(c.master, "the oldest silent one reset") {
			t.Error("the master logged no silent connection reset: the flood did not reach its bound")
		}
	}

	// Connections that sent something, held past the end of map tasks.
	{
		id, out := c.submit(j)
		testutil.WaitFor(t, 10*time.Second, "the map stage to start", func() bool {
			for _, info := range c.status().Jobs {
				if info.ID == id {
					return info.State == protocol.JobMapping
				}
			}
			return false
		})
		// Held past the first map tasks' end (1.5 s), so that their
		// statuses meet the flood.
		release := flood(t, c.addr(), floodConns, true)
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
		// The reports' backoff reaches 2 s; the rest of the job takes
		// about one map task and the reduce tasks, less than the
		// baseline.
		if took := time.Since(ended); took > baseline+2*time.Second {
			t.Errorf("the job ended %s after the flood (%s without a flood): its reports waited for something other than their backoff", took.Round(time.Millisecond), baseline.Round(time.Millisecond))
		}
		c.checkOutput(j, out)
	}
}

// TestClientsRideAFlood: while 600 connections that each sent the start of
// a document hold the master at its bound (it serves 512 at once and
// resets the others unread), `sendjob --wait` and `sendjob --status` keep
// trying, and succeed once the flood ends; `sendjob --status` and a submit
// where nothing listens fail at once.
func TestClientsRideAFlood(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	// The master serves each connection until its read deadline (10 s):
	// the flood lasts until the test closes it, well before.
	closeFlood := flood(t, c.addr(), floodConns, true)
	defer closeFlood()
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
