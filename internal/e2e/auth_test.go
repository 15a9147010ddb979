package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
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

// writeSecret writes a fresh secret file (mode 0600) into dir.
func writeSecret(t *testing.T, dir, name, value string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const (
	testSecret  = "6d6170726564756365207465737420736563726574206f6e65206f662074776f"
	wrongSecret = "77726f6e67207365637265742c207468652073656e64657220697320616e206f"
)

// sender sends messages as protocol.TCP does: unauthenticated, or with
// another secret, from this namespace or another.
type sender interface {
	Send(addr string, msg protocol.Message) error
	SendDatagram(addr string, msg protocol.Message) error
}

// attack is what TestUnauthenticatedMessagesRefused and TestMultiHost send
// without the cluster's secret.
type attack struct {
	master, worker string // TCP addresses
	heartbeats     string // the master's UDP address
	// alive is a worker to keep alive by forged heartbeats; dead one to
	// bring back (0: none).
	dead int
}

// refuseUnauthenticated sends every message that would make a cluster run
// or change something, from each of senders (none holds the secret), and
// checks that none was acted on: nothing ran or was written, no job or
// worker appeared, no dead worker came back, nothing shut down. Each
// refusal is seen in the master's or the worker's log before the checks.
func (c *cluster) refuseUnauthenticated(a attack, worker *proc, senders ...sender) {
	t := c.t
	t.Helper()
	marker := filepath.Join(c.dir, "ran")
	program := script(t, c.dir, "marker.sh", "#!/bin/sh\necho ran >> "+marker+"\ncat\n", 0o755)
	jobsBefore, workersBefore := len(c.status().Jobs), len(c.status().Workers)
	masterDrops, workerDrops := c.count(c.master, "not authenticated"), c.count(worker, "not authenticated")
	input := filepath.Join(repoRoot, "input/file01.txt")
	toMaster := []protocol.Message{
		protocol.NewMasterJob{InputDirectory: filepath.Join(repoRoot, "input"), OutputDirectory: filepath.Join(c.dir, "forged-job"),
			MapperExecutable: program, ReducerExecutable: program, NumMappers: 1, NumReducers: 1},
		protocol.Register{WorkerHost: "10.77.0.99", WorkerPort: 1, WorkerPID: 999999},
		protocol.Shutdown{},
	}
	toWorker := []protocol.Message{
		protocol.NewWorkerJob{InputFiles: []string{input}, Executable: program, OutputDirectory: filepath.Join(c.dir, "forged-task")},
		protocol.NewSortJob{InputFiles: []string{input}, OutputFile: filepath.Join(c.dir, "forged-sort")},
		protocol.Shutdown{},
	}
	beats := []protocol.Message{protocol.Heartbeat{WorkerPID: 999998}}
	if a.dead != 0 {
		beats = append(beats, protocol.Heartbeat{WorkerPID: a.dead})
	}
	for _, s := range senders {
		for _, msg := range toMaster {
			if err := s.Send(a.master, msg); err != nil {
				t.Fatalf("send %s to the master: %v", msg.Type(), err)
			}
		}
		for _, msg := range toWorker {
			if err := s.Send(a.worker, msg); err != nil {
				t.Fatalf("send %s to the worker: %v", msg.Type(), err)
			}
		}
		for _, msg := range beats {
			if err := s.SendDatagram(a.heartbeats, msg); err != nil {
				t.Fatalf("send a heartbeat: %v", err)
			}
		}
	}
	// Every message was read and refused before it reached a handler.
	wantMaster, wantWorker := masterDrops+len(senders)*(len(toMaster)+len(beats)), workerDrops+len(senders)*len(toWorker)
	testutil.WaitFor(t, 10*time.Second, fmt.Sprintf("%d refusals logged by the master and %d by the worker", wantMaster, wantWorker), func() bool {
		return c.count(c.master, "not authenticated") >= wantMaster && c.count(worker, "not authenticated") >= wantWorker
	})
	status := c.status() // the master still answers
	if c.master.exited() || worker.exited() {
		t.Fatalf("a forged shutdown stopped the master (%v) or the worker (%v)", c.master.exited(), worker.exited())
	}
	if len(status.Jobs) != jobsBefore || len(status.Workers) != workersBefore {
		t.Errorf("jobs %d → %d, workers %d → %d: a forged message was acted on", jobsBefore, len(status.Jobs), workersBefore, len(status.Workers))
	}
	for _, w := range status.Workers {
		if w.PID == a.dead && w.State != "dead" {
			t.Errorf("worker %d, dead, is %s after forged heartbeats", w.PID, w.State)
		}
	}
	for _, path := range []string{marker, filepath.Join(c.dir, "forged-job"), filepath.Join(c.dir, "forged-task"), filepath.Join(c.dir, "forged-sort")} {
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s exists: a forged message ran something", path)
		}
	}
}

// count is how many lines of p's log hold part.
func (c *cluster) count(p *proc, part string) int {
	data, err := os.ReadFile(p.log)
	if err != nil {
		c.t.Fatal(err)
	}
	return strings.Count(string(data), part)
}

// TestUnauthenticatedMessagesRefused: a master and a worker with a secret
// act on nothing sent without it (unsealed, or sealed with another
// secret), then run a job sent with it.
func TestUnauthenticatedMessagesRefused(t *testing.T) {
	dir := t.TempDir()
	file := writeSecret(t, dir, "secret", testSecret)
	key, err := secret.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, "--secret-file", file)
	c.client = protocol.TCP{Auth: protocol.NewAuth(key, protocol.Self{}), Master: c.addr()}
	w := c.startWorkerWith([]string{"--secret-file", file})
	dead := c.startWorkerWith([]string{"--secret-file", file})
	dead.kill()
	testutil.WaitFor(t, 10*time.Second, "the killed worker declared dead", func() bool {
		for _, wk := range c.status().Workers {
			if wk.PID == dead.pid() {
				return wk.State == "dead"
			}
		}
		return false
	})
	var workerAddr string
	for _, wk := range c.status().Workers {
		if wk.PID == w.pid() {
			workerAddr = net.JoinHostPort(wk.Host, strconv.Itoa(wk.Port))
		}
	}
	wrong, err := secret.Read(writeSecret(t, dir, "wrong", wrongSecret))
	if err != nil {
		t.Fatal(err)
	}
	c.refuseUnauthenticated(attack{master: c.addr(), worker: workerAddr, heartbeats: protocol.HeartbeatAddr("localhost", c.port), dead: dead.pid()},
		w, protocol.TCP{}, protocol.TCP{Auth: protocol.NewAuth(wrong, protocol.Self{})})

	// sendjob without the secret is told why; with it, its job runs.
	sendjob := filepath.Join(binDir, "sendjob")
	out, err := exec.Command(sendjob, "--status", strconv.Itoa(c.port)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no authentication header") {
		t.Errorf("sendjob without the secret: %v\n%s\nwant refused: no authentication header", err, out)
	}
	cmd := exec.Command(sendjob, "--wait", "--timeout", "1m", "--output-directory", filepath.Join(c.dir, "out"), strconv.Itoa(c.port))
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), secret.EnvVar+"="+file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendjob with the secret in $%s: %v\n%s", secret.EnvVar, err, out)
	}
	c.checkOutput(job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 2, reducers: 2}, filepath.Join(c.dir, "out"))
}

// TestInsecureRefused: a master or worker without a secret will not listen
// where other machines reach it unless told --insecure, and says why.
func TestInsecureRefused(t *testing.T) {
	// Free ports and a deadline: should the check ever break, a master
	// listening on every address must not take a port in use, nor hang
	// the test.
	port := strconv.Itoa(freeMasterPort(t))
	for _, args := range [][]string{
		{filepath.Join(binDir, "master"), "--host", "0.0.0.0", port},
		{filepath.Join(binDir, "master"), "--http", "0.0.0.0:" + strconv.Itoa(freePort(t)), port},
		{filepath.Join(binDir, "worker"), "--host", "10.77.0.2", port, strconv.Itoa(freePort(t))},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--secret-file") || !strings.Contains(string(out), "--insecure") {
			t.Errorf("%s: %v\n%s\nwant refused, naming --secret-file and --insecure", strings.Join(args[1:], " "), err, out)
		}
	}
}

// TestStatusPageToken: with a secret, the status page and /api/status
// answer only with the token derived from it: ?token= (which sets a
// cookie), the cookie, or a bearer header.
func TestStatusPageToken(t *testing.T) {
	file := writeSecret(t, t.TempDir(), "secret", testSecret)
	key, err := secret.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := "localhost:" + strconv.Itoa(freePort(t))
	c := newCluster(t, "--secret-file", file, "--http", httpAddr)
	token := secret.StatusToken(key)
	c.waitLog(c.master, "status page", "?token="+token)
	base := "http://" + httpAddr
	get := func(path string, header http.Header) *http.Response {
		req, err := http.NewRequest("GET", base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = header
		noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, path := range []string{"/", "/api/status", "/jobs/0", "/?token=" + strings.Repeat("0", len(token)), "/api/status?token=" + token[1:]} {
		if resp := get(path, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %s, want 401", path, resp.Status)
		}
	}
	// The page opened with its token sets the cookie and is sent again
	// without the token in its address.
	resp := get("/?token="+token, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("GET /?token=: %s to %q (Referrer-Policy %q), want 303 to / with no-referrer", resp.Status, resp.Header.Get("Location"), resp.Header.Get("Referrer-Policy"))
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		cookie = ck
	}
	if cookie == nil || !cookie.HttpOnly {
		t.Fatalf("no HttpOnly cookie set by ?token=: %v", resp.Cookies())
	}
	if resp := get("/", http.Header{"Cookie": {cookie.String()}}); resp.StatusCode != http.StatusOK {
		t.Errorf("GET / with the cookie: %s", resp.Status)
	}
	// A job's page too: there is no job 0 yet.
	if resp := get("/jobs/0", http.Header{"Cookie": {cookie.String()}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /jobs/0 with the cookie: %s, want 404: no such job", resp.Status)
	}
	if !strings.HasSuffix(cookie.Name, strconv.Itoa(c.httpPort(t, httpAddr))) {
		t.Errorf("cookie %q does not name the page's port", cookie.Name)
	}
	if resp := get("/api/status?token="+token, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/status?token=: %s", resp.Status)
	}
	if resp := get("/api/status", http.Header{"Authorization": {"Bearer " + token}}); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/status with the bearer token: %s", resp.Status)
	}
}

// httpPort is the port of addr, host:port.
func (c *cluster) httpPort(t *testing.T, addr string) int {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return n
}
