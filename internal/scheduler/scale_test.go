package scheduler

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/split"
	"mapreduce/protocol"
)

// BenchmarkCluster plays one job that runs the shuffle through the
// scheduler on a simulated cluster: workers that announce every
// capability register, the job's input is listed, and every task sent is
// answered with a finished status (a map task's with a run of four
// samples, keys spread over the key space; a speculative copy that lost
// is dropped); each simulated round of a heartbeat interval (2 s) every
// worker finishes its first tasksPerRound queued tasks, then every worker
// heartbeats with the tasks it still holds, the master ticks and a client
// asks for the job's brief status (as `sendjob --wait` does, if far less
// often). The round ends once the job is committed.
//
// It reports the scheduler's CPU per event (every call into it counts as
// one event), the slowest single event (the loop is deaf to heartbeats
// meanwhile), and the peak heap in use while the job ran: the scheduler's
// state and the actions it returned that the simulated owner still holds
// (task messages queued for workers).
//
//	go test -run '^$' -bench BenchmarkCluster -benchtime 1x ./internal/scheduler
func BenchmarkCluster(b *testing.B) {
	for _, size := range []clusterSize{
		{workers: 10, maps: 1_000, reducers: 10},
		{workers: 100, maps: 10_000, reducers: 100},
		{workers: 1000, maps: 100_000, reducers: 1000},
		{workers: 100, maps: 10_000, reducers: 100, speculate: true},
		{workers: 1000, maps: 100_000, reducers: 1000, speculate: true},
	} {
		name := fmt.Sprintf("workers=%d,maps=%d,reducers=%d", size.workers, size.maps, size.reducers)
		if size.speculate {
			name += ",speculate"
		}
		b.Run(name, func(b *testing.B) {
			var r clusterResult
			for b.Loop() {
				r = runCluster(b, size)
			}
			b.ReportMetric(float64(r.spent.Nanoseconds())/float64(r.events), "ns/event")
			b.ReportMetric(float64(r.slowest.Microseconds())/1000, "max-ms/event")
			b.ReportMetric(float64(r.events), "events")
			b.ReportMetric(float64(r.peakHeap)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(r.reduceMsg)/(1<<20), "reduce-msg-MiB")
			b.ReportMetric(float64(r.fullStatus.Microseconds())/1000, "full-status-ms")
			b.ReportMetric(float64(r.jobStatus)/(1<<20), "job-status-MiB")
			b.ReportMetric(float64(r.tasksSent-size.maps-size.reducers), "copies")
			b.Logf("the slowest event: %s, %s", r.slowestEvent, r.slowest)
			for _, name := range slices.Sorted(maps.Keys(r.byEvent)) {
				b.Logf("%-16s %7d calls, %8.1f us each", name, r.countByEvent[name],
					float64(r.byEvent[name].Nanoseconds())/float64(r.countByEvent[name])/1000)
			}
		})
	}
}

// clusterSize is a simulated cluster and its job. With speculate, the
// master speculates, and every tenth worker is slow: it finishes one task
// a round, so that the others are idle long before the stage ends.
type clusterSize struct {
	workers, maps, reducers int
	speculate               bool
}

type clusterResult struct {
	events  int
	spent   time.Duration // in the scheduler's methods
	slowest time.Duration // the longest single call
	// slowestEvent names it.
	slowestEvent string
	// byEvent and countByEvent are the time and number of the calls of
	// each method.
	byEvent      map[string]time.Duration
	countByEvent map[string]int
	peakHeap     uint64
	// reduceMsg is the size of the first reduce task's message on the
	// wire: it lists one piece per map task.
	reduceMsg int
	// fullStatus is how long a job_status for every job with tasks took
	// halfway through the map stage (the status page's): it is not
	// counted among the events.
	fullStatus time.Duration
	// tasksSent counts the task messages: past one a task, speculative
	// copies.
	tasksSent int
	// jobStatus is the size on the wire of a job_status for the job with
	// its tasks, once it is done.
	jobStatus int
}

// tasksPerRound is how many tasks a simulated worker finishes per round.
const tasksPerRound = 2

// cluster is the simulated owner of a Scheduler: it carries out the
// actions, and plays the workers.
type cluster struct {
	b      *testing.B
	s      *Scheduler
	now    time.Time
	res    clusterResult
	queued map[int][]Send // the task messages each worker holds, by pid, oldest first
	jobID  int
	scan   []split.File
	done   bool
}

func runCluster(b *testing.B, size clusterSize) clusterResult {
	cfg := DefaultConfig()
	cfg.VarDir, cfg.WorkDir = "/v", "/w"
	cfg.Speculate = size.speculate
	c := &cluster{b: b, s: New(cfg, zerolog.Nop()), now: t0, queued: map[int][]Send{}}
	c.res.byEvent, c.res.countByEvent = map[string]time.Duration{}, map[string]int{}
	// Files of 64 MiB, a hundred per map task: split.Plan gives each map
	// task a balanced share of them, 64 MiB in at most two ranges.
	const fileSize = 64 << 20
	for i := range max(size.maps/100, 1) {
		c.scan = append(c.scan, split.File{Path: fmt.Sprintf("/in/part-%05d", i), Size: fileSize * 100})
	}
	if got := len(split.Plan(c.scan, size.maps)); got != size.maps {
		b.Fatalf("split.Plan makes %d map tasks, want %d", got, size.maps)
	}
	runtime.GC()
	c.sampleHeap()

	caps := []string{protocol.CapProgress, protocol.CapCancel, protocol.CapTask, protocol.CapSplits, protocol.CapShuffle}
	for pid := 1; pid <= size.workers; pid++ {
		c.event("Register", func() []Action {
			return c.s.Register(c.now, protocol.Register{WorkerHost: fmt.Sprintf("host%04d", pid), WorkerPort: 7000,
				WorkerPID: pid, WorkerID: fmt.Sprintf("worker-%04d", pid), Capabilities: caps})
		})
	}
	spec := spec(size.maps, size.reducers)
	spec.OutputDirectory = "/out"
	c.event("Submit", func() []Action {
		id, actions := c.s.Submit(c.now, spec)
		c.jobID = id
		return actions
	})
	for round := 0; !c.done; round++ {
		if round > 10*size.maps/(size.workers*tasksPerRound)+100 {
			b.Fatalf("job not done after %d rounds", round)
		}
		c.now = c.now.Add(cfg.HeartbeatInterval)
		for pid := 1; pid <= size.workers; pid++ {
			n := tasksPerRound
			if size.speculate && pid%10 == 0 {
				n = 1
			}
			n = min(n, len(c.queued[pid]))
			finishing := c.queued[pid][:n]
			c.queued[pid] = c.queued[pid][n:]
			for _, send := range finishing {
				c.event("StatusReceived", func() []Action { return c.s.StatusReceived(c.now, c.status(send)) })
			}
		}
		for pid := 1; pid <= size.workers; pid++ {
			c.event("Heartbeat", func() []Action { return c.s.Heartbeat(c.now, c.heartbeat(pid, round)) })
		}
		c.event("Tick", func() []Action { return c.s.Tick(c.now) })
		c.event("Snapshot", func() []Action {
			if _, ok := c.s.Snapshot(&c.jobID, true); !ok {
				b.Fatal("no job to report")
			}
			return nil
		})
		if round == size.maps/(2*size.workers*tasksPerRound) {
			c.timeFullStatus()
		}
		c.sampleHeap()
	}
	checkCounts(b, c.s, "the job")
	c.sizeJobStatus()
	if info := jobInfoOf(c.s, c.jobID); info.State != protocol.JobDone {
		b.Fatalf("job %s: %v", info.State, info.Errors)
	}
	return c.res
}

// event calls the scheduler, times the call and carries out what it asks.
func (c *cluster) event(name string, call func() []Action) {
	start := time.Now()
	actions := call()
	took := time.Since(start)
	c.res.events++
	c.res.byEvent[name] += took
	c.res.countByEvent[name]++
	c.res.spent += took
	if took > c.res.slowest {
		c.res.slowest, c.res.slowestEvent = took, name
	}
	c.carryOut(actions)
	if len(actions) > 100 {
		c.sampleHeap() // a large batch of task messages, held at once
	}
}

// carryOut does what actions ask, answering at once for the master's own
// work; task messages join their worker's queue.
func (c *cluster) carryOut(actions []Action) {
	for _, a := range actions {
		switch a := a.(type) {
		case Send:
			switch msg := a.Msg.(type) {
			case protocol.NewWorkerJob:
				c.queued[a.PID] = append(c.queued[a.PID], a)
				c.res.tasksSent++
				if msg.ReduceInput != nil && c.res.reduceMsg == 0 {
					c.measure(msg)
				}
			case protocol.CancelTask:
				// A speculative copy lost: its worker drops it.
				c.queued[a.PID] = slices.DeleteFunc(c.queued[a.PID], func(q Send) bool {
					return *q.Msg.(protocol.NewWorkerJob).Task == *msg.Task
				})
			case protocol.RegisterAck, protocol.JobEnded:
			default:
				c.b.Fatalf("unexpected %s to worker %d", msg.Type(), a.PID)
			}
		case ScanInput:
			c.event("InputScanned", func() []Action { return c.s.InputScanned(c.now, a.Job, c.scan, nil) })
		case CommitOutputs:
			c.event("OutputsCommitted", func() []Action { return c.s.OutputsCommitted(c.now, a.Job, nil) })
			c.done = true
		case MakeJobDirs, RemoveJobDir:
		default:
			c.b.Fatalf("unexpected action %T%+v", a, a)
		}
	}
}

// measure notes the size of a reduce task's message, which must fit in
// protocol.MaxMessageSize.
func (c *cluster) measure(msg protocol.NewWorkerJob) {
	data, err := protocol.Encode(msg)
	if err != nil {
		c.b.Fatalf("encode a reduce task: %v", err)
	}
	if len(data) > protocol.MaxMessageSize {
		c.b.Fatalf("a reduce task's message of %d bytes exceeds protocol.MaxMessageSize", len(data))
	}
	c.res.reduceMsg = len(data)
}

// status is the finished status of the task that send carried.
func (c *cluster) status(send Send) protocol.Status {
	st := finished(send)
	st.WorkerID = fmt.Sprintf("worker-%04d", send.PID)
	if st.Run != nil {
		// Samples of keys spread over the key space, different in every
		// run, so that every reducer gets a key range of its own.
		for i := range st.Run.Samples {
			n := uint32((st.Task.Index*len(st.Run.Samples) + i) * 2654435761) // Knuth's multiplicative hash
			st.Run.Samples[i].Key = fmt.Appendf(nil, "%08x", n)
		}
	}
	return st
}

// heartbeat is worker pid's heartbeat, listing the tasks it holds, whose
// progress is the round: a queued task's count changes too, as our
// worker's does while it waits for a slot.
func (c *cluster) heartbeat(pid, round int) protocol.Heartbeat {
	hb := protocol.Heartbeat{WorkerPID: pid, WorkerID: fmt.Sprintf("worker-%04d", pid)}
	for _, send := range c.queued[pid] {
		msg := send.Msg.(protocol.NewWorkerJob)
		p := protocol.TaskProgress{Task: msg.Task, Progress: int64(round)}
		if msg.MapOutput != nil {
			p.Output = msg.MapOutput.Run
		} else {
			p.Output = msg.ReduceInput.OutputFile
		}
		hb.Tasks = append(hb.Tasks, p)
	}
	return hb
}

// timeFullStatus times a job_status for every job, with their tasks.
func (c *cluster) timeFullStatus() {
	start := time.Now()
	c.s.Snapshot(nil, false)
	c.res.fullStatus = time.Since(start)
}

// sizeJobStatus notes the size of a job_status for the job with its tasks.
func (c *cluster) sizeJobStatus() {
	status, _ := c.s.Snapshot(&c.jobID, false)
	data, err := protocol.Encode(status)
	if err != nil {
		c.b.Fatalf("encode the job's status: %v", err)
	}
	c.res.jobStatus = len(data)
}

// sampleHeap notes the heap in use, if it is the most yet.
func (c *cluster) sampleHeap() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	c.res.peakHeap = max(c.res.peakHeap, m.HeapInuse)
}

// jobInfoOf is the job's status with its phases.
func jobInfoOf(s *Scheduler, id int) protocol.JobInfo {
	status, _ := s.Snapshot(&id, true)
	return status.Jobs[0]
}

// TestStageCounts plays every scenario and checks, after each event, that
// each stage's counts of tasks by state and of live attempts (kept as
// they change) match its tasks.
func TestStageCounts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sc := newScenario(t)
			for _, line := range strings.Split(string(data), "\n") {
				if strings.HasPrefix(line, "> ") {
					sc.play(strings.Fields(line[2:]))
					checkCounts(t, sc.s, line)
				}
			}
		})
	}
}

// checkCounts fails t if a stage's counts do not match its tasks.
func checkCounts(t testing.TB, s *Scheduler, after string) {
	t.Helper()
	if s == nil {
		return
	}
	for _, j := range s.jobs {
		for _, st := range j.stages {
			var want [taskCancelled + 1]int
			live := 0
			for _, task := range st.tasks {
				want[task.state]++
				live += task.running()
			}
			if st.count != want || st.live != live {
				t.Fatalf("after %q: job %d's %s stage counts %v and %d live attempts, its tasks %v and %d",
					after, j.id, st.kind, st.count, st.live, want, live)
			}
		}
	}
}

// TestMinTaskJSON checks that minTaskJSON and minAttemptJSON are lower
// bounds: the shortest task and attempt the status can hold, each with
// its comma, are no shorter.
func TestMinTaskJSON(t *testing.T) {
	task := protocol.TaskInfo{Phase: protocol.PhaseMap, State: taskStateNames[taskDone]}
	if n := jsonSize(task); n < minTaskJSON {
		t.Errorf("a task of %d bytes of JSON, below minTaskJSON %d", n, minTaskJSON)
	}
	task.Attempts = []protocol.AttemptInfo{{}}
	withAttempt := jsonSize(task)
	task.Attempts = append(task.Attempts, protocol.AttemptInfo{})
	if n := jsonSize(task) - withAttempt; n < minAttemptJSON {
		t.Errorf("an attempt of %d bytes of JSON, below minAttemptJSON %d", n, minAttemptJSON)
	}
	for _, name := range taskStateNames {
		if len(name) < len(taskStateNames[taskDone]) {
			t.Errorf("state %q is shorter than %q", name, taskStateNames[taskDone])
		}
	}
}
