// Package e2e tests the built master, worker and sendjob binaries as real
// processes talking over real sockets, against the truth pipeline
// `cat input/* | map | sort | reduce`.
package e2e

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mapreduce/protocol"

	"mapreduce/internal/testutil"
)

var (
	binDir   string
	repoRoot string
)

// Fast timings so that deaths are detected in well under a second.
const (
	heartbeat = 100 * time.Millisecond
	missed    = 5
)

func TestMain(m *testing.M) {
	flag.Parse()
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	repoRoot = root
	// A secret named in the developer's environment must not reach the
	// clusters here, which choose theirs.
	os.Unsetenv("MAPREDUCE_SECRET_FILE")
	// A pyenv shim in front of python3 costs 0.1–0.4 s a start, paid by
	// every Python program, reference peer and truth pipeline here: put the
	// interpreter itself first on PATH, as scripts/bench.sh does.
	if exe, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output(); err == nil {
		if dir := filepath.Dir(strings.TrimSpace(string(exe))); filepath.IsAbs(dir) {
			os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
		}
	}
	dir, err := os.MkdirTemp("", "mapreduce-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-race", "-o", binDir+"/", "./master", "./worker", "./sendjob")
	if !raceEnabled {
		build = exec.Command("go", "build", "-o", binDir+"/", "./master", "./worker", "./sendjob")
	}
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build binaries:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// proc is a child process whose stderr goes to a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) signal(sig syscall.Signal) {
	if !p.exited() {
		p.cmd.Process.Signal(sig)
	}
}

// kill kills the process and waits for it.
func (p *proc) kill() {
	p.signal(syscall.SIGCONT)
	p.signal(syscall.SIGKILL)
	<-p.done
}

// cluster is a master and its workers, all run in one scratch directory.
type cluster struct {
	t      *testing.T
	dir    string
	port   int
	master *proc
	// masterArgs start the master again after a restart.
	masterArgs []string
	workers    []*proc
	procs      []*proc
	// host is the master's host (localhost if empty), and client what the
	// test asks the master through (protocol.TCP{} if nil): a secret
	// cluster's is authenticated, a multi-host one's in a namespace.
	host   string
	client requester
}

// requester asks a peer and waits for the answer, as protocol.TCP does.
type requester interface {
	Request(addr string, msg protocol.Message, timeout time.Duration) (protocol.Message, error)
}

// request asks addr through the cluster's client.
func (c *cluster) request(addr string, msg protocol.Message) (protocol.Message, error) {
	if c.client == nil {
		return protocol.Request(addr, msg, 5*time.Second)
	}
	return c.client.Request(addr, msg, 5*time.Second)
}

// newCluster starts a master with fast heartbeats and waits for it to
// listen.
func newCluster(t *testing.T, masterArgs ...string) *cluster {
	t.Helper()
	c := newScratch(t)
	args := append([]string{
		"--heartbeat-interval", heartbeat.String(), "--missed-heartbeats", strconv.Itoa(missed),
		"--log-format", "json", "--log-level", "debug",
	}, masterArgs...)
	c.masterArgs = append(args, strconv.Itoa(c.port))
	c.startMaster()
	return c
}

// startMaster starts the cluster's master and waits for it to listen.
func (c *cluster) startMaster() {
	c.t.Helper()
	c.master = c.start("master", filepath.Join(binDir, "master"), c.masterArgs...)
	testutil.WaitFor(c.t, 10*time.Second, "master listening", func() bool {
		conn, err := net.Dial("tcp", c.addr())
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
}

// newScratch returns a cluster with no process yet: a scratch directory,
// a free master port, and a cleanup that kills whatever it starts and shows
// their logs if the test failed.
func newScratch(t *testing.T) *cluster {
	c := &cluster{t: t, dir: t.TempDir(), port: freeMasterPort(t)}
	t.Cleanup(func() {
		for _, p := range c.procs {
			p.kill()
		}
		if t.Failed() {
			for _, p := range c.procs {
				c.dumpLog(p)
			}
		}
	})
	return c
}

func (c *cluster) addr() string {
	host := c.host
	if host == "" {
		host = "localhost"
	}
	return net.JoinHostPort(host, strconv.Itoa(c.port))
}

func (c *cluster) start(name, path string, args ...string) *proc {
	c.t.Helper()
	return c.startEnv(name, path, nil, args...)
}

// startEnv starts a process with env added to the test's environment.
func (c *cluster) startEnv(name, path string, env []string, args ...string) *proc {
	c.t.Helper()
	p := &proc{name: name, log: filepath.Join(c.dir, fmt.Sprintf("%s-%d.log", name, len(c.procs))), done: make(chan struct{})}
	logFile, err := os.Create(p.log)
	if err != nil {
		c.t.Fatal(err)
	}
	p.cmd = exec.Command(path, args...)
	p.cmd.Dir = c.dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = logFile
	p.cmd.Stderr = logFile
	if err := p.cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	c.procs = append(c.procs, p)
	return p
}

func (c *cluster) dumpLog(p *proc) {
	data, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	c.t.Logf("--- last lines of %s (%s):\n%s", p.name, p.log, strings.Join(lines, "\n"))
}

// startWorker starts one of our workers and waits until the master lists it
// as alive. env is added to its environment, which its executables inherit.
func (c *cluster) startWorker(env ...string) *proc {
	c.t.Helper()
	return c.startWorkerWith(nil, env...)
}

// startWorkerWith starts one of our workers with flags added.
func (c *cluster) startWorkerWith(flags []string, env ...string) *proc {
	c.t.Helper()
	args := append([]string{
		"--heartbeat-interval", heartbeat.String(), "--log-format", "json", "--log-level", "debug",
		"--local-dir", filepath.Join(c.t.TempDir(), "local"),
	}, flags...)
	args = append(args, strconv.Itoa(c.port), strconv.Itoa(freePort(c.t)))
	p := c.startEnv("worker", filepath.Join(binDir, "worker"), env, args...)
	c.waitRegistered(p)
	c.workers = append(c.workers, p)
	return p
}

// startReferenceWorker starts the reference-only Python worker from testdata, with
// env added to its environment.
func (c *cluster) startReferenceWorker(env ...string) *proc {
	c.t.Helper()
	script := filepath.Join(repoRoot, "internal/e2e/testdata/reference_worker.py")
	p := c.startEnv("reference-worker", "python3", env, script, strconv.Itoa(c.port), strconv.Itoa(freePort(c.t)),
		strconv.FormatFloat(heartbeat.Seconds(), 'f', -1, 64))
	c.waitRegistered(p)
	c.workers = append(c.workers, p)
	return p
}

func (c *cluster) waitRegistered(p *proc) {
	c.t.Helper()
	testutil.WaitFor(c.t, 10*time.Second, p.name+" registered", func() bool {
		for _, w := range c.status().Workers {
			if w.PID == p.pid() && w.State != "dead" {
				return true
			}
		}
		return p.exited()
	})
	if p.exited() {
		c.t.Fatalf("%s exited: %v", p.name, p.err)
	}
}

func (c *cluster) status() protocol.ClusterStatus {
	c.t.Helper()
	reply, err := c.request(c.addr(), protocol.JobStatusRequest{})
	if err != nil {
		c.t.Fatalf("job status: %v", err)
	}
	status, ok := reply.(protocol.ClusterStatus)
	if !ok {
		c.t.Fatalf("job status: got %#v", reply)
	}
	return status
}

// job is a job to submit; its paths are relative to the repository.
type job struct {
	input, mapper, reducer string
	mappers, reducers      int
	// combiner is optional.
	combiner string
}

// submit posts a job whose output goes to a fresh directory, and returns
// the job's id and that directory.
func (c *cluster) submit(j job) (int, string) {
	c.t.Helper()
	return c.submitTo(j, filepath.Join(c.dir, fmt.Sprintf("output-%d", time.Now().UnixNano())))
}

// submitTo posts a job whose output goes to out.
func (c *cluster) submitTo(j job, out string) (int, string) {
	c.t.Helper()
	reply, err := c.request(c.addr(), c.jobMessage(j, out))
	if err != nil {
		c.t.Fatalf("submit: %v", err)
	}
	accepted, ok := reply.(protocol.JobAccepted)
	if !ok {
		c.t.Fatalf("submit: got %#v", reply)
	}
	return accepted.JobID, out
}

// jobMessage is the new_master_job of j, with output in out.
func (c *cluster) jobMessage(j job, out string) protocol.NewMasterJob {
	msg := protocol.NewMasterJob{
		InputDirectory:   c.repoPath(j.input),
		OutputDirectory:  out,
		MapperExecutable: c.repoPath(j.mapper),
		NumMappers:       j.mappers,
		NumReducers:      j.reducers,
	}
	if j.reducer != "" { // a map-only job may have none
		msg.ReducerExecutable = c.repoPath(j.reducer)
	}
	if j.combiner != "" {
		msg.CombinerExecutable = c.repoPath(j.combiner)
	}
	return msg
}

func (c *cluster) repoPath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(repoRoot, p)
}

// waitJob waits until job id has ended and returns its record.
func (c *cluster) waitJob(id int, timeout time.Duration) protocol.JobInfo {
	c.t.Helper()
	var info protocol.JobInfo
	testutil.WaitFor(c.t, timeout, fmt.Sprintf("job %d to end", id), func() bool {
		for _, j := range c.status().Jobs {
			if j.ID == id {
				info = j
			}
		}
		return info.State == protocol.JobDone || info.State == protocol.JobFailed || info.State == protocol.JobCancelled
	})
	return info
}

// waitDone waits for job id, submitted as j with output in out, to end; it
// must end done, with the truth pipeline's output. It returns the job's record.
func (c *cluster) waitDone(j job, id int, out string) protocol.JobInfo {
	c.t.Helper()
	info := c.waitJob(id, 60*time.Second)
	if info.State != protocol.JobDone {
		c.t.Fatalf("job %d (%+v) ended %s: %v", id, j, info.State, info.Errors)
	}
	c.checkOutput(j, out)
	return info
}

// checkOutput compares a finished job's output with the truth pipeline, and
// wants one file per reducer and the empty _SUCCESS marker, nothing more.
func (c *cluster) checkOutput(j job, outDir string) {
	c.t.Helper()
	want := truth(c.t, c.repoPath(j.input), c.repoPath(j.mapper), c.repoPath(j.reducer))
	got := sortedOutput(c.t, outDir)
	if got != want {
		c.t.Errorf("output of %+v differs from the truth pipeline:\n%s", j, diffSummary(want, got))
	}
	entries, err := os.ReadDir(outDir)
	if err != nil {
		c.t.Fatal(err)
	}
	if len(entries) != j.reducers+1 {
		c.t.Errorf("output directory has %d files, want %d (one per reducer and _SUCCESS)", len(entries), j.reducers+1)
	}
	if info, err := os.Stat(filepath.Join(outDir, "_SUCCESS")); err != nil || info.Size() != 0 {
		c.t.Errorf("output directory has no empty _SUCCESS marker: %v", err)
	}
	// Outputs are made as a shell redirection would make them: 0666 less
	// the umask, which the cluster's processes share with this test.
	probe := filepath.Join(c.t.TempDir(), "probe")
	if err := os.WriteFile(probe, nil, 0o666); err != nil {
		c.t.Fatal(err)
	}
	probeInfo, err := os.Stat(probe)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			c.t.Fatal(err)
		}
		if info.Mode() != probeInfo.Mode() {
			c.t.Errorf("output %s has mode %v, want %v as a shell would make it", e.Name(), info.Mode(), probeInfo.Mode())
		}
	}
}

// truth runs `cat input/* | map | sort | reduce` with byte-order sorting.
func truth(t *testing.T, input, mapper, reducer string) string {
	t.Helper()
	return pipeline(t, "cat", input, mapper, reducer)
}

// pipeline runs `READ input/* | map | LC_ALL=C sort | reduce` and returns
// its output's lines sorted.
func pipeline(t *testing.T, read, input, mapper, reducer string) string {
	t.Helper()
	script := fmt.Sprintf("%s %q/* | %q | LC_ALL=C sort | %q", read, input, mapper, reducer)
	cmd := exec.Command("bash", "-o", "pipefail", "-c", script)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("truth pipeline %s: %v", script, err)
	}
	return sortLines(string(out))
}

// sortedOutput is `cat dir/* | LC_ALL=C sort`.
func sortedOutput(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read output: %v", err)
	}
	var all bytes.Buffer
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		all.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			all.WriteByte('\n')
		}
	}
	return sortLines(all.String())
}

func sortLines(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if s == "" {
		lines = nil
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func diffSummary(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("first difference at line %d: want %q, got %q (want %d lines, got %d)", i+1, wl, gl, len(w), len(g))
		}
	}
	return "same lines"
}

// waitLog waits until a line of p's log contains every one of parts.
func (c *cluster) waitLog(p *proc, parts ...string) {
	c.t.Helper()
	testutil.WaitFor(c.t, 10*time.Second, fmt.Sprintf("%s to log %q", p.name, parts), func() bool {
		return c.logged(p, parts...)
	})
}

// logged reports whether a line of p's log holds every one of parts.
func (c *cluster) logged(p *proc, parts ...string) bool {
	data, err := os.ReadFile(p.log)
	if err != nil {
		c.t.Fatal(err)
	}
lines:
	for _, line := range strings.Split(string(data), "\n") {
		for _, part := range parts {
			if !strings.Contains(line, part) {
				continue lines
			}
		}
		return true
	}
	return false
}

// Ports for the processes a test starts are chosen below the kernel's
// ephemeral range (32768-60999 on Linux), so a port we chose and released
// cannot be handed to someone else's bind(":0") or outgoing connection
// before our process binds it; and never twice in one test binary, so two
// picks (a status page and a worker, say) cannot collide with each other.
// CI once failed when a worker was given the port the status page had
// taken a moment before.
const (
	testPortLow  = 20000
	testPortHigh = 32000
)

var (
	portMu   sync.Mutex
	portNext = testPortLow + os.Getpid()%(testPortHigh-testPortLow)
	portUsed = map[int]bool{}
)

// freePort returns a TCP port nobody listens on now, one this test binary
// has not returned before.
func freePort(t *testing.T) int {
	t.Helper()
	return pickPort(t, func(int) bool { return true })
}

// pickPort returns the next unused port free on TCP for which ok holds.
func pickPort(t *testing.T, ok func(int) bool) int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	for range testPortHigh - testPortLow {
		p := portNext
		portNext++
		if portNext >= testPortHigh {
			portNext = testPortLow
		}
		if portUsed[p] {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("localhost", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		ln.Close()
		if !ok(p) {
			continue
		}
		portUsed[p] = true
		return p
	}
	t.Fatal("no free port")
	return 0
}

// freeMasterPort returns a port P free on TCP with P-1 free on UDP.
func freeMasterPort(t *testing.T) int {
	t.Helper()
	return pickPort(t, func(p int) bool {
		// pickPort holds portMu while it calls us, so P-1 is ours at once.
		if portUsed[p-1] {
			return false
		}
		udp, err := net.ListenPacket("udp", net.JoinHostPort("localhost", strconv.Itoa(p-1)))
		if err != nil {
			return false
		}
		udp.Close()
		portUsed[p-1] = true
		return true
	})
}
