package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mapreduce/internal/testutil"
)

// TestScriptsRefuseABusyPort: with its master port held by another
// process, start.sh and wordcount.sh exit non-zero at once, naming the
// port, and send nothing to whoever holds it (a job or a shutdown would
// reach someone else's cluster).
func TestScriptsRefuseABusyPort(t *testing.T) {
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	contacted := make(chan struct{}, 1)
	go func() {
		for {
			conn, err := other.Accept()
			if err != nil {
				return
			}
			conn.Close()
			select {
			case contacted <- struct{}{}:
			default:
			}
		}
	}()
	port := other.Addr().(*net.TCPAddr).Port
	for _, script := range []string{"start.sh", "scripts/wordcount.sh"} {
		t.Run(filepath.Base(script), func(t *testing.T) {
			cmd := exec.Command(filepath.Join(repoRoot, script))
			cmd.Env = append(os.Environ(), "MASTER_PORT="+strconv.Itoa(port),
				"WORKER_PORTS="+strconv.Itoa(freePort(t))+" "+strconv.Itoa(freePort(t)),
				"HTTP_PORT="+strconv.Itoa(freePort(t)), "LOG_DIR="+t.TempDir())
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("%s exited 0 with port %d in use:\n%s", script, port, out)
			}
			if !strings.Contains(string(out), "port "+strconv.Itoa(port)) {
				t.Errorf("%s did not name port %d:\n%s", script, port, out)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("%s took %s to refuse", script, took)
			}
		})
	}
	select {
	case <-contacted:
		t.Error("the process holding the port was contacted")
	default:
	}
}

// timeWait leaves a socket in TIME-WAIT on a local port and nothing else
// there: the side that closes first (the server here) keeps its end of the
// connection in TIME-WAIT for a minute after both have closed.
func timeWait(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	server.Close()
	// The client reads the server's FIN, then closes: the server's end
	// goes from FIN-WAIT-2 to TIME-WAIT.
	if _, err := client.Read(make([]byte, 1)); err == nil {
		t.Fatal("read after the server closed: no EOF")
	}
	client.Close()
	testutil.WaitFor(t, 5*time.Second, fmt.Sprintf("a socket in TIME-WAIT on port %d", port), func() bool {
		return tcpStates(t, port)["06"] // TCP_TIME_WAIT in /proc/net/tcp
	})
	if states := tcpStates(t, port); states["0A"] {
		t.Fatalf("port %d still has a listener", port)
	}
	return port
}

// tcpStates returns the states of the IPv4 TCP sockets bound to local
// port, as /proc/net/tcp writes them (06 TIME-WAIT, 0A LISTEN). It reads
// the calling thread's view: /proc/net is the main thread's, which a test
// of network namespaces (netns_test.go) may have left in a namespace of
// its own.
func tcpStates(t *testing.T, port int) map[string]bool {
	t.Helper()
	data, err := os.ReadFile("/proc/thread-self/net/tcp")
	if err != nil {
		t.Skipf("no /proc/thread-self/net/tcp: %v", err)
	}
	states := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && strings.HasSuffix(f[1], fmt.Sprintf(":%04X", port)) {
			states[f[3]] = true
		}
	}
	return states
}

// TestStartBesideTimeWait: start.sh takes a master port whose only socket
// is in TIME-WAIT (a cluster just stopped leaves such), and its started
// processes do not hold its stdout: `./start.sh | tee log` returns. It
// runs in a copy of the repository, where start.sh builds bin/ and makes
// the secret and var/.
func TestStartBesideTimeWait(t *testing.T) {
	repo := t.TempDir()
	for _, name := range []string{"go.mod", "go.sum", "start.sh", "master", "worker", "sendjob", "protocol", "internal"} {
		if out, err := exec.Command("cp", "-r", filepath.Join(repoRoot, name), repo).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v\n%s", name, err, out)
		}
	}
	port := timeWait(t)
	logs := t.TempDir()
	// cat, like tee, ends when every holder of its input has closed it.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", "./start.sh | cat")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "MASTER_PORT="+strconv.Itoa(port),
		"WORKER_PORTS="+strconv.Itoa(freePort(t))+" "+strconv.Itoa(freePort(t)),
		"HTTP_PORT="+strconv.Itoa(freePort(t)), "LOG_DIR="+logs)
	// Past the timeout, bash and cat are killed, and Output gives up on a
	// pipe that the cluster holds open.
	cmd.WaitDelay = time.Second
	t.Cleanup(func() {
		shutdown := exec.Command(filepath.Join(repo, "bin/sendjob"), "--shutdown", strconv.Itoa(port))
		shutdown.Dir = repo
		if out, err := shutdown.CombinedOutput(); err != nil {
			t.Logf("shutdown: %v\n%s", err, out)
		}
		testutil.WaitFor(t, 10*time.Second, "the cluster to stop", func() bool { return !tcpStates(t, port)["0A"] })
	})
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("./start.sh | cat: %v after %s\n%s", err, time.Since(start), out)
	}
	if !strings.Contains(string(out), "all 2 workers registered") {
		t.Errorf("start.sh printed %q, want both workers registered", out)
	}
	if ctx.Err() != nil {
		t.Errorf("./start.sh | cat did not return within %s", time.Since(start))
	}
}
