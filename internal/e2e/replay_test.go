package e2e

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mapreduce/internal/secret"
	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// TestCapturedFrameReplayedToAnotherProcess (issue #20): a real `sendjob
// --shutdown` frame, captured on its way to the master, replayed within
// the window to a worker of the same cluster (same secret, a nonce it never
// saw) is refused, saying it was sealed for a master, and the worker keeps
// running and runs a job. The same frame delivered to the master, which
// never got it, shuts the master down: the frame was good, and a master is
// bound by its port, not by the host it was dialed at (protocol/dest.go).
func TestCapturedFrameReplayedToAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	file := writeSecret(t, dir, "secret", testSecret)
	key, err := secret.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, "--secret-file", file)
	c.client = protocol.TCP{Auth: protocol.NewAuth(key, protocol.Self{}), Master: c.addr()}
	w := c.startWorkerWith([]string{"--secret-file", file})
	var workerAddr string
	for _, wk := range c.status().Workers {
		if wk.PID == w.pid() {
			workerAddr = net.JoinHostPort(wk.Host, strconv.Itoa(wk.Port))
		}
	}

	// The capture: sendjob sends its shutdown to the master's port on
	// another loopback address (the master listens on localhost), where
	// the test records it, as one who sees the master's link would.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", strconv.Itoa(c.port)))
	if err != nil {
		t.Skipf("SKIPPED: cannot listen on 127.0.0.2 to capture a frame: %v", err)
	}
	captured := capture(ln)
	cmd := exec.Command(filepath.Join(binDir, "sendjob"), "--host", "127.0.0.2", "--shutdown", strconv.Itoa(c.port))
	cmd.Env = append(os.Environ(), secret.EnvVar+"="+file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendjob --shutdown to the capture: %v\n%s", err, out)
	}
	frame := <-captured
	sealedFor := "master@127.0.0.2:" + strconv.Itoa(c.port)
	if !bytes.HasPrefix(frame, []byte("MRAUTH2 ")) || !bytes.Contains(frame, []byte(" "+sealedFor+" ")) ||
		!bytes.HasSuffix(frame, []byte(`{"message_type":"shutdown"}`)) {
		t.Fatalf("captured %q, want a shutdown sealed for %s", frame, sealedFor)
	}
	captureAt := time.Now()

	// Replayed to the worker: refused, and it says why.
	answer, err := replay(workerAddr, frame)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer, "sealed for "+sealedFor+", and this process is a worker") {
		t.Errorf("the worker answered the replay %q, want refused: sealed for a master", answer)
	}
	c.waitLog(w, "dropped message: not authenticated", "sealed for "+sealedFor)
	// Still running: it takes a job's tasks and the job ends right.
	j := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 2, reducers: 1}
	id, out := c.submit(j)
	info := c.waitDone(j, id, out)
	if info.State != protocol.JobDone || w.exited() || c.workerState(w).State == "dead" {
		t.Fatalf("after the replay: job %s, worker exited %v, state %s", info.State, w.exited(), c.workerState(w).State)
	}

	// sendjob --shutdown pointed at the worker's port by mistake: refused,
	// and it says so, with exit 1.
	_, workerPort, _ := net.SplitHostPort(workerAddr)
	mistake := exec.Command(filepath.Join(binDir, "sendjob"), "--shutdown", workerPort)
	mistake.Env = append(os.Environ(), secret.EnvVar+"="+file)
	if out, err := mistake.CombinedOutput(); err == nil || !strings.Contains(string(out), "is a worker's, not a master's") || w.exited() {
		t.Errorf("sendjob --shutdown on the worker's port: %v, %q, worker exited %v; want refused, saying it is a worker's port", err, out, w.exited())
	}

	// Delivered to the master, within the window: it shuts down, and its
	// workers with it.
	if since := time.Since(captureAt); since > protocol.AuthWindow-5*time.Second {
		t.Skipf("SKIPPED the delivery to the master: %s since the capture, near the %s window", since.Round(time.Second), protocol.AuthWindow)
	}
	if _, err := replay(c.addr(), frame); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*proc{c.master, w} {
		testutil.WaitFor(t, 10*time.Second, p.name+" to exit on the shutdown meant for the master", p.exited)
	}
}

// capture records the bytes of the first connection to ln, then closes ln:
// what a sender sent, as one who sees its link would.
func capture(ln net.Listener) <-chan []byte {
	captured := make(chan []byte, 1)
	go func() {
		defer ln.Close()
		conn, err := ln.Accept()
		if err != nil {
			captured <- nil
			return
		}
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		data, _ := protocol.ReadMessage(conn)
		captured <- data
	}()
	return captured
}

// replay sends frame, as it was captured, to addr on a connection of its
// own, and returns the answer, if any.
func replay(addr string, frame []byte) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(frame); err != nil {
		return "", err
	}
	conn.(*net.TCPConn).CloseWrite()
	answer, _ := protocol.ReadMessage(conn)
	return string(answer), nil
}
