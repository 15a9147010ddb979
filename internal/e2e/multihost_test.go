package e2e

import (
	"bytes"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mapreduce/internal/secret"
	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// TestMultiHost runs a cluster over three hosts (network namespaces on a
// bridge, sharing this file system): a master and two workers, each on its
// own address, all with the secret; one worker listens on every address
// and advertises its own. Messages from a fourth host without the secret
// change nothing; a worker's link cut mid-job is declared dead and the job
// still ends correct; its link restored, the worker is back. Then --shuffle
// workers take their place on the same hosts, each with a local directory
// the other cannot see (where mount namespaces are allowed), and a job's
// reducers fetch the runs from the other host: word count still right.
func TestMultiHost(t *testing.T) {
	l := newLab(t, "master", "worker1", "worker2", "client")
	c := newScratch(t) // after the lab: its processes are killed before the lab goes
	file := writeSecret(t, c.dir, "secret", testSecret)
	key, err := secret.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	const masterPort, workerPort = 7000, 7001
	c.port, c.host = masterPort, l.addrs["master"]
	c.client = nsClient{ns: l.hosts["client"], tcp: protocol.TCP{Auth: protocol.NewAuth(key, protocol.Self{}), Master: c.addr()}}
	common := []string{"--heartbeat-interval", heartbeat.String(), "--log-format", "json", "--log-level", "debug", "--secret-file", file}
	start := func(host, binary string, args ...string) *proc {
		cmd := l.command(host, filepath.Join(binDir, binary), append(common, args...)...)
		return c.start(host, cmd[0], cmd[1:]...)
	}
	c.master = start("master", "master", "--missed-heartbeats", strconv.Itoa(missed), "--host", c.host, strconv.Itoa(masterPort))
	testutil.WaitFor(t, 10*time.Second, "the master answering", func() bool {
		_, err := c.request(c.addr(), protocol.JobStatusRequest{})
		return err == nil || c.master.exited()
	})
	w1 := start("worker1", "worker", "--host", l.addrs["worker1"], "--master-host", c.host, strconv.Itoa(masterPort), strconv.Itoa(workerPort))
	c.waitRegistered(w1)
	w2 := start("worker2", "worker", "--host", "0.0.0.0", "--advertise-host", l.addrs["worker2"], "--master-host", c.host,
		strconv.Itoa(masterPort), strconv.Itoa(workerPort))
	c.waitRegistered(w2)
	c.workers = append(c.workers, w1, w2)
	for _, w := range c.status().Workers {
		want := map[int]string{w1.pid(): l.addrs["worker1"], w2.pid(): l.addrs["worker2"]}[w.PID]
		if w.Host != want || w.Port != workerPort {
			t.Errorf("worker %d registered as %s:%d, want %s:%d", w.PID, w.Host, w.Port, want, workerPort)
		}
	}

	wrong, err := secret.Read(writeSecret(t, c.dir, "wrong", wrongSecret))
	if err != nil {
		t.Fatal(err)
	}
	forgers := []sender{nsClient{ns: l.hosts["client"]}, nsClient{ns: l.hosts["client"], tcp: protocol.TCP{Auth: protocol.NewAuth(wrong, protocol.Self{})}}}
	target := attack{master: c.addr(), worker: net.JoinHostPort(l.addrs["worker2"], strconv.Itoa(workerPort)),
		heartbeats: protocol.HeartbeatAddr(c.host, masterPort)}
	c.refuseUnauthenticated(target, w2, forgers...)
	c.refuseReplayAcrossHosts(l, w2, workerPort)

	// A job whose map tasks take a second each, so that worker1 holds one
	// when its link is cut.
	mapper := script(t, c.dir, "slow-map.sh", "#!/bin/sh\nsleep 1\nexec "+filepath.Join(repoRoot, "exec/word_count/map.py")+"\n", 0o755)
	j := job{input: "input", mapper: mapper, reducer: "exec/word_count/reduce.py", mappers: 5, reducers: 2}
	id, out := c.submit(j)
	testutil.WaitFor(t, 10*time.Second, "worker1 to hold a task", func() bool { return c.workerState(w1).Tasks > 0 })
	l.cut("worker1")
	cut := time.Now()
	testutil.WaitFor(t, 10*time.Second, "worker1 declared dead", func() bool { return c.workerState(w1).State == "dead" })
	t.Logf("worker1 declared dead %s after its link was cut", time.Since(cut).Round(time.Millisecond))
	// Forged heartbeats do not bring it back, nor do other forgeries act.
	target.dead = w1.pid()
	c.refuseUnauthenticated(target, w2, forgers...)
	info := c.waitDone(j, id, out)
	if info.State != protocol.JobDone {
		t.Fatalf("job %d ended %s", id, info.State)
	}

	l.restore("worker1")
	restored := time.Now()
	testutil.WaitFor(t, 15*time.Second, "worker1 back after its link is restored", func() bool { return c.workerState(w1).State != "dead" })
	t.Logf("worker1 back %s after its link was restored", time.Since(restored).Round(time.Millisecond))
	if w1.exited() || w2.exited() || c.master.exited() {
		t.Fatal("a process exited")
	}

	// The same hosts with --shuffle workers: each reducer fetches the runs
	// of the other host's worker from its address, with the secret.
	w1.kill()
	w2.kill()
	testutil.WaitFor(t, 10*time.Second, "the workers without --shuffle declared dead", func() bool {
		return c.workerState(w1).State == "dead" && c.workerState(w2).State == "dead"
	})
	var shufflers []*proc
	for _, host := range []string{"worker1", "worker2"} {
		s := c.startShuffler(l, host, common, "--host", l.addrs[host], "--master-host", c.host, strconv.Itoa(masterPort), strconv.Itoa(workerPort+1))
		c.waitRegistered(s)
		shufflers = append(shufflers, s)
	}
	c.workers = append(c.workers, shufflers...)
	j = job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 4, reducers: 2}
	id, out = c.submit(j)
	info = c.waitDone(j, id, out)
	c.checkShuffledAcross(info, shufflers...)
}

// refuseReplayAcrossHosts: a shutdown sealed for a worker on another host
// (the client's) on the same port as worker w, captured there, and
// replayed to w within the window, is refused: w checks the host a frame
// names, not only the port (protocol/dest.go).
func (c *cluster) refuseReplayAcrossHosts(l *lab, w *proc, port int) {
	t := c.t
	t.Helper()
	var captured <-chan []byte
	there := net.JoinHostPort(l.addrs["client"], strconv.Itoa(port))
	if err := inNamespace(l.hosts["client"], func() error {
		ln, err := net.Listen("tcp", there)
		if err == nil {
			captured = capture(ln)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sealer := c.client.(nsClient)
	if err := sealer.Send(there, protocol.Shutdown{}); err != nil {
		t.Fatal(err)
	}
	frame := <-captured
	if !bytes.Contains(frame, []byte(" worker@"+there+" ")) {
		t.Fatalf("captured %q, want a frame sealed for the worker at %s", frame, there)
	}
	to := net.JoinHostPort(l.addrs["worker2"], strconv.Itoa(port))
	var answer string
	if err := inNamespace(l.hosts["client"], func() (err error) {
		answer, err = replay(to, frame)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer, "sealed for worker@"+there+", and this worker is "+l.addrs["worker2"]) {
		t.Errorf("worker2 answered the replay %q, want refused: sealed for another worker", answer)
	}
	c.waitLog(w, "dropped message: not authenticated", "sealed for worker@"+there)
	if w.exited() {
		t.Fatal("a shutdown sealed for a worker of another host stopped worker2")
	}
}

// workerState is the master's record of worker p.
func (c *cluster) workerState(p *proc) protocol.WorkerInfo {
	c.t.Helper()
	for _, w := range c.status().Workers {
		if w.PID == p.pid() {
			return w
		}
	}
	c.t.Fatalf("worker %d not listed", p.pid())
	return protocol.WorkerInfo{}
}
