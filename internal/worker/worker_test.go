package worker_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/worker"
	"mapreduce/protocol"

	"mapreduce/internal/testutil"
)

// The fake master's port on each test's in-memory network.
const masterPort = 6000

// fakeMaster is the test playing the master: it acknowledges registrations
// (but ignores the first `ignore` of them) and hands the test the statuses
// and heartbeats the worker sends.
type fakeMaster struct {
	t    *testing.T
	net  *protocol.Inmem
	addr string

	mu        sync.Mutex
	ignore    int
	registers []protocol.Register
	// reference: the master acknowledges as a reference master does,
	// announcing no extension.
	reference bool
	// acks: the master announces CapAck and answers each status with
	// status_ack, but for the first refuse, which it answers with an
	// error (a master stopping); silent: it answers none (a reference
	// master took the port). sent counts the statuses that came.
	acks   bool
	refuse int
	silent bool
	sent   int

	statuses chan protocol.Status
	killed   chan protocol.AttemptLog
	beats    chan protocol.Heartbeat
	done     chan struct{}
}

// newFakeMaster returns a fake master that does not listen yet.
func newFakeMaster(t *testing.T, ignore int) *fakeMaster {
	return &fakeMaster{
		t: t, net: protocol.NewInmem(), addr: net.JoinHostPort("localhost", strconv.Itoa(masterPort)),
		ignore: ignore, statuses: make(chan protocol.Status, 16), killed: make(chan protocol.AttemptLog, 16), beats: make(chan protocol.Heartbeat, 16),
		done: make(chan struct{}),
	}
}

// listen starts serving the master's port and its heartbeat port until the
// test ends.
func (m *fakeMaster) listen() {
	m.t.Helper()
	ln, err := m.net.Listen(m.addr, m.handle)
	if err != nil {
		m.t.Fatal(err)
	}
	udp, err := m.net.ListenDatagrams(protocol.HeartbeatAddr("localhost", masterPort), func(_ string, msg protocol.Message) {
		if hb, ok := msg.(protocol.Heartbeat); ok {
			select {
			case m.beats <- hb:
			default: // the test has seen enough heartbeats
			}
		}
	})
	if err != nil {
		m.t.Fatal(err)
	}
	m.t.Cleanup(func() {
		ln.Close()
		udp.Close()
		close(m.done)
	})
}

func (m *fakeMaster) handle(_ string, msg protocol.Message, reply func(protocol.Message) error) {
	switch msg := msg.(type) {
	case protocol.Register:
		m.mu.Lock()
		m.registers = append(m.registers, msg)
		ignore := m.ignore > 0
		if ignore {
			m.ignore--
		}
		m.mu.Unlock()
		if ignore {
			return
		}
		to := net.JoinHostPort(msg.WorkerHost, strconv.Itoa(msg.WorkerPort))
		// Like ours, this master announces that it takes extended
		// heartbeats and reports.
		ack := protocol.RegisterAck{WorkerHost: msg.WorkerHost, WorkerPort: msg.WorkerPort, WorkerPID: msg.WorkerPID,
			Capabilities: []string{protocol.CapProgress, protocol.CapReport}}
		if m.acks {
			ack.Capabilities = append(ack.Capabilities, protocol.CapAck)
		}
		if m.reference {
			ack.Capabilities = nil
		}
		if err := m.net.Send(to, ack); err != nil {
			m.t.Errorf("send register_ack to %s: %v", to, err)
		}
	case protocol.Status:
		m.mu.Lock()
		m.sent++
		refuse, silent := m.acks && m.refuse > 0, m.silent
		if refuse {
			m.refuse--
		}
		m.mu.Unlock()
		if refuse {
			reply(protocol.Error{Error: "the master is stopping"})
			return
		}
		select {
		case m.statuses <- msg:
		case <-m.done:
			return
		}
		if m.acks && !silent {
			if err := reply(protocol.StatusAck{}); err != nil {
				m.t.Errorf("status_ack: %v", err)
			}
		}
	case protocol.AttemptLog:
		select {
		case m.killed <- msg:
		case <-m.done:
		}
	default:
		m.t.Errorf("fake master got %#v", msg)
	}
}

// registered returns the registers received so far.
func (m *fakeMaster) registered() []protocol.Register {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.registers)
}

// status returns the next status a worker sends. It takes the t of the
// (sub)test that waits: only that goroutine may end it.
func (m *fakeMaster) status(t *testing.T) protocol.Status {
	t.Helper()
	select {
	case s := <-m.statuses:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no status from the worker")
		return protocol.Status{}
	}
}

const workerPID = 4242

// config returns a worker's config for m, with fast timings.
func (m *fakeMaster) config() worker.Config {
	cfg := worker.DefaultConfig(masterPort, 0)
	cfg.Transport = m.net
	cfg.PID = workerPID
	cfg.HeartbeatInterval = 10 * time.Millisecond
	cfg.RegisterTimeout = 5 * time.Second
	cfg.Parallel = 2
	cfg.LocalDir = filepath.Join(m.t.TempDir(), "local")
	return cfg
}

// start starts a worker for m and stops it when the test ends.
func (m *fakeMaster) start(cfg worker.Config) *worker.Worker {
	m.t.Helper()
	w, err := worker.Start(cfg, zerolog.Nop())
	if err != nil {
		m.t.Fatalf("start worker: %v", err)
	}
	m.t.Cleanup(w.Stop)
	return w
}

// startWorker starts a fake master and a worker registered with it.
func startWorker(t *testing.T) (*fakeMaster, *worker.Worker) {
	t.Helper()
	m := newFakeMaster(t, 0)
	m.listen()
	return m, m.start(m.config())
}

// send sends the worker a task.
func (m *fakeMaster) send(t *testing.T, w *worker.Worker, msg protocol.Message) {
	t.Helper()
	if err := m.net.Send(w.Addr(), msg); err != nil {
		t.Fatalf("send %s to the worker: %v", msg.Type(), err)
	}
}

// script writes an executable shell script into dir and returns its path.
// Every script of a test is written before its first task runs: a script
// being written while another process forks may not be executable yet
// (ETXTBSY).
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeInputs writes name → content into dir and returns the paths, in
// the order of names.
func writeInputs(t *testing.T, dir string, names []string, content func(name string) string) []string {
	t.Helper()
	var paths []string
	for _, name := range names {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content(name)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// noFailure reports whether status carries none of the failure fields.
func noFailure(status protocol.Status) bool {
	return status.Error == "" && !status.Retry && status.MissingFiles == nil
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestProgramTaskRunsEachInput(t *testing.T) {
	m, w := startWorker(t)
	base := t.TempDir()
	upper := script(t, base, "upper", "tr a-z A-Z\n")
	inputs := writeInputs(t, base, []string{"one.txt", "two.txt"}, func(name string) string {
		return "hello from " + name + "\nsecond line\n"
	})
	// The status must echo output_directory exactly as sent, joined with
	// each input's base name as Python's os.path.join would.
	tests := []struct {
		name    string
		dir     string // output_directory, with BASE for the test's directory
		echoed  string // the prefix of each output file in the status
		subdir  string // where the files land, under BASE
		taskPID int
	}{
		{"plain directory", "BASE/out1", "BASE/out1/", "out1", workerPID},
		{"trailing slash", "BASE/out2/", "BASE/out2/", "out2", workerPID},
		{"doubled slash", "BASE//out3", "BASE//out3/", "out3", workerPID},
		{"dot segment", "BASE/./out4//", "BASE/./out4//", "out4", workerPID},
		{"task naming another worker_pid", "BASE/out5", "BASE/out5/", "out5", workerPID + 1},
		{"task naming no worker_pid", "BASE/out6", "BASE/out6/", "out6", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.Mkdir(filepath.Join(base, tt.subdir), 0o755); err != nil {
				t.Fatal(err)
			}
			dir := strings.ReplaceAll(tt.dir, "BASE", base)
			m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs, Executable: upper, OutputDirectory: dir, WorkerPID: tt.taskPID})
			status := m.status(t)
			echoed := strings.ReplaceAll(tt.echoed, "BASE", base)
			want := protocol.Status{
				OutputFiles: []string{echoed + "one.txt", echoed + "two.txt"},
				Status:      protocol.StatusFinished,
				WorkerPID:   workerPID,
			}
			if !slices.Equal(status.OutputFiles, want.OutputFiles) || status.OutputFile != "" ||
				status.Status != want.Status || status.WorkerPID != want.WorkerPID || !noFailure(status) {
				t.Fatalf("status = %+v\nwant %+v", status, want)
			}
			for _, name := range []string{"one.txt", "two.txt"} {
				got := readFile(t, filepath.Join(base, tt.subdir, name))
				if want := "HELLO FROM " + strings.ToUpper(name) + "\nSECOND LINE\n"; got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if got := testutil.ListDir(t, filepath.Join(base, tt.subdir)); !slices.Equal(got, []string{"one.txt", "two.txt"}) {
				t.Errorf("output directory holds %v, want only the two outputs", got)
			}
		})
	}
}

func TestFailingProgramIsReportedWithTailOfStderr(t *testing.T) {
	m, w := startWorker(t)
	base := t.TempDir()
	runs := filepath.Join(base, "runs")
	// It runs once per input, writes some output, then 1 MiB of stderr,
	// then its last words, and fails.
	fail := script(t, base, "fail", fmt.Sprintf(`echo ran >> %s
cat
head -c 1048576 /dev/zero | tr '\0' x >&2
echo "the last words" >&2
exit 3
`, runs))
	inputs := writeInputs(t, base, []string{"one.txt", "two.txt"}, func(string) string { return "some output\n" })
	out := filepath.Join(base, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs, Executable: fail, OutputDirectory: out, WorkerPID: workerPID})
	status := m.status(t)

	if status.Status != protocol.StatusFailed || status.WorkerPID != workerPID {
		t.Errorf("status %q from %d, want %q from %d", status.Status, status.WorkerPID, protocol.StatusFailed, workerPID)
	}
	// A failed status still lists every output the task would have made.
	if want := []string{out + "/one.txt", out + "/two.txt"}; !slices.Equal(status.OutputFiles, want) {
		t.Errorf("output_files = %q, want %q", status.OutputFiles, want)
	}
	if status.Retry || len(status.MissingFiles) > 0 {
		t.Errorf("a failing program is not worth a retry: retry=%v missing_files=%q", status.Retry, status.MissingFiles)
	}
	prefix := fmt.Sprintf("%s < %s: exit status 3: ", fail, inputs[0])
	if !strings.HasPrefix(status.Error, prefix) {
		t.Fatalf("error %.200q… does not start with %q", status.Error, prefix)
	}
	tail := strings.TrimPrefix(status.Error, prefix)
	const bound = 4 << 10
	if len(tail) > bound {
		t.Errorf("error carries %d bytes of stderr, want at most %d", len(tail), bound)
	}
	if !strings.HasSuffix(tail, "the last words") || !strings.Contains(tail, strings.Repeat("x", 1000)) {
		t.Errorf("error does not end with the end of stderr: …%q", tail[max(0, len(tail)-100):])
	}
	// The output appears whole or not at all; after a failed input the
	// rest are skipped.
	if got := testutil.ListDir(t, out); len(got) != 0 {
		t.Errorf("output directory holds %v after a failure, want nothing", got)
	}
	if got := readFile(t, runs); got != "ran\n" {
		t.Errorf("the program ran %d times, want once: the second input is skipped", strings.Count(got, "ran"))
	}
}

func TestMissingInputIsReportedForRetry(t *testing.T) {
	m, w := startWorker(t)
	base := t.TempDir()
	present := writeInputs(t, base, []string{"present.txt"}, func(string) string { return "b\na\n" })[0]
	missing := filepath.Join(base, "missing.txt")
	out := filepath.Join(base, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	sorted := filepath.Join(base, "sorted_0")
	tests := []struct {
		name       string
		task       protocol.Message
		wantFiles  []string
		wantOutput string
	}{
		{"worker job, its only input", protocol.NewWorkerJob{InputFiles: []string{missing}, Executable: "/bin/cat", OutputDirectory: out},
			[]string{out + "/missing.txt"}, ""},
		{"worker job, second input", protocol.NewWorkerJob{InputFiles: []string{present, missing}, Executable: "/bin/cat", OutputDirectory: out},
			[]string{out + "/present.txt", out + "/missing.txt"}, ""},
		{"sort job", protocol.NewSortJob{InputFiles: []string{present, missing}, OutputFile: sorted},
			nil, sorted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m.send(t, w, tt.task)
			status := m.status(t)
			if status.Status != protocol.StatusFailed || !status.Retry || !slices.Equal(status.MissingFiles, []string{missing}) {
				t.Errorf("status %q, retry=%v, missing_files=%q; want %q, retry, [%q]",
					status.Status, status.Retry, status.MissingFiles, protocol.StatusFailed, missing)
			}
			if !strings.Contains(status.Error, missing) {
				t.Errorf("error %q does not name %s", status.Error, missing)
			}
			if !slices.Equal(status.OutputFiles, tt.wantFiles) || status.OutputFile != tt.wantOutput {
				t.Errorf("output_files=%q output_file=%q, want %q and %q", status.OutputFiles, status.OutputFile, tt.wantFiles, tt.wantOutput)
			}
		})
	}
	if _, err := os.Stat(sorted); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed sort left %s: %v", sorted, err)
	}
}

func TestSortJobSortsLinesIntoOutputFile(t *testing.T) {
	m, w := startWorker(t)
	base := t.TempDir()
	inputs := writeInputs(t, base, []string{"m1", "m2", "empty"}, func(name string) string {
		switch name {
		case "m1":
			return "b\t1\na\x01\t1\na\t2\n"
		case "m2":
			return "c\na\t1\nb\t1\na\tz" // no newline at the end
		}
		return ""
	})
	// Echoed as sent, doubled slash and all.
	output := base + "//sorted_0"
	m.send(t, w, protocol.NewSortJob{InputFiles: inputs, OutputFile: output, WorkerPID: workerPID})
	status := m.status(t)
	if status.Status != protocol.StatusFinished || status.OutputFile != output || status.OutputFiles != nil ||
		status.WorkerPID != workerPID || !noFailure(status) {
		t.Fatalf("status = %+v, want finished with output_file %q only", status, output)
	}
	// By key (the bytes before the first tab), then by the whole line:
	// key "a" sorts before key "a\x01", though the line "a\x01\t1" sorts
	// before "a\t1" byte by byte. Duplicates stay; every line ends in a
	// newline.
	want := "a\t1\na\t2\na\tz\na\x01\t1\nb\t1\nb\t1\nc\n"
	if got := readFile(t, filepath.Join(base, "sorted_0")); got != want {
		t.Errorf("sorted output = %q, want %q", got, want)
	}
}

func TestRegistrationIsRetriedUntilAcked(t *testing.T) {
	t.Run("master not listening yet", func(t *testing.T) {
		m := newFakeMaster(t, 0)
		// Until the master listens, a register is refused. The fault says
		// so itself rather than leave it to the missing listener: Inmem
		// looks the listener up before it asks the fault, and a register
		// that found the listener half made would race with its making
		// (see TestInmemListenRacesWithSenders in protocol).
		refused, listening := make(chan struct{}), make(chan struct{})
		var once sync.Once
		m.net.SetFault(func(addr string, msg protocol.Message) error {
			if _, ok := msg.(protocol.Register); !ok || addr != m.addr {
				return nil
			}
			select {
			case <-listening:
				return nil
			default:
				once.Do(func() { close(refused) })
				return syscall.ECONNREFUSED
			}
		})
		started := make(chan *worker.Worker, 1)
		errs := make(chan error, 1)
		go func() {
			w, err := worker.Start(m.config(), zerolog.Nop())
			if err != nil {
				errs <- err
				return
			}
			started <- w
		}()
		select {
		case <-refused:
		case err := <-errs:
			t.Fatalf("start worker: %v", err)
		case <-time.After(2 * time.Second):
			t.Fatal("the worker sent no register")
		}
		m.listen()
		close(listening)
		var w *worker.Worker
		select {
		case w = <-started:
			t.Cleanup(w.Stop)
		case err := <-errs:
			t.Fatalf("start worker: %v", err)
		case <-time.After(3 * time.Second):
			t.Fatal("the worker did not register once the master listened")
		}
		checkRegistered(t, m, w, 1)
	})

	t.Run("first register ignored", func(t *testing.T) {
		if testing.Short() {
			t.Skip("waits out the worker's first ack timeout, a fixed 2 s")
		}
		t.Parallel() // with the other 2 s wait
		m := newFakeMaster(t, 1)
		m.listen()
		w := m.start(m.config())
		checkRegistered(t, m, w, 2)
	})

	t.Run("never acknowledged", func(t *testing.T) {
		// The wait for an ack ends with RegisterTimeout: 100 ms here.
		m := newFakeMaster(t, 1000)
		m.listen()
		cfg := m.config()
		cfg.RegisterTimeout = 100 * time.Millisecond
		w, err := worker.Start(cfg, zerolog.Nop())
		if err == nil {
			w.Stop()
			t.Fatal("a worker never acknowledged started")
		}
		if !strings.Contains(err.Error(), "register") {
			t.Errorf("error %q does not say registration failed", err)
		}
		regs := m.registered()
		if len(regs) == 0 {
			t.Fatal("no register arrived")
		}
		// It stopped listening.
		addr := net.JoinHostPort(regs[0].WorkerHost, strconv.Itoa(regs[0].WorkerPort))
		if err := m.net.Send(addr, protocol.Shutdown{}); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("send to the worker that gave up: %v, want connection refused", err)
		}
	})
}

func TestRegisterTimeoutBoundsTheWaitForAck(t *testing.T) {
	m := newFakeMaster(t, 1000) // never acknowledges
	m.listen()
	cfg := m.config()
	cfg.RegisterTimeout = 100 * time.Millisecond
	start := time.Now()
	w, err := worker.Start(cfg, zerolog.Nop())
	if err == nil {
		w.Stop()
		t.Fatal("a worker never acknowledged started")
	}
	if took := time.Since(start); took > cfg.RegisterTimeout+500*time.Millisecond {
		t.Errorf("Start gave up after %v, RegisterTimeout is %v", took, cfg.RegisterTimeout)
	}
}

// checkRegistered checks that m got n registers from w, all alike, and
// that w sends heartbeats now.
func checkRegistered(t *testing.T, m *fakeMaster, w *worker.Worker, n int) {
	t.Helper()
	regs := m.registered()
	_, port, _ := net.SplitHostPort(w.Addr())
	want := protocol.Register{WorkerHost: "localhost", WorkerPID: workerPID,
		Capabilities: []string{protocol.CapProgress, protocol.CapCancel, protocol.CapTask, protocol.CapSplits, protocol.CapPrograms, protocol.CapShuffle}}
	if len(regs) > 0 {
		if len(regs[0].WorkerID) != 16 {
			t.Errorf("worker_id %q, want 16 hex digits drawn at random", regs[0].WorkerID)
		}
		want.WorkerID = regs[0].WorkerID
	}
	want.WorkerPort, _ = strconv.Atoi(port)
	if len(regs) != n {
		t.Errorf("master got %d registers, want %d", len(regs), n)
	}
	for _, r := range regs {
		if !reflect.DeepEqual(r, want) {
			t.Errorf("register = %+v, want %+v", r, want)
		}
	}
	select {
	case hb := <-m.beats:
		if hb.WorkerPID != workerPID {
			t.Errorf("heartbeat from %d, want %d", hb.WorkerPID, workerPID)
		}
	case <-time.After(2 * time.Second):
		t.Error("no heartbeat after register_ack")
	}
}

// gone reports whether process pid has ended: it no longer exists, or it
// is a zombie that nobody has reaped yet (a grandchild reparented to a
// init that does not reap).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) state …; comm may hold spaces and parentheses.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

func TestShutdownKillsRunningPrograms(t *testing.T) {
	tests := []struct {
		name string
		stop func(t *testing.T, m *fakeMaster, w *worker.Worker)
	}{
		{"shutdown message", func(t *testing.T, m *fakeMaster, w *worker.Worker) { m.send(t, w, protocol.Shutdown{}) }},
		{"Stop", func(_ *testing.T, _ *fakeMaster, w *worker.Worker) { w.Stop() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, w := startWorker(t)
			base := t.TempDir()
			// A shell with a child of its own: the whole process group must go.
			sleeper := script(t, base, "sleeper", fmt.Sprintf(`sleep 30 &
echo $! > %[1]s/child.pid
echo $$ > %[1]s/shell.tmp && mv %[1]s/shell.tmp %[1]s/shell.pid
wait
`, base))
			input := writeInputs(t, base, []string{"in.txt"}, func(string) string { return "x\n" })
			out := filepath.Join(base, "out")
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			m.send(t, w, protocol.NewWorkerJob{InputFiles: input, Executable: sleeper, OutputDirectory: out, WorkerPID: workerPID})
			testutil.WaitFor(t, 2*time.Second, "the program to start", func() bool {
				_, err := os.Stat(filepath.Join(base, "shell.pid"))
				return err == nil
			})
			var pids []int
			for _, name := range []string{"shell.pid", "child.pid"} {
				pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(base, name))))
				if err != nil {
					t.Fatal(err)
				}
				pids = append(pids, pid)
			}

			tt.stop(t, m, w)
			stopped := make(chan struct{})
			go func() { w.Wait(); close(stopped) }()
			select {
			case <-stopped:
			case <-time.After(2 * time.Second):
				t.Fatal("worker did not stop")
			}
			for _, pid := range pids {
				testutil.WaitFor(t, 2*time.Second, fmt.Sprintf("process %d to be killed", pid), func() bool { return gone(pid) })
			}
			if err := m.net.Send(w.Addr(), protocol.Shutdown{}); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("send to the stopped worker: %v, want connection refused", err)
			}
			// The killed program's partial output is removed, and its task
			// is not reported.
			testutil.WaitFor(t, 2*time.Second, "the partial output to be removed", func() bool { return len(testutil.ListDir(t, out)) == 0 })
			select {
			case s := <-m.statuses:
				t.Errorf("the worker reported a task it was told to drop: %+v", s)
			default:
			}
		})
	}
}
