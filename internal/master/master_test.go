package master_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/master"
	"mapreduce/protocol"

	"mapreduce/internal/testutil"
)

// The master's port on each test's in-memory network; heartbeats go to
// port-1.
const masterPort = 7000

// Fast timings: the master checks heartbeats every interval/2.
const (
	heartbeatInterval = 20 * time.Millisecond
	// fakeBeat is how often a fake worker beats: faster than the master
	// expects, so that a slow goroutine under -race is not taken for dead.
	fakeBeat = 10 * time.Millisecond
)

// cluster is a master on an in-memory network; the test plays its workers
// and its clients.
type cluster struct {
	t      *testing.T
	net    *protocol.Inmem
	srv    *master.Server
	cfg    master.Config
	addr   string
	varDir string
}

// startMaster starts a master with fast timings; tune may change its
// config first. The master is shut down when the test ends.
func startMaster(t *testing.T, tune func(*master.Config)) *cluster {
	t.Helper()
	n := protocol.NewInmem()
	cfg := master.DefaultConfig(masterPort)
	cfg.Transport = n
	cfg.Scheduler.VarDir = filepath.Join(t.TempDir(), "var")
	cfg.Scheduler.HeartbeatInterval = heartbeatInterval
	cfg.Scheduler.MissedHeartbeats = 10
	cfg.Scheduler.AckRetry = 200 * time.Millisecond
	if tune != nil {
		tune(&cfg)
	}
	srv, err := master.Start(cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("start master: %v", err)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.Wait()
	})
	return &cluster{t: t, net: n, srv: srv, cfg: cfg, addr: net.JoinHostPort("localhost", strconv.Itoa(masterPort)), varDir: cfg.Scheduler.VarDir}
}

// with returns c for a subtest: helpers that fail end t, which only its
// own goroutine may do.
func (c *cluster) with(t *testing.T) *cluster {
	sub := *c
	sub.t = t
	return &sub
}

// request sends msg to the master and returns its answer.
func (c *cluster) request(msg protocol.Message) protocol.Message {
	c.t.Helper()
	answer, err := c.net.Request(c.addr, msg, 2*time.Second)
	if err != nil {
		c.t.Fatalf("request %s: %v", msg.Type(), err)
	}
	return answer
}

// submit sends a job that must be accepted and returns its id.
func (c *cluster) submit(spec protocol.NewMasterJob) int {
	c.t.Helper()
	answer := c.request(spec)
	accepted, ok := answer.(protocol.JobAccepted)
	if !ok {
		c.t.Fatalf("new_master_job answered %#v, want job_accepted", answer)
	}
	return accepted.JobID
}

// status returns the master's job_status reply for job id.
func (c *cluster) status(id int) protocol.ClusterStatus {
	c.t.Helper()
	answer := c.request(protocol.JobStatusRequest{JobID: &id})
	status, ok := answer.(protocol.ClusterStatus)
	if !ok {
		c.t.Fatalf("job_status answered %#v", answer)
	}
	if len(status.Jobs) != 1 || status.Jobs[0].ID != id {
		c.t.Fatalf("job_status for job %d answered jobs %+v", id, status.Jobs)
	}
	return status
}

// job returns job id's part of the master's job_status reply.
func (c *cluster) job(id int) protocol.JobInfo { return c.status(id).Jobs[0] }

// cluster returns the master's job_status reply for every job.
func (c *cluster) cluster() protocol.ClusterStatus {
	c.t.Helper()
	answer := c.request(protocol.JobStatusRequest{})
	status, ok := answer.(protocol.ClusterStatus)
	if !ok {
		c.t.Fatalf("job_status answered %#v", answer)
	}
	return status
}

// workerState returns the state the master reports for worker pid, or ""
// if it does not know it.
func workerState(status protocol.ClusterStatus, pid int) string {
	for _, w := range status.Workers {
		if w.PID == pid {
			return w.State
		}
	}
	return ""
}

// task returns the task of phase and index in job, or fails.
func task(t *testing.T, job protocol.JobInfo, phase string, index int) protocol.TaskInfo {
	t.Helper()
	for _, task := range job.Tasks {
		if task.Phase == phase && task.Index == index {
			return task
		}
	}
	t.Fatalf("job %d has no %s task %d: %+v", job.ID, phase, index, job.Tasks)
	return protocol.TaskInfo{}
}

// attemptSummary is each attempt as "pid:outcome", "running" while it runs.
func attemptSummary(task protocol.TaskInfo) []string {
	var s []string
	for _, a := range task.Attempts {
		outcome := a.Outcome
		if outcome == "" {
			outcome = "running"
		}
		s = append(s, fmt.Sprintf("%d:%s", a.WorkerPID, outcome))
	}
	return s
}

// fakeWorker is the test playing a worker: it listens on the in-memory
// network and hands the test what the master sends it.
type fakeWorker struct {
	c    *cluster
	pid  int
	ln   protocol.Listener
	port int
	msgs chan protocol.Message
	done chan struct{}

	beatMu   sync.Mutex
	beatStop chan struct{}
	beatDone chan struct{}
}

// newFakeWorker listens on a free in-memory port. It does not register.
func (c *cluster) newFakeWorker(pid int) *fakeWorker {
	c.t.Helper()
	w := &fakeWorker{c: c, pid: pid, msgs: make(chan protocol.Message, 64), done: make(chan struct{})}
	ln, err := c.net.Listen("localhost:0", func(_ string, msg protocol.Message, _ func(protocol.Message) error) {
		select {
		case w.msgs <- msg:
		case <-w.done:
		}
	})
	if err != nil {
		c.t.Fatalf("listen: %v", err)
	}
	w.ln = ln
	_, port, _ := net.SplitHostPort(ln.Addr())
	w.port, _ = strconv.Atoi(port)
	c.t.Cleanup(func() {
		w.stopHeartbeats()
		ln.Close()
		close(w.done)
	})
	return w
}

// join registers w, waits for its register_ack and starts its heartbeats.
func (c *cluster) join(pid int) *fakeWorker {
	c.t.Helper()
	w := c.newFakeWorker(pid)
	w.register()
	w.startHeartbeats()
	return w
}

// register sends register and waits for the register_ack.
func (w *fakeWorker) register() {
	w.c.t.Helper()
	if err := w.c.net.Send(w.c.addr, protocol.Register{WorkerHost: "localhost", WorkerPort: w.port, WorkerPID: w.pid}); err != nil {
		w.c.t.Fatalf("register: %v", err)
	}
	ack, ok := w.next(2 * time.Second).(protocol.RegisterAck)
	if !ok || ack.WorkerPID != w.pid || ack.WorkerPort != w.port {
		w.c.t.Fatalf("worker %d: got %#v, want its register_ack", w.pid, ack)
	}
}

// startHeartbeats sends a heartbeat now and every fakeBeat until
// stopHeartbeats.
func (w *fakeWorker) startHeartbeats() {
	w.beatMu.Lock()
	defer w.beatMu.Unlock()
	stop, done := make(chan struct{}), make(chan struct{})
	w.beatStop, w.beatDone = stop, done
	go func() {
		defer close(done)
		tick := time.NewTicker(fakeBeat)
		defer tick.Stop()
		for {
			w.c.net.SendDatagram(protocol.HeartbeatAddr("localhost", masterPort), protocol.Heartbeat{WorkerPID: w.pid})
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
}

// stopHeartbeats stops the heartbeats; none is sent once it returns.
func (w *fakeWorker) stopHeartbeats() {
	w.beatMu.Lock()
	defer w.beatMu.Unlock()
	if w.beatStop != nil {
		close(w.beatStop)
		<-w.beatDone
		w.beatStop = nil
	}
}

// next returns the next message the master sends w.
func (w *fakeWorker) next(timeout time.Duration) protocol.Message {
	w.c.t.Helper()
	select {
	case msg := <-w.msgs:
		return msg
	case <-time.After(timeout):
		w.c.t.Fatalf("worker %d: no message from the master within %v", w.pid, timeout)
		return nil
	}
}

// nextWorkerJob returns the next message, which must be a new_worker_job.
func (w *fakeWorker) nextWorkerJob() protocol.NewWorkerJob {
	w.c.t.Helper()
	msg := w.next(2 * time.Second)
	job, ok := msg.(protocol.NewWorkerJob)
	if !ok {
		w.c.t.Fatalf("worker %d: got %#v, want a new_worker_job", w.pid, msg)
	}
	return job
}

// report sends the master a status from w.
func (w *fakeWorker) report(status protocol.Status) {
	status.WorkerPID = w.pid
	if err := w.c.net.Send(w.c.addr, status); err != nil {
		w.c.t.Errorf("worker %d: send status: %v", w.pid, err)
	}
}

// programs play a job's executables in the fake workers: each maps one
// input file's bytes to its output's.
type programs map[string]func([]byte) []byte

// serve runs every task the master sends w, as a worker would, until the
// test ends: it writes the files the master expects and reports them.
func (w *fakeWorker) serve(progs programs) {
	go func() {
		for {
			select {
			case msg := <-w.msgs:
				if status, ok := w.run(msg, progs); ok {
					w.report(status)
				}
			case <-w.done:
				return
			}
		}
	}()
}

// run carries out one task. It reports failures to the test, not the
// master: the fake workers' programs are not under test.
func (w *fakeWorker) run(msg protocol.Message, progs programs) (protocol.Status, bool) {
	t := w.c.t
	switch m := msg.(type) {
	case protocol.NewWorkerJob:
		program, ok := progs[m.Executable]
		if !ok {
			t.Errorf("worker %d: task runs unknown executable %q", w.pid, m.Executable)
			return protocol.Status{}, false
		}
		status := protocol.Status{OutputFiles: []string{}, Status: protocol.StatusFinished}
		for _, in := range m.InputFiles {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Errorf("worker %d: %v", w.pid, err)
				return protocol.Status{}, false
			}
			out := filepath.Join(m.OutputDirectory, filepath.Base(in))
			if err := os.WriteFile(out, program(data), 0o644); err != nil {
				t.Errorf("worker %d: %v", w.pid, err)
				return protocol.Status{}, false
			}
			status.OutputFiles = append(status.OutputFiles, out)
		}
		return status, true
	case protocol.NewSortJob:
		var lines []string
		for _, in := range m.InputFiles {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Errorf("worker %d: %v", w.pid, err)
				return protocol.Status{}, false
			}
			lines = append(lines, splitLines(data)...)
		}
		slices.Sort(lines)
		if err := os.WriteFile(m.OutputFile, joinLines(lines), 0o644); err != nil {
			t.Errorf("worker %d: %v", w.pid, err)
			return protocol.Status{}, false
		}
		return protocol.Status{OutputFile: m.OutputFile, Status: protocol.StatusFinished}, true
	case protocol.Shutdown:
		return protocol.Status{}, false
	}
	t.Errorf("worker %d: unexpected %#v", w.pid, msg)
	return protocol.Status{}, false
}

func splitLines(data []byte) []string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func joinLines(lines []string) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return b.Bytes()
}

// wordCountMap emits "word\t1" for each word.
func wordCountMap(data []byte) []byte {
	var lines []string
	for _, word := range strings.Fields(string(data)) {
		lines = append(lines, word+"\t1")
	}
	return joinLines(lines)
}

// wordCountReduce sums the counts of each run of equal words.
func wordCountReduce(data []byte) []byte {
	var lines []string
	var word string
	count := 0
	flush := func() {
		if count > 0 {
			lines = append(lines, fmt.Sprintf("%s\t%d", word, count))
		}
	}
	for _, line := range splitLines(data) {
		k, v, _ := strings.Cut(line, "\t")
		n, _ := strconv.Atoi(v)
		if k != word {
			flush()
			word, count = k, 0
		}
		count += n
	}
	flush()
	return joinLines(lines)
}

// writeFiles writes name → content into dir, made if missing.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// testJob returns a valid job over a fresh input directory holding files.
// Its executables exist (the master checks); the fake workers never run
// them, and tell them apart by path.
func testJob(t *testing.T, files map[string]string, mappers, reducers int) protocol.NewMasterJob {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, filepath.Join(dir, "input"), files)
	exe := filepath.Join(dir, "exec")
	writeFiles(t, exe, map[string]string{"map": "#!/bin/sh\nexec cat\n", "reduce": "#!/bin/sh\nexec cat\n"})
	for _, name := range []string{"map", "reduce"} {
		if err := os.Chmod(filepath.Join(exe, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return protocol.NewMasterJob{
		InputDirectory:    filepath.Join(dir, "input"),
		OutputDirectory:   filepath.Join(dir, "output"),
		MapperExecutable:  filepath.Join(exe, "map"),
		ReducerExecutable: filepath.Join(exe, "reduce"),
		NumMappers:        mappers,
		NumReducers:       reducers,
	}
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

func TestSubmitNumbersJobsAndMakesTheirDirectories(t *testing.T) {
	c := startMaster(t, nil)
	// No worker has registered: the jobs stay queued.
	spec := testJob(t, map[string]string{"a.txt": "a\n"}, 1, 1)
	withCombiner := spec
	withCombiner.CombinerExecutable = spec.ReducerExecutable
	tests := []struct {
		name string
		spec protocol.NewMasterJob
		dirs []string
	}{
		{"first job", spec, []string{"mapper-output", "grouper-output", "reducer-output"}},
		{"second job", spec, []string{"mapper-output", "grouper-output", "reducer-output"}},
		{"with a combiner", withCombiner, []string{"mapper-output", "grouper-output", "reducer-output", "combiner-output"}},
	}
	for want, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := c.with(t)
			id := c.submit(tt.spec)
			if id != want {
				t.Fatalf("job_accepted job_id = %d, want %d", id, want)
			}
			jobDir := filepath.Join(c.varDir, fmt.Sprintf("job-%d", id))
			// The directories are made by the master's loop just after it
			// answers; see TestJobDirectoriesExistWhenJobAccepted.
			for _, d := range tt.dirs {
				testutil.WaitFor(t, time.Second, jobDir+"/"+d, func() bool { return isDir(filepath.Join(jobDir, d)) })
			}
			if tt.spec.CombinerExecutable == "" && isDir(filepath.Join(jobDir, "combiner-output")) {
				t.Errorf("job %d has a combiner-output directory but no combiner", id)
			}
			job := c.job(id)
			if job.State != protocol.JobQueued {
				t.Errorf("job %d is %q with no worker, want %q", id, job.State, protocol.JobQueued)
			}
			if job.InputDirectory != tt.spec.InputDirectory || job.OutputDirectory != tt.spec.OutputDirectory {
				t.Errorf("job %d reports directories %q, %q; want %q, %q", id,
					job.InputDirectory, job.OutputDirectory, tt.spec.InputDirectory, tt.spec.OutputDirectory)
			}
		})
	}
	t.Run("status of no such job", func(t *testing.T) {
		c := c.with(t)
		id := 99
		answer := c.request(protocol.JobStatusRequest{JobID: &id})
		if e, ok := answer.(protocol.Error); !ok || !strings.Contains(e.Error, "no job 99") {
			t.Errorf("job_status for job 99 answered %#v, want an error naming it", answer)
		}
	})
}

func TestBadJobIsRefusedAndMasterKeepsServing(t *testing.T) {
	c := startMaster(t, nil)
	good := testJob(t, map[string]string{"a.txt": "a\n"}, 1, 1)
	tests := []struct {
		name string
		bad  func(*protocol.NewMasterJob)
		want []string
	}{
		{"empty mapper", func(j *protocol.NewMasterJob) { j.MapperExecutable = "" }, []string{"mapper_executable is empty"}},
		{"empty reducer", func(j *protocol.NewMasterJob) { j.ReducerExecutable = "" }, []string{"reducer_executable is empty"}},
		{"no mappers", func(j *protocol.NewMasterJob) { j.NumMappers = 0 }, []string{"num_mappers is 0"}},
		{"negative mappers", func(j *protocol.NewMasterJob) { j.NumMappers = -2 }, []string{"num_mappers is -2"}},
		{"negative reducers", func(j *protocol.NewMasterJob) { j.NumReducers = -1 }, []string{"num_reducers is -1"}},
		{"too many reducers", func(j *protocol.NewMasterJob) { j.NumReducers = 1001 }, []string{"num_reducers is 1001"}},
		{"empty directories", func(j *protocol.NewMasterJob) { j.InputDirectory, j.OutputDirectory = "", "" },
			[]string{"input_directory is empty", "output_directory is empty"}},
		{"every problem at once", func(j *protocol.NewMasterJob) { j.MapperExecutable, j.NumMappers = "", 0 },
			[]string{"mapper_executable is empty", "num_mappers is 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := c.with(t)
			spec := good
			tt.bad(&spec)
			answer := c.request(spec)
			e, ok := answer.(protocol.Error)
			if !ok {
				t.Fatalf("bad job answered %#v, want an error", answer)
			}
			for _, want := range tt.want {
				if !strings.Contains(e.Error, want) {
					t.Errorf("error %q does not say %q", e.Error, want)
				}
			}
		})
	}
	// Refused jobs took no id and made no directory; the master still
	// takes jobs.
	if id := c.submit(good); id != 0 {
		t.Errorf("first good job got id %d, want 0", id)
	}
	testutil.WaitFor(t, time.Second, "job-0's directories", func() bool { return isDir(filepath.Join(c.varDir, "job-0", "reducer-output")) })
	entries, err := os.ReadDir(c.varDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, append(freshVar[:2:2], "job-0", "journal")) {
		t.Errorf("var directory holds %v, want only its marker and job-0", names)
	}
	if jobs := c.cluster().Jobs; len(jobs) != 1 {
		t.Errorf("job_status lists %d jobs, want 1: %+v", len(jobs), jobs)
	}
}

func TestJobRunsToDoneWithFakeWorkers(t *testing.T) {
	// The intermediates are kept, to be looked at; see disk_test.go for
	// their removal.
	c := startMaster(t, func(cfg *master.Config) { cfg.Scheduler.KeepIntermediates = true })
	spec := testJob(t, map[string]string{
		"a.txt":   "the cat\nthe dog\n",
		"b.txt":   "a dog\n",
		"c.txt":   "cat cat bird\n",
		".hidden": "hidden words are not input\n",
	}, 2, 2)
	if err := os.Mkdir(filepath.Join(spec.InputDirectory, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	progs := programs{spec.MapperExecutable: wordCountMap, spec.ReducerExecutable: wordCountReduce}
	c.join(101).serve(progs)
	c.join(102).serve(progs)

	id := c.submit(spec)
	var job protocol.JobInfo
	testutil.WaitFor(t, 5*time.Second, "the job to end", func() bool {
		job = c.job(id)
		return job.State == protocol.JobDone || job.State == protocol.JobFailed
	})
	if job.State != protocol.JobDone {
		t.Fatalf("job %s: %v", job.State, job.Errors)
	}

	wantPhases := []protocol.PhaseInfo{
		{Name: "map", Done: 2, Total: 2}, {Name: "sort", Done: 2, Total: 2},
		{Name: "combine", Done: 0, Total: 0}, {Name: "reduce", Done: 2, Total: 2},
	}
	if !slices.Equal(job.Phases, wantPhases) {
		t.Errorf("phases = %+v, want %+v", job.Phases, wantPhases)
	}
	jobDir := filepath.Join(c.varDir, "job-0")
	if got := testutil.ListDir(t, filepath.Join(jobDir, "mapper-output")); !slices.Equal(got, []string{"a.txt", "b.txt", "c.txt"}) {
		t.Errorf("mapper-output holds %v: only regular, non-hidden inputs are mapped", got)
	}
	if got := testutil.ListDir(t, filepath.Join(jobDir, "reducer-output")); len(got) != 0 {
		t.Errorf("reducer-output still holds %v after the outputs moved", got)
	}
	if got := testutil.ListDir(t, spec.OutputDirectory); !slices.Equal(got, []string{"_SUCCESS", "input_0", "input_1"}) {
		t.Fatalf("output directory holds %v, want input_0, input_1 and _SUCCESS", got)
	}
	var counts []string
	for _, name := range []string{"input_0", "input_1"} {
		data, err := os.ReadFile(filepath.Join(spec.OutputDirectory, name))
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, splitLines(data)...)
	}
	want := []string{"a\t1", "bird\t1", "cat\t3", "dog\t2", "the\t2"}
	if !slices.Equal(counts, want) {
		t.Errorf("outputs, in partition order = %q, want %q", counts, want)
	}
	for _, w := range c.cluster().Workers {
		if w.State != "ready" {
			t.Errorf("worker %d is %s after the job, want ready", w.PID, w.State)
		}
	}
}

func TestOutbox(t *testing.T) {
	// Dead only after 100 missed intervals (2 s): a death here comes from a
	// send, never from the heartbeats.
	tune := func(cfg *master.Config) { cfg.Scheduler.MissedHeartbeats = 100 }

	t.Run("retries a failing send until it goes through", func(t *testing.T) {
		c := startMaster(t, tune)
		w := c.join(201)
		const failFirst = 2
		var mu sync.Mutex
		failed := 0
		c.net.SetFault(func(addr string, msg protocol.Message) error {
			if _, ok := msg.(protocol.NewWorkerJob); !ok || addr != w.ln.Addr() {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			if failed < failFirst {
				failed++
				return errors.New("injected fault")
			}
			return nil
		})
		spec := testJob(t, map[string]string{"a.txt": "a\n"}, 1, 1)
		id := c.submit(spec)
		task0 := w.nextWorkerJob()
		if want := []string{filepath.Join(spec.InputDirectory, "a.txt")}; !slices.Equal(task0.InputFiles, want) ||
			task0.Executable != spec.MapperExecutable || task0.WorkerPID != w.pid {
			t.Errorf("task = %+v, want the map task of %v for worker %d", task0, want, w.pid)
		}
		mu.Lock()
		if failed != failFirst {
			t.Errorf("the fault failed %d sends, want %d", failed, failFirst)
		}
		mu.Unlock()
		status := c.status(id)
		if s := workerState(status, w.pid); s != "busy" {
			t.Errorf("worker %d is %q, want busy", w.pid, s)
		}
		if got, want := attemptSummary(task(t, status.Jobs[0], "map", 0)), []string{"201:running"}; !slices.Equal(got, want) {
			t.Errorf("attempts = %v, want %v: failed sends that were retried are one attempt", got, want)
		}
	})

	t.Run("gives up on a worker that refuses and reassigns its task", func(t *testing.T) {
		c := startMaster(t, tune)
		// Registered first, gone then holds as little as other: it gets
		// the task. It never sends a heartbeat (registering counts as
		// one), so no late one can bring it back to life.
		gone := c.newFakeWorker(301)
		gone.register()
		other := c.join(302)
		gone.ln.Close()
		start := time.Now()
		spec := testJob(t, map[string]string{"a.txt": "a\n"}, 1, 1)
		id := c.submit(spec)
		task0 := other.nextWorkerJob()
		if took, deadAfter := time.Since(start), c.cfg.Scheduler.DeadAfter(); took >= deadAfter {
			t.Errorf("task reassigned after %v, no sooner than missed heartbeats would (%v)", took, deadAfter)
		}
		if task0.WorkerPID != other.pid || task0.Executable != spec.MapperExecutable {
			t.Errorf("task = %+v, want the map task for worker %d", task0, other.pid)
		}
		status := c.status(id)
		if s := workerState(status, gone.pid); s != "dead" {
			t.Errorf("worker %d, whose port refuses, is %q, want dead", gone.pid, s)
		}
		if got, want := attemptSummary(task(t, status.Jobs[0], "map", 0)), []string{"301:worker_dead", "302:running"}; !slices.Equal(got, want) {
			t.Errorf("attempts = %v, want %v", got, want)
		}
	})
}

func TestDeadWorkerTaskGoesToLiveWorker(t *testing.T) {
	c := startMaster(t, nil) // dead after 10 × 20 ms without a heartbeat
	a := c.join(401)
	spec := testJob(t, map[string]string{"a.txt": "a\n", "b.txt": "b\n"}, 1, 1)
	id := c.submit(spec)
	first := a.nextWorkerJob()
	b := c.join(402)
	a.stopHeartbeats()

	second := b.nextWorkerJob()
	// The dead worker may live on and write in place: the task's second
	// attempt writes apart, in a directory of its own made first.
	if !slices.Equal(second.InputFiles, first.InputFiles) || filepath.Dir(second.OutputDirectory) != first.OutputDirectory ||
		second.Executable != first.Executable {
		t.Errorf("worker %d got %+v, want the dead worker's task %+v, written apart", b.pid, second, first)
	}
	if info, err := os.Stat(second.OutputDirectory); err != nil || !info.IsDir() {
		t.Errorf("the second attempt's output directory was not made: %v", err)
	}
	if second.WorkerPID != b.pid {
		t.Errorf("reassigned task names worker %d, want %d", second.WorkerPID, b.pid)
	}
	status := c.status(id)
	if s := workerState(status, a.pid); s != "dead" {
		t.Errorf("silent worker %d is %q, want dead", a.pid, s)
	}
	if s := workerState(status, b.pid); s != "busy" {
		t.Errorf("worker %d is %q, want busy", b.pid, s)
	}
	if got, want := attemptSummary(task(t, status.Jobs[0], "map", 0)), []string{"401:worker_dead", "402:running"}; !slices.Equal(got, want) {
		t.Errorf("attempts = %v, want %v", got, want)
	}

	// The live worker's result counts: the job moves on to sorting.
	status1, ok := b.run(second, programs{spec.MapperExecutable: wordCountMap})
	if !ok {
		t.FailNow()
	}
	b.report(status1)
	msg := b.next(2 * time.Second)
	if sort, ok := msg.(protocol.NewSortJob); !ok || len(sort.InputFiles) != 2 {
		t.Errorf("after the map task, worker %d got %#v, want a new_sort_job of both map outputs", b.pid, msg)
	}
}

func TestShutdownIsForwardedToEveryWorker(t *testing.T) {
	tests := []struct {
		name     string
		shutdown func(c *cluster)
	}{
		{"shutdown message", func(c *cluster) {
			if err := c.net.Send(c.addr, protocol.Shutdown{}); err != nil {
				c.t.Fatalf("send shutdown: %v", err)
			}
		}},
		{"Server.Shutdown", func(c *cluster) { c.srv.Shutdown() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startMaster(t, nil)
			workers := []*fakeWorker{c.join(501), c.join(502), c.join(503)}
			// A worker declared dead may only have been slow: it is told too.
			silent := workers[2]
			silent.stopHeartbeats()
			testutil.WaitFor(t, 2*time.Second, "the silent worker to be dead", func() bool {
				return workerState(c.cluster(), silent.pid) == "dead"
			})

			tt.shutdown(c)
			for _, w := range workers {
				if msg := w.next(2 * time.Second); msg.Type() != protocol.TypeShutdown {
					t.Errorf("worker %d got %#v, want shutdown", w.pid, msg)
				}
			}
			stopped := make(chan struct{})
			go func() { c.srv.Wait(); close(stopped) }()
			select {
			case <-stopped:
			case <-time.After(2 * time.Second):
				t.Fatal("master did not stop")
			}
			_, err := c.net.Request(c.addr, protocol.JobStatusRequest{}, time.Second)
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("after shutdown, a request to the master got %v, want connection refused", err)
			}
		})
	}
}

func TestJobDirectoriesExistWhenJobAccepted(t *testing.T) {
	c := startMaster(t, nil)
	spec := testJob(t, map[string]string{"a.txt": "a\n"}, 1, 1)
	// One submission loses the race only sometimes; twenty together
	// almost always. A correct master never does.
	for range 20 {
		id := c.submit(spec)
		for _, d := range []string{"mapper-output", "grouper-output", "reducer-output"} {
			if dir := filepath.Join(c.varDir, fmt.Sprintf("job-%d", id), d); !isDir(dir) {
				t.Fatalf("job %d accepted, but %s does not exist yet", id, dir)
			}
		}
	}
}
