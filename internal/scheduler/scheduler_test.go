package scheduler

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/split"
	"mapreduce/protocol"
)

// ---- helpers ----

var t0 = time.Date(2017, 3, 27, 12, 0, 0, 0, time.UTC)

var testConfig = Config{VarDir: "/v", WorkDir: "/w", HeartbeatInterval: time.Second, MissedHeartbeats: 5, AckRetry: time.Second, TaskTimeout: time.Hour, MaxAttempts: 4, ForgetDeadAfter: time.Hour,
	ExcludeAfter: 3, ExcludeWindow: 5 * time.Minute, ExcludeFor: 5 * time.Minute}

func newScheduler() *Scheduler { return New(testConfig, zerolog.Nop()) }

// at is t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

const sec = time.Second

func spec(mappers, reducers int) protocol.NewMasterJob {
	return protocol.NewMasterJob{
		InputDirectory: "/in", OutputDirectory: "/out",
		MapperExecutable: "/bin/map", ReducerExecutable: "/bin/reduce",
		NumMappers: mappers, NumReducers: reducers,
	}
}

// inputFiles returns n input file names, sorted as ScanInput returns them.
func inputPaths(n int) []string {
	var files []string
	for i := range n {
		files = append(files, fmt.Sprintf("/in/file_%03d.txt", i))
	}
	return files
}

// inputFiles is an input directory of n files of 1000 bytes.
func inputFiles(n int) []split.File {
	var files []split.File
	for _, p := range inputPaths(n) {
		files = append(files, split.File{Path: p, Size: 1000})
	}
	return files
}

// scanOf is the ScanInput that starts job id of spec(...).
func scanOf(id int) ScanInput {
	return ScanInput{Job: id, Dir: "/in", Executables: []string{"/bin/map", "/bin/reduce"}, OutputDir: "/out"}
}

// removed is the RemoveJobDir of job id, which ends.
func removed(id int) RemoveJobDir { return RemoveJobDir{Job: id, Dir: fmt.Sprintf("/v/job-%d", id)} }

const port0 = 7000

func port(pid int) int { return port0 + pid }

func addr(pid int) string { return fmt.Sprintf("localhost:%d", port(pid)) }

func register(s *Scheduler, now time.Time, pid int) []Action {
	return s.Register(now, protocol.Register{
		WorkerHost: "localhost", WorkerPort: port(pid), WorkerPID: pid,
	})
}

// msgType is the message_type of a message the scheduler sends.
func msgType(msg protocol.Message) string { return msg.Type() }

// sendsOf returns the Sends of messages of type kind, in order.
func sendsOf(actions []Action, kind string) []Send {
	var sends []Send
	for _, a := range actions {
		if s, ok := a.(Send); ok && msgType(s.Msg) == kind {
			sends = append(sends, s)
		}
	}
	return sends
}

// actionsOf returns the actions of type T, in order.
func actionsOf[T Action](actions []Action) []T {
	var out []T
	for _, a := range actions {
		if x, ok := a.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

func describe(actions []Action) string {
	var parts []string
	for _, a := range actions {
		if s, ok := a.(Send); ok {
			parts = append(parts, fmt.Sprintf("Send(%s to %d: %v)", msgType(s.Msg), s.PID, inputsOf(s)))
		} else {
			parts = append(parts, fmt.Sprintf("%T%+v", a, a))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// inputsOf returns the input files of a task Send.
func inputsOf(s Send) []string {
	switch m := s.Msg.(type) {
	case protocol.NewWorkerJob:
		return m.InputFiles
	case protocol.NewSortJob:
		return m.InputFiles
	}
	return nil
}

// lostRuns is the status of a reduce task of the shuffle that could not
// fetch the named runs, as it was given them.
func lostRuns(s Send, runs ...string) protocol.Status {
	st := finished(s)
	st.Status, st.Error, st.Retry = protocol.StatusFailed, "fetch failed", true
	for _, p := range s.Msg.(protocol.NewWorkerJob).ReduceInput.Pieces {
		if slices.Contains(runs, p.Run) {
			st.LostPieces = append(st.LostPieces, p)
		}
	}
	return st
}

func key(files []string) string { return strings.Join(files, ",") }

// inputSets returns the sorted keys of the input lists of sends.
func inputSets(sends []Send) []string {
	var keys []string
	for _, s := range sends {
		keys = append(keys, key(inputsOf(s)))
	}
	slices.Sort(keys)
	return keys
}

// perWorker counts sends by worker.
func perWorker(sends []Send) map[int]int {
	n := map[int]int{}
	for _, s := range sends {
		n[s.PID]++
	}
	return n
}

// finished is the status a worker sends when the task of s is done: for a
// new_worker_job the list of output files, as our worker (and the reference protocol's
// map stage) sends; for a new_sort_job the single output file.
func finished(s Send) protocol.Status {
	st := protocol.Status{Status: protocol.StatusFinished, WorkerPID: s.PID}
	switch m := s.Msg.(type) {
	case protocol.NewWorkerJob:
		st.Task = m.Task // our worker echoes the identity it was sent
		if m.MapOutput != nil {
			st.Run = testRun(m.MapOutput.Run)
		}
		if m.ReduceInput != nil {
			st.OutputFiles = []string{m.ReduceInput.OutputFile}
			break
		}
		if m.Split != nil {
			st.OutputFiles = []string{m.Split.OutputFile}
			break
		}
		for _, in := range m.InputFiles {
			st.OutputFiles = append(st.OutputFiles, filepath.Join(m.OutputDirectory, filepath.Base(in)))
		}
	case protocol.NewSortJob:
		st.Task = m.Task
		st.OutputFile = m.OutputFile
	}
	return st
}

// testRun is the run a map task of the shuffle reports in tests: 1000
// bytes, with four samples.
func testRun(name string) *protocol.RunInfo {
	run := &protocol.RunInfo{Run: name, Size: 1000}
	for _, k := range []string{"b", "h", "p", "w"} {
		run.Samples = append(run.Samples, protocol.Sample{Key: []byte(k), Bytes: 250})
	}
	return run
}

// withoutDirs is acts without the MakeJobDirs among them.
func withoutDirs(acts []Action) []Action {
	return slices.DeleteFunc(slices.Clone(acts), func(a Action) bool { _, ok := a.(MakeJobDirs); return ok })
}

// finishedSingular is the status the reference protocol's Python worker sends for a
// reduce task: output_file, singular.
func finishedSingular(s Send) protocol.Status {
	m := s.Msg.(protocol.NewWorkerJob)
	return protocol.Status{
		Status: protocol.StatusFinished, WorkerPID: s.PID,
		OutputFile: filepath.Join(m.OutputDirectory, filepath.Base(m.InputFiles[0])),
	}
}

func failed(s Send, text string) protocol.Status {
	st := finished(s)
	st.Status = protocol.StatusFailed
	st.Error = text
	return st
}

func jobInfo(t *testing.T, s *Scheduler, id int) protocol.JobInfo {
	t.Helper()
	st, ok := s.Snapshot(&id, false)
	if !ok || len(st.Jobs) != 1 {
		t.Fatalf("Snapshot(%d): ok=%v, %d jobs", id, ok, len(st.Jobs))
	}
	return st.Jobs[0]
}

func workerInfo(t *testing.T, s *Scheduler, pid int) protocol.WorkerInfo {
	t.Helper()
	st, _ := s.Snapshot(nil, false)
	for _, w := range st.Workers {
		if w.PID == pid {
			return w
		}
	}
	t.Fatalf("worker %d not in Snapshot", pid)
	return protocol.WorkerInfo{}
}

func wantJobState(t *testing.T, s *Scheduler, id int, state string) protocol.JobInfo {
	t.Helper()
	j := jobInfo(t, s, id)
	if j.State != state {
		t.Fatalf("job %d is %q, want %q (errors %q)", id, j.State, state, j.Errors)
	}
	return j
}

func wantWorker(t *testing.T, s *Scheduler, pid int, state string, tasks int) {
	t.Helper()
	w := workerInfo(t, s, pid)
	if w.State != state || w.Tasks != tasks {
		t.Errorf("worker %d is %q with %d tasks, want %q with %d", pid, w.State, w.Tasks, state, tasks)
	}
}

func phaseOf(j protocol.JobInfo, name string) protocol.PhaseInfo {
	for _, p := range j.Phases {
		if p.Name == name {
			return p
		}
	}
	return protocol.PhaseInfo{Name: name}
}

func wantPhase(t *testing.T, j protocol.JobInfo, name string, done, total int) {
	t.Helper()
	if p := phaseOf(j, name); p.Done != done || p.Total != total {
		t.Errorf("job %d phase %s: %d/%d done, want %d/%d", j.ID, name, p.Done, p.Total, done, total)
	}
}

// taskOf returns the Snapshot record of one task of a job.
func taskOf(t *testing.T, s *Scheduler, jobID int, ph string, index int) protocol.TaskInfo {
	t.Helper()
	for _, ti := range jobInfo(t, s, jobID).Tasks {
		if ti.Phase == ph && ti.Index == index {
			return ti
		}
	}
	t.Fatalf("job %d has no %s task %d", jobID, ph, index)
	return protocol.TaskInfo{}
}

// mapIndex returns the map task index of a map Send: Partition is
// round-robin, so the first input file's index modulo the task count.
func mapIndex(t *testing.T, s Send, tasks int) int {
	t.Helper()
	var i int
	if _, err := fmt.Sscanf(filepath.Base(inputsOf(s)[0]), "file_%03d.txt", &i); err != nil {
		t.Fatal(err)
	}
	return i % tasks
}

// checkAttempts checks the record of every task. Without speculation,
// attempts never overlap unless the earlier one ended because its worker
// died, and only the last may be open. With it, copies may overlap, but an
// attempt that ran beside a finished one ends superseded (or its worker
// died). Always: a task is running exactly when it has an open attempt.
func checkAttempts(t *testing.T, s *Scheduler) {
	t.Helper()
	st, _ := s.Snapshot(nil, false)
	for _, j := range st.Jobs {
		for _, task := range j.Tasks {
			name := fmt.Sprintf("job %d %s task %d", j.ID, task.Phase, task.Index)
			open := 0
			for i, a := range task.Attempts {
				if a.End == nil {
					open++
					if !s.cfg.Speculate && i != len(task.Attempts)-1 {
						t.Errorf("%s: attempt %d is open but not the last", name, i)
					}
					if a.Outcome != "" {
						t.Errorf("%s: open attempt %d has outcome %q", name, i, a.Outcome)
					}
				} else {
					if a.End.Before(a.Start) {
						t.Errorf("%s: attempt %d ends before it starts", name, i)
					}
					switch a.Outcome {
					case OutcomeFinished, OutcomeFailed, OutcomeWorkerDead, OutcomeCancelled, OutcomeRetry:
					case OutcomeSuperseded:
						if !s.cfg.Speculate {
							t.Errorf("%s: attempt %d superseded without speculation", name, i)
						}
					default:
						t.Errorf("%s: attempt %d ended with outcome %q", name, i, a.Outcome)
					}
				}
				for k := i + 1; k < len(task.Attempts); k++ {
					b := task.Attempts[k]
					overlap := (a.End == nil || a.End.After(b.Start)) && (b.End == nil || b.End.After(a.Start))
					if !overlap || a.Outcome == OutcomeWorkerDead {
						continue
					}
					if !s.cfg.Speculate {
						t.Errorf("%s: attempts %d (worker %d) and %d (worker %d) overlap", name, i, a.WorkerPID, k, b.WorkerPID)
					} else if (a.Outcome == OutcomeFinished && b.Outcome != OutcomeSuperseded && b.Outcome != OutcomeWorkerDead) ||
						(b.Outcome == OutcomeFinished && a.Outcome != OutcomeSuperseded) {
						t.Errorf("%s: attempt %d (%s) ran beside attempt %d (%s)", name, i, a.Outcome, k, b.Outcome)
					}
				}
			}
			if (task.State == "running") != (open > 0) {
				t.Errorf("%s is %q with %d open attempts", name, task.State, open)
			}
		}
	}
}

// startJob registers the workers at t0, submits one job and scans its n
// input files, and returns the map Sends.
func startJob(t *testing.T, s *Scheduler, pids []int, files, mappers, reducers int) []Send {
	t.Helper()
	for _, pid := range pids {
		register(s, t0, pid)
	}
	id, _ := s.Submit(t0, spec(mappers, reducers))
	acts := s.InputScanned(t0, id, inputFiles(files), nil)
	sends := sendsOf(acts, protocol.TypeNewWorkerJob)
	if len(sends) != len(acts) {
		t.Fatalf("InputScanned returned %s", describe(acts))
	}
	return sends
}

// ---- tests ----

func TestSplitFiles(t *testing.T) {
	f := func(n int) []string {
		var s []string
		for i := range n {
			s = append(s, fmt.Sprint("f", i))
		}
		return s
	}
	tests := []struct {
		name  string
		items []string
		n     int
		want  [][]string
	}{
		{"fewer files than tasks", f(3), 4, [][]string{{"f0"}, {"f1"}, {"f2"}}},
		{"as many files as tasks", f(4), 4, [][]string{{"f0"}, {"f1"}, {"f2"}, {"f3"}}},
		{"reference example: 5 files in 4", f(5), 4, [][]string{{"f0", "f4"}, {"f1"}, {"f2"}, {"f3"}}},
		{"9 files in 4", f(9), 4, [][]string{{"f0", "f4", "f8"}, {"f1", "f5"}, {"f2", "f6"}, {"f3", "f7"}}},
		{"one task", f(3), 1, [][]string{{"f0", "f1", "f2"}}},
		{"no files", nil, 4, nil},
		{"zero tasks", f(3), 0, nil},
		{"negative tasks", f(3), -2, nil},
		{"over MaxRanges a task", f(2*split.MaxRanges + 1), 2, nil}, // checked below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitFiles(tt.items, tt.n)
			if len(tt.items) > split.MaxRanges {
				if len(got) != 3 || len(got[0]) > split.MaxRanges || len(got[0])+len(got[1])+len(got[2]) != len(tt.items) {
					t.Errorf("splitFiles(%d files, %d): %d splits, want 3 of at most %d files", len(tt.items), tt.n, len(got), split.MaxRanges)
				}
				return
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitFiles(%d files, %d) = %q, want %q", len(tt.items), tt.n, got, tt.want)
			}
		})
	}
}

func TestRegisterAck(t *testing.T) {
	tests := []struct {
		name     string
		host     string
		wantAddr string
	}{
		{"localhost", "localhost", "localhost:6001"},
		{"ip address", "127.0.0.1", "127.0.0.1:6001"},
		{"no host means localhost", "", "localhost:6001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScheduler()
			reg := protocol.Register{WorkerHost: tt.host, WorkerPort: 6001, WorkerPID: 4242}
			acts := s.Register(at(3*sec), reg)
			if len(acts) != 1 {
				t.Fatalf("Register returned %s, want one Send", describe(acts))
			}
			send, ok := acts[0].(Send)
			if !ok {
				t.Fatalf("got %T, want Send", acts[0])
			}
			want := protocol.RegisterAck{WorkerHost: tt.host, WorkerPort: 6001, WorkerPID: 4242}
			if !reflect.DeepEqual(send.Msg, want) {
				t.Errorf("message %#v, want %#v", send.Msg, want)
			}
			if send.Addr != tt.wantAddr || send.PID != 4242 || send.RetryFor != testConfig.AckRetry {
				t.Errorf("Send to %q pid %d retry %v, want %q pid 4242 retry %v", send.Addr, send.PID, send.RetryFor, tt.wantAddr, testConfig.AckRetry)
			}
			// The wire form has exactly the reference protocol's fields.
			data, _ := protocol.Encode(send.Msg)
			var m map[string]any
			json.Unmarshal(data, &m)
			if len(m) != 4 || m["message_type"] != "register_ack" || m["worker_pid"] != float64(4242) || m["worker_port"] != float64(6001) {
				t.Errorf("register_ack on the wire: %s", data)
			}
			w := workerInfo(t, s, 4242)
			if w.State != WorkerReady || !w.LastHeartbeat.Equal(at(3*sec)) || w.Port != 6001 {
				t.Errorf("Snapshot worker %+v", w)
			}
		})
	}
}

func TestJobWaitsForAWorker(t *testing.T) {
	s := newScheduler()
	id, acts := s.Submit(t0, spec(4, 3))
	if id != 0 {
		t.Fatalf("first job id %d", id)
	}
	want := []Action{MakeJobDirs{Job: 0, Dirs: []string{"/v/job-0/mapper-output", "/v/job-0/grouper-output", "/v/job-0/reducer-output"}}}
	if !reflect.DeepEqual(acts, want) {
		t.Fatalf("Submit with no worker returned %s, want only %s", describe(acts), describe(want))
	}
	id, acts = s.Submit(at(sec), spec(2, 2))
	if id != 1 || len(acts) != 1 || !reflect.DeepEqual(acts[0], MakeJobDirs{Job: 1, Dirs: []string{"/v/job-1/mapper-output", "/v/job-1/grouper-output", "/v/job-1/reducer-output"}}) {
		t.Fatalf("second Submit: id %d, %s", id, describe(acts))
	}
	j := wantJobState(t, s, 0, protocol.JobQueued)
	if j.Started != nil || !j.Submitted.Equal(t0) {
		t.Errorf("queued job: started %v, submitted %v", j.Started, j.Submitted)
	}
	// Time passes; nothing happens without a worker.
	if acts := s.Tick(at(60 * sec)); len(acts) != 0 {
		t.Errorf("Tick with no worker: %s", describe(acts))
	}

	acts = register(s, at(2*sec), 101)
	if len(acts) != 2 || len(sendsOf(acts, protocol.TypeRegisterAck)) != 1 {
		t.Fatalf("Register returned %s, want an ack then a ScanInput", describe(acts))
	}
	if _, ok := acts[0].(Send); !ok {
		t.Errorf("the ack must come first: %s", describe(acts))
	}
	scan := actionsOf[ScanInput](acts)
	wantScan := scanOf(0)
	if len(scan) != 1 || !reflect.DeepEqual(scan[0], wantScan) {
		t.Fatalf("ScanInput %+v, want %+v", scan, wantScan)
	}
	j = wantJobState(t, s, 0, protocol.JobMapping)
	if j.Started == nil || !j.Started.Equal(at(2*sec)) {
		t.Errorf("started %v, want %v", j.Started, at(2*sec))
	}
	wantJobState(t, s, 1, protocol.JobQueued)

	// A second worker does not start the queued job: one job at a time.
	if acts := register(s, at(3*sec), 102); len(acts) != 1 {
		t.Errorf("second Register returned %s, want only its ack", describe(acts))
	}
	// A scan result for a job that is not current is ignored.
	if acts := s.InputScanned(at(3*sec), 1, inputFiles(2), nil); len(acts) != 0 {
		t.Errorf("InputScanned for the queued job: %s", describe(acts))
	}
	wantJobState(t, s, 1, protocol.JobQueued)
	if _, ok := s.Snapshot(intPtr(2), false); ok {
		t.Error("Snapshot of a job that does not exist says ok")
	}
	if _, ok := s.Snapshot(intPtr(-1), false); ok {
		t.Error("Snapshot of job -1 says ok")
	}
}

func intPtr(i int) *int { return &i }

func TestFullJob(t *testing.T) {
	s := newScheduler()
	s.Submit(t0, spec(4, 3))
	if acts := register(s, at(sec), 101); len(actionsOf[ScanInput](acts)) != 1 {
		t.Fatalf("first Register: %s", describe(acts))
	}
	if acts := register(s, at(sec), 102); len(acts) != 1 {
		t.Fatalf("second Register: %s", describe(acts))
	}

	// Map: 5 files in 4 tasks over 2 workers.
	acts := s.InputScanned(at(2*sec), 0, inputFiles(5), nil)
	maps := sendsOf(acts, protocol.TypeNewWorkerJob)
	if len(maps) != 4 || len(acts) != 4 {
		t.Fatalf("InputScanned returned %s, want 4 map Sends", describe(acts))
	}
	if got := perWorker(maps); got[101] != 2 || got[102] != 2 {
		t.Errorf("map tasks per worker %v, want 2 each", got)
	}
	wantSets := []string{"/in/file_000.txt,/in/file_004.txt", "/in/file_001.txt", "/in/file_002.txt", "/in/file_003.txt"}
	if got := inputSets(maps); !slices.Equal(got, wantSets) {
		t.Errorf("map input files %q, want %q", got, wantSets)
	}
	for _, snd := range maps {
		m := snd.Msg.(protocol.NewWorkerJob)
		if m.Executable != "/bin/map" || m.OutputDirectory != "/v/job-0/mapper-output" || m.WorkerPID != snd.PID || snd.Addr != addr(snd.PID) {
			t.Errorf("map Send %+v", snd)
		}
		if snd.Incarnation == 0 {
			t.Errorf("map Send without incarnation: %+v", snd)
		}
	}
	j := wantJobState(t, s, 0, protocol.JobMapping)
	wantPhase(t, j, "map", 0, 4)
	wantWorker(t, s, 101, WorkerBusy, 2)
	wantWorker(t, s, 102, WorkerBusy, 2)

	// A second job arrives meanwhile and waits.
	if id, acts := s.Submit(at(2*sec), spec(1, 1)); id != 1 || len(acts) != 1 || len(actionsOf[MakeJobDirs](acts)) != 1 {
		t.Fatalf("Submit during a job: id %d, %s", id, describe(acts))
	}

	for i, snd := range maps[:3] {
		if acts := s.StatusReceived(at(3*sec), finished(snd)); len(acts) != 0 {
			t.Fatalf("status %d of 4 returned %s", i+1, describe(acts))
		}
	}
	wantPhase(t, jobInfo(t, s, 0), "map", 3, 4)

	// Group: the last map status starts one sort task per live worker.
	acts = s.StatusReceived(at(4*sec), finished(maps[3]))
	sorts := sendsOf(acts, protocol.TypeNewSortJob)
	if len(sorts) != 2 || len(acts) != 2 {
		t.Fatalf("last map status returned %s, want 2 sort Sends", describe(acts))
	}
	if got := perWorker(sorts); got[101] != 1 || got[102] != 1 {
		t.Errorf("sort tasks per worker %v, want one each", got)
	}
	var sorted, sortOutputs []string
	for _, snd := range sorts {
		m := snd.Msg.(protocol.NewSortJob)
		sorted = append(sorted, m.InputFiles...)
		sortOutputs = append(sortOutputs, m.OutputFile)
		if filepath.Dir(m.OutputFile) != "/v/job-0/grouper-output" || m.WorkerPID != snd.PID {
			t.Errorf("sort Send %+v", snd)
		}
		if strings.HasPrefix(filepath.Base(m.OutputFile), "input_") {
			t.Errorf("sort output %s collides with the reducers' input names", m.OutputFile)
		}
	}
	slices.Sort(sorted)
	var mapOutputs []string
	for _, f := range inputPaths(5) {
		mapOutputs = append(mapOutputs, "/v/job-0/mapper-output/"+filepath.Base(f))
	}
	if !slices.Equal(sorted, mapOutputs) {
		t.Errorf("sort inputs %q, want the mapper outputs %q", sorted, mapOutputs)
	}
	if sortOutputs[0] == sortOutputs[1] {
		t.Errorf("both sort tasks write %s", sortOutputs[0])
	}
	j = wantJobState(t, s, 0, protocol.JobGrouping)
	wantPhase(t, j, "map", 4, 4)
	wantPhase(t, j, "sort", 0, 2)

	if acts := s.StatusReceived(at(5*sec), finished(sorts[0])); len(acts) != 0 {
		t.Fatalf("first sort status returned %s", describe(acts))
	}
	acts = s.StatusReceived(at(6*sec), finished(sorts[1]))
	merges := actionsOf[Merge](acts)
	if len(merges) != 1 || len(acts) != 1 {
		t.Fatalf("last sort status returned %s, want one Merge", describe(acts))
	}
	slices.Sort(merges[0].Inputs)
	slices.Sort(sortOutputs)
	wantMerge := Merge{Job: 0, Inputs: sortOutputs, OutputDir: "/v/job-0/grouper-output", Reducers: 3}
	if !reflect.DeepEqual(merges[0], wantMerge) {
		t.Errorf("Merge %+v, want %+v", merges[0], wantMerge)
	}
	wantJobState(t, s, 0, protocol.JobGrouping)
	wantWorker(t, s, 101, WorkerReady, 0)

	// Reduce over grouper-output/input_i.
	acts = s.Merged(at(7*sec), 0, nil)
	reduces := sendsOf(acts, protocol.TypeNewWorkerJob)
	if len(reduces) != 3 || len(acts) != 3 {
		t.Fatalf("Merged returned %s, want 3 reduce Sends", describe(acts))
	}
	if got := perWorker(reduces); got[101]+got[102] != 3 || got[101] < 1 || got[102] < 1 {
		t.Errorf("reduce tasks per worker %v, want 2 and 1", got)
	}
	wantSets = []string{"/v/job-0/grouper-output/input_0", "/v/job-0/grouper-output/input_1", "/v/job-0/grouper-output/input_2"}
	if got := inputSets(reduces); !slices.Equal(got, wantSets) {
		t.Errorf("reduce inputs %q, want %q", got, wantSets)
	}
	for _, snd := range reduces {
		m := snd.Msg.(protocol.NewWorkerJob)
		if m.Executable != "/bin/reduce" || m.OutputDirectory != "/v/job-0/reducer-output" || m.WorkerPID != snd.PID {
			t.Errorf("reduce Send %+v", snd)
		}
	}
	j = wantJobState(t, s, 0, protocol.JobReducing)
	wantPhase(t, j, "reduce", 0, 3)

	// Reference workers report reduce tasks with output_file, singular.
	for _, snd := range reduces[:2] {
		if acts := s.StatusReceived(at(8*sec), finishedSingular(snd)); len(acts) != 0 {
			t.Fatalf("reduce status returned %s", describe(acts))
		}
	}
	acts = s.StatusReceived(at(8*sec), finishedSingular(reduces[2]))
	moves := actionsOf[MoveOutputs](acts)
	if len(moves) != 1 || len(acts) != 1 {
		t.Fatalf("last reduce status returned %s, want one MoveOutputs", describe(acts))
	}
	slices.Sort(moves[0].Files)
	wantMove := MoveOutputs{Job: 0, Dest: "/out", Temp: "/out/_temporary-0", Files: []string{
		"/v/job-0/reducer-output/input_0", "/v/job-0/reducer-output/input_1", "/v/job-0/reducer-output/input_2",
	}}
	if !reflect.DeepEqual(moves[0], wantMove) {
		t.Errorf("MoveOutputs %+v, want %+v", moves[0], wantMove)
	}
	wantJobState(t, s, 0, protocol.JobReducing)
	wantJobState(t, s, 1, protocol.JobQueued)

	// The moved outputs are committed into place.
	acts = s.OutputsMoved(at(9*sec), 0, nil)
	wantCommit := []Action{CommitOutputs{Job: 0, Temp: "/out/_temporary-0", Dest: "/out", Names: []string{"input_0", "input_1", "input_2"}}}
	if !reflect.DeepEqual(acts, wantCommit) {
		t.Errorf("OutputsMoved returned %s, want %s", describe(acts), describe(wantCommit))
	}
	wantJobState(t, s, 0, protocol.JobReducing)
	// A repeated OutputsMoved changes nothing.
	if acts := s.OutputsMoved(at(9*sec), 0, nil); len(acts) != 0 {
		t.Errorf("second OutputsMoved: %s", describe(acts))
	}

	// Done: the job's directory goes; the queued job starts.
	acts = s.OutputsCommitted(at(9*sec), 0, nil)
	wantScan := []Action{removed(0), scanOf(1)}
	if !reflect.DeepEqual(acts, wantScan) {
		t.Errorf("OutputsCommitted returned %s, want %s", describe(acts), describe(wantScan))
	}
	j = wantJobState(t, s, 0, protocol.JobDone)
	if j.Ended == nil || !j.Ended.Equal(at(9*sec)) || len(j.Errors) != 0 {
		t.Errorf("done job: ended %v, errors %q", j.Ended, j.Errors)
	}
	wantPhase(t, j, "map", 4, 4)
	wantPhase(t, j, "sort", 2, 2)
	wantPhase(t, j, "reduce", 3, 3)
	for _, task := range j.Tasks {
		if task.State != "done" || len(task.Attempts) != 1 || task.Attempts[0].Outcome != OutcomeFinished {
			t.Errorf("task %+v", task)
		}
	}
	wantJobState(t, s, 1, protocol.JobMapping)
	wantWorker(t, s, 101, WorkerReady, 0)
	wantWorker(t, s, 102, WorkerReady, 0)
	// Repeated reports change nothing.
	if acts := s.OutputsMoved(at(10*sec), 0, nil); len(acts) != 0 {
		t.Errorf("OutputsMoved after the job: %s", describe(acts))
	}
	if acts := s.OutputsCommitted(at(10*sec), 0, nil); len(acts) != 0 {
		t.Errorf("second OutputsCommitted: %s", describe(acts))
	}
	checkAttempts(t, s)
}

func TestMessagesOnTheWire(t *testing.T) {
	s := newScheduler()
	maps := startJob(t, s, []int{101}, 1, 1, 1)
	acts := s.StatusReceived(at(sec), finished(maps[0]))
	sorts := sendsOf(acts, protocol.TypeNewSortJob)
	if len(maps) != 1 || len(sorts) != 1 {
		t.Fatalf("maps %d, sorts %s", len(maps), describe(acts))
	}
	for _, tt := range []struct {
		msg  protocol.Message
		keys []string
	}{
		{maps[0].Msg, []string{"executable", "input_files", "message_type", "output_directory", "worker_pid"}},
		{sorts[0].Msg, []string{"input_files", "message_type", "output_file", "worker_pid"}},
	} {
		data, err := protocol.Encode(tt.msg)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, tt.keys) {
			t.Errorf("%s has fields %q, want %q", data, keys, tt.keys)
		}
	}
}

func TestMapBalance(t *testing.T) {
	tests := []struct {
		workers, files, mappers int
		want                    []int // sorted task counts per worker
	}{
		{1, 5, 4, []int{4}},
		{2, 5, 4, []int{2, 2}},
		{3, 7, 7, []int{2, 2, 3}},
		{3, 2, 4, []int{0, 1, 1}}, // 2 files make 2 tasks
		{4, 8, 4, []int{1, 1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d workers %d files %d mappers", tt.workers, tt.files, tt.mappers), func(t *testing.T) {
			s := newScheduler()
			var pids []int
			for i := range tt.workers {
				pids = append(pids, 101+i)
			}
			maps := startJob(t, s, pids, tt.files, tt.mappers, 1)
			counts := perWorker(maps)
			var got []int
			for _, pid := range pids {
				got = append(got, counts[pid])
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("tasks per worker %v, want %v", got, tt.want)
			}
			var all []string
			for _, snd := range maps {
				all = append(all, inputsOf(snd)...)
			}
			slices.Sort(all)
			if !slices.Equal(all, inputPaths(tt.files)) {
				t.Errorf("map tasks cover %q, want every input file once", all)
			}
		})
	}
}

func TestSortTasks(t *testing.T) {
	tests := []struct {
		workers, files int
		wantSizes      []int // sorted input counts of the sort tasks
	}{
		{2, 5, []int{2, 3}},
		{3, 1, []int{1}},
		{3, 3, []int{1, 1, 1}},
		{3, 7, []int{2, 2, 3}},
		{1, 4, []int{4}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d workers %d files", tt.workers, tt.files), func(t *testing.T) {
			s := newScheduler()
			var pids []int
			for i := range tt.workers {
				pids = append(pids, 101+i)
			}
			maps := startJob(t, s, pids, tt.files, tt.files, 2)
			var acts []Action
			for _, snd := range maps {
				acts = s.StatusReceived(at(sec), finished(snd))
			}
			sorts := sendsOf(acts, protocol.TypeNewSortJob)
			var sizes []int
			for _, snd := range sorts {
				sizes = append(sizes, len(inputsOf(snd)))
			}
			slices.Sort(sizes)
			if !slices.Equal(sizes, tt.wantSizes) {
				t.Errorf("sort task sizes %v, want %v", sizes, tt.wantSizes)
			}
			for pid, n := range perWorker(sorts) {
				if n != 1 {
					t.Errorf("worker %d got %d sort tasks, want at most one", pid, n)
				}
			}
		})
	}
}

func TestEmptyInput(t *testing.T) {
	s := newScheduler()
	register(s, t0, 101)
	s.Submit(t0, spec(4, 2))
	acts := s.InputScanned(at(sec), 0, nil, nil)
	merges := actionsOf[Merge](acts)
	if len(merges) != 1 || len(acts) != 1 || len(merges[0].Inputs) != 0 || merges[0].Reducers != 2 || merges[0].OutputDir != "/v/job-0/grouper-output" {
		t.Fatalf("InputScanned with no files returned %s, want a Merge of nothing into 2 partitions", describe(acts))
	}
	acts = s.Merged(at(2*sec), 0, nil)
	reduces := sendsOf(acts, protocol.TypeNewWorkerJob)
	if len(reduces) != 2 {
		t.Fatalf("Merged returned %s", describe(acts))
	}
	s.StatusReceived(at(3*sec), finished(reduces[0]))
	acts = s.StatusReceived(at(3*sec), finished(reduces[1]))
	if len(actionsOf[MoveOutputs](acts)) != 1 {
		t.Fatalf("last reduce returned %s", describe(acts))
	}
	s.OutputsMoved(at(4*sec), 0, nil)
	s.OutputsCommitted(at(4*sec), 0, nil)
	wantJobState(t, s, 0, protocol.JobDone)
	checkAttempts(t, s)
}

func TestLiveness(t *testing.T) {
	s := newScheduler()
	maps := startJob(t, s, []int{101, 102}, 4, 4, 1)
	var held101 []Send
	for _, snd := range maps {
		if snd.PID == 101 {
			held101 = append(held101, snd)
		}
	}
	if len(held101) != 2 {
		t.Fatalf("worker 101 got %d tasks", len(held101))
	}
	s.Heartbeat(at(5*sec), protocol.Heartbeat{WorkerPID: 102})

	// Exactly 5 intervals after 101's last heartbeat (its registration) it
	// is still alive.
	if acts := s.Tick(at(5 * sec)); len(acts) != 0 {
		t.Fatalf("Tick at exactly 5 intervals returned %s", describe(acts))
	}
	wantWorker(t, s, 101, WorkerBusy, 2)

	// Just after, it is dead and its tasks go to 102.
	acts := s.Tick(at(5*sec + time.Nanosecond))
	resent := sendsOf(acts, protocol.TypeNewWorkerJob)
	if acts = withoutDirs(acts); len(resent) != 2 || len(acts) != 3 || acts[0] != (CloseOutbox{Incarnation: 1}) {
		t.Fatalf("Tick after 5 intervals returned %s, want 101's outbox closed and 2 re-sends", describe(acts))
	}
	for _, snd := range resent {
		if snd.PID != 102 || snd.Addr != addr(102) || snd.Msg.(protocol.NewWorkerJob).WorkerPID != 102 {
			t.Errorf("re-send %+v, want it to worker 102", snd)
		}
	}
	if got, want := inputSets(resent), inputSets(held101); !slices.Equal(got, want) {
		t.Errorf("re-sent inputs %q, want 101's %q", got, want)
	}
	wantWorker(t, s, 101, WorkerDead, 0)
	wantWorker(t, s, 102, WorkerBusy, 4)
	for _, snd := range held101 {
		task := taskOf(t, s, 0, "map", mapIndex(t, snd, 4))
		if len(task.Attempts) != 2 {
			t.Fatalf("task %+v, want 2 attempts", task)
		}
		first, second := task.Attempts[0], task.Attempts[1]
		if first.WorkerPID != 101 || first.Outcome != OutcomeWorkerDead || first.End == nil || !first.End.Equal(at(5*sec+time.Nanosecond)) {
			t.Errorf("first attempt %+v", first)
		}
		if second.WorkerPID != 102 || second.End != nil || task.State != "running" {
			t.Errorf("second attempt %+v, task %s", second, task.State)
		}
	}
	// A second tick changes nothing: 101 is dead once.
	if acts := s.Tick(at(6 * sec)); len(acts) != 0 {
		t.Errorf("second Tick returned %s", describe(acts))
	}

	// 102 dies too: nobody left, the tasks wait.
	if acts := s.Tick(at(10 * sec)); len(acts) != 0 {
		t.Fatalf("Tick at exactly 5 intervals after 102's beat: %s", describe(acts))
	}
	if acts := s.Tick(at(10*sec + time.Nanosecond)); len(acts) != 1 || acts[0] != (CloseOutbox{Incarnation: 2}) {
		t.Fatalf("Tick with no live worker left returned %s, want only 102's outbox closed", describe(acts))
	}
	st, _ := s.Snapshot(nil, false)
	if len(st.Workers) != 2 {
		t.Errorf("Snapshot lists %d workers, want both dead ones", len(st.Workers))
	}
	wantWorker(t, s, 101, WorkerDead, 0)
	wantWorker(t, s, 102, WorkerDead, 0)
	j := wantJobState(t, s, 0, protocol.JobMapping)
	for _, task := range j.Tasks {
		if task.State != "pending" {
			t.Errorf("%s task %d is %q, want pending", task.Phase, task.Index, task.State)
		}
	}

	// A new worker gets all of them.
	acts = register(s, at(20*sec), 103)
	resent = sendsOf(acts, protocol.TypeNewWorkerJob)
	if len(resent) != 4 || perWorker(resent)[103] != 4 {
		t.Fatalf("Register of a new worker returned %s, want the 4 pending tasks", describe(acts))
	}
	if got, want := inputSets(resent), inputSets(maps); !slices.Equal(got, want) {
		t.Errorf("re-sent %q, want %q", got, want)
	}
	wantWorker(t, s, 103, WorkerBusy, 4)
	checkAttempts(t, s)

	// And the job finishes on it.
	var last []Action
	for _, snd := range resent {
		last = s.StatusReceived(at(21*sec), finished(snd))
	}
	if sorts := sendsOf(last, protocol.TypeNewSortJob); len(sorts) != 1 || sorts[0].PID != 103 {
		t.Errorf("after the maps: %s, want one sort task on 103", describe(last))
	}
	checkAttempts(t, s)
}

func TestHeartbeatsKeepAlive(t *testing.T) {
	tests := []struct {
		name  string
		every time.Duration // heartbeat period
		until time.Duration // heartbeats stop after this
	}{
		{"every interval", sec, 30 * sec},
		{"every 5 intervals", 5 * sec, 30 * sec},
		{"irregular but within the limit", 4500 * time.Millisecond, 27 * sec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScheduler()
			maps := startJob(t, s, []int{101}, 2, 2, 1)
			var last time.Duration
			for d := tt.every; d <= tt.until; d += tt.every {
				s.Heartbeat(at(d), protocol.Heartbeat{WorkerPID: 101})
				last = d
				for _, probe := range []time.Duration{d, d + tt.every/2, d + tt.every} {
					if acts := s.Tick(at(probe)); len(acts) != 0 {
						t.Fatalf("Tick at %v returned %s", probe, describe(acts))
					}
				}
			}
			wantWorker(t, s, 101, WorkerBusy, len(maps))
			if w := workerInfo(t, s, 101); !w.LastHeartbeat.Equal(at(last)) {
				t.Errorf("last heartbeat %v, want %v", w.LastHeartbeat, at(last))
			}
			// An old, reordered heartbeat does not move the time back.
			s.Heartbeat(at(last-3*sec), protocol.Heartbeat{WorkerPID: 101})
			s.Tick(at(last + 5*sec))
			wantWorker(t, s, 101, WorkerBusy, len(maps))
			recorded := workerInfo(t, s, 101).LastHeartbeat
			s.Tick(at(last + 5*sec + time.Nanosecond))
			wantWorker(t, s, 101, WorkerDead, 0)
			if !recorded.Equal(at(last)) {
				t.Fatalf("after a reordered old heartbeat Snapshot says the last was %v, want %v", recorded, at(last))
			}
		})
	}
}

// TestDeadWorkerHeartbeatRevives: a worker declared dead that heartbeats
// again (it was frozen, or too busy to accept) is ready again, holding
// nothing; its old tasks stay where they went, and its late statuses for
// them are ignored.
func TestDeadWorkerHeartbeatRevives(t *testing.T) {
	s := newScheduler()
	startJob(t, s, []int{101, 102}, 4, 4, 1)
	s.Heartbeat(at(5*sec), protocol.Heartbeat{WorkerPID: 102})
	s.Tick(at(6 * sec)) // 101 dies; 102 now holds all four
	wantWorker(t, s, 101, WorkerDead, 0)
	old := incarnationOf(t, s, 101)

	if acts := s.Heartbeat(at(7*sec), protocol.Heartbeat{WorkerPID: 101}); len(acts) != 0 {
		t.Fatalf("revival with no pending task returned %s", describe(acts))
	}
	wantWorker(t, s, 101, WorkerReady, 0)
	wantWorker(t, s, 102, WorkerBusy, 4)
	if w := workerInfo(t, s, 101); !w.LastHeartbeat.Equal(at(7 * sec)) {
		t.Errorf("revived worker's last heartbeat %v, want %v", w.LastHeartbeat, at(7*sec))
	}
	if incarnationOf(t, s, 101) == old {
		t.Error("revived worker kept its old incarnation: a late send failure of the old one would kill it")
	}
	// Its late status for a task it held before it died changes nothing.
	late := protocol.Status{Status: protocol.StatusFinished, WorkerPID: 101,
		OutputFiles: []string{"/v/job-0/mapper-output/file_000.txt"}}
	if acts := s.StatusReceived(at(8*sec), late); len(acts) != 0 {
		t.Errorf("late status from the revived worker returned %s", describe(acts))
	}
	wantWorker(t, s, 102, WorkerBusy, 4)
	// A send failure of the old incarnation is ignored.
	if acts := s.SendFailed(at(8*sec), 101, old, errors.New("connection refused")); len(acts) != 0 {
		t.Errorf("old incarnation's send failure returned %s", describe(acts))
	}
	wantWorker(t, s, 101, WorkerReady, 0)
	// When 102 fails, its tasks go to 101.
	s.Heartbeat(at(9*sec), protocol.Heartbeat{WorkerPID: 101})
	acts := s.SendFailed(at(9*sec), 102, incarnationOf(t, s, 102), errors.New("connection refused"))
	if got := sendsOf(acts, protocol.TypeNewWorkerJob); len(got) != 4 {
		t.Errorf("SendFailed of 102 returned %s, want its 4 tasks sent to 101", describe(acts))
	}
	wantWorker(t, s, 101, WorkerBusy, 4)
	checkAttempts(t, s)
}

// incarnationOf returns pid's current incarnation. The Snapshot does not
// show it, so this reads the scheduler's own record.
func incarnationOf(t *testing.T, s *Scheduler, pid int) int {
	t.Helper()
	w, ok := s.workers[workerKey("", pid)]
	if !ok {
		t.Fatalf("no worker %d", pid)
	}
	return w.incarnation
}

func TestReregistration(t *testing.T) {
	t.Run("dead worker comes back", func(t *testing.T) {
		s := newScheduler()
		maps := startJob(t, s, []int{101}, 3, 3, 1)
		s.Tick(at(6 * sec))
		wantWorker(t, s, 101, WorkerDead, 0)
		acts := register(s, at(7*sec), 101)
		if len(sendsOf(acts, protocol.TypeRegisterAck)) != 1 {
			t.Fatalf("no ack: %s", describe(acts))
		}
		resent := sendsOf(acts, protocol.TypeNewWorkerJob)
		if got, want := inputSets(resent), inputSets(maps); !slices.Equal(got, want) {
			t.Errorf("revived worker got %q, want %q", got, want)
		}
		wantWorker(t, s, 101, WorkerBusy, 3)
		// It is alive again: heartbeats count and keep it so.
		s.Heartbeat(at(11*sec), protocol.Heartbeat{WorkerPID: 101})
		s.Tick(at(15 * sec))
		wantWorker(t, s, 101, WorkerBusy, 3)
		checkAttempts(t, s)
	})

	t.Run("live worker restarts", func(t *testing.T) {
		s := newScheduler()
		maps := startJob(t, s, []int{101, 102}, 4, 4, 1)
		oldInc := incarnationOf(t, s, 101)
		var old []Send
		for _, snd := range maps {
			if snd.PID == 101 {
				old = append(old, snd)
				if snd.Incarnation != oldInc {
					t.Errorf("Send incarnation %d, worker's %d", snd.Incarnation, oldInc)
				}
			}
		}
		// Same pid, new port: a restarted worker holds nothing.
		acts := s.Register(at(2*sec), protocol.Register{WorkerHost: "localhost", WorkerPort: 9999, WorkerPID: 101})
		acks := sendsOf(acts, protocol.TypeRegisterAck)
		resent := sendsOf(acts, protocol.TypeNewWorkerJob)
		if len(acks) != 1 || acks[0].Addr != "localhost:9999" {
			t.Fatalf("Register returned %s", describe(acts))
		}
		newInc := incarnationOf(t, s, 101)
		if newInc == oldInc || acks[0].Incarnation != newInc {
			t.Errorf("incarnations: old %d, new %d, ack %d", oldInc, newInc, acks[0].Incarnation)
		}
		if got, want := inputSets(resent), inputSets(old); !slices.Equal(got, want) {
			t.Errorf("re-sent %q, want the old incarnation's %q", got, want)
		}
		for _, snd := range resent {
			if snd.PID != 101 || snd.Incarnation != newInc || snd.Addr != "localhost:9999" {
				t.Errorf("re-send %+v, want it to the new incarnation (least loaded)", snd)
			}
		}
		for _, snd := range old {
			task := taskOf(t, s, 0, "map", mapIndex(t, snd, 4))
			if len(task.Attempts) != 2 || task.Attempts[0].Outcome != OutcomeWorkerDead {
				t.Errorf("task %d attempts %+v", task.Index, task.Attempts)
			}
		}
		wantWorker(t, s, 101, WorkerBusy, 2)
		if w := workerInfo(t, s, 101); w.Port != 9999 {
			t.Errorf("port %d, want 9999", w.Port)
		}
		checkAttempts(t, s)

		// A late send failure for the old incarnation changes nothing.
		if acts := s.SendFailed(at(3*sec), 101, oldInc, errors.New("refused")); len(acts) != 0 {
			t.Errorf("SendFailed for the old incarnation returned %s", describe(acts))
		}
		wantWorker(t, s, 101, WorkerBusy, 2)

		// One for the current incarnation kills it at once.
		acts = s.SendFailed(at(3*sec), 101, newInc, errors.New("refused"))
		resent2 := sendsOf(acts, protocol.TypeNewWorkerJob)
		if len(resent2) != 2 || perWorker(resent2)[102] != 2 {
			t.Fatalf("SendFailed for the current incarnation returned %s, want 2 re-sends to 102", describe(acts))
		}
		if got, want := inputSets(resent2), inputSets(old); !slices.Equal(got, want) {
			t.Errorf("re-sent %q, want %q", got, want)
		}
		wantWorker(t, s, 101, WorkerDead, 0)
		wantWorker(t, s, 102, WorkerBusy, 4)
		// Again, or for an unknown worker: nothing.
		if acts := s.SendFailed(at(4*sec), 101, newInc, errors.New("refused")); len(acts) != 0 {
			t.Errorf("SendFailed for a dead worker returned %s", describe(acts))
		}
		if acts := s.SendFailed(at(4*sec), 999, 1, errors.New("refused")); len(acts) != 0 {
			t.Errorf("SendFailed for an unknown worker returned %s", describe(acts))
		}
		checkAttempts(t, s)
	})

	t.Run("failed register_ack", func(t *testing.T) {
		s := newScheduler()
		acts := register(s, t0, 101)
		ack := sendsOf(acts, protocol.TypeRegisterAck)[0]
		s.SendFailed(at(sec), ack.PID, ack.Incarnation, errors.New("connection refused"))
		wantWorker(t, s, 101, WorkerDead, 0)
		// A job submitted now waits for a live worker.
		if _, acts := s.Submit(at(2*sec), spec(1, 1)); len(actionsOf[ScanInput](acts)) != 0 {
			t.Errorf("job started with only a dead worker: %s", describe(acts))
		}
	})
}

func TestIgnoredStatuses(t *testing.T) {
	s := newScheduler()
	maps := startJob(t, s, []int{101, 102}, 4, 4, 1)
	var of101 []Send
	for _, snd := range maps {
		if snd.PID == 101 {
			of101 = append(of101, snd)
		}
	}
	s.Heartbeat(at(5*sec), protocol.Heartbeat{WorkerPID: 102})
	resent := sendsOf(s.Tick(at(6*sec)), protocol.TypeNewWorkerJob) // 101 dies
	if len(resent) != 2 {
		t.Fatalf("re-sent %d", len(resent))
	}

	// The dead worker finishes after all: its status is ignored and the
	// task stays running on 102.
	late := of101[0]
	idx := mapIndex(t, late, 4)
	if acts := s.StatusReceived(at(7*sec), finished(late)); len(acts) != 0 {
		t.Errorf("late status from a dead worker returned %s", describe(acts))
	}
	task := taskOf(t, s, 0, "map", idx)
	if task.State != "running" || task.Attempts[len(task.Attempts)-1].WorkerPID != 102 {
		t.Errorf("after the late status the task is %q with attempts %+v", task.State, task.Attempts)
	}
	wantPhase(t, jobInfo(t, s, 0), "map", 0, 4)
	wantWorker(t, s, 102, WorkerBusy, 4)

	// Statuses that name nothing we know.
	for _, st := range []protocol.Status{
		{Status: protocol.StatusFinished, WorkerPID: 102},
		{Status: protocol.StatusFinished, WorkerPID: 102, OutputFile: "/v/job-0/mapper-output/nope"},
		{Status: protocol.StatusFinished, WorkerPID: 102, OutputFiles: []string{"/elsewhere/file_000.txt"}},
		{Status: protocol.StatusFinished, WorkerPID: 555, OutputFiles: []string{"/v/job-0/mapper-output/file_000.txt"}},
	} {
		if acts := s.StatusReceived(at(7*sec), st); len(acts) != 0 {
			t.Errorf("status %+v returned %s", st, describe(acts))
		}
	}
	wantPhase(t, jobInfo(t, s, 0), "map", 0, 4)

	// 102 finishes everything; then repeats one status: ignored.
	var all []Send
	for _, snd := range maps {
		if snd.PID == 102 {
			all = append(all, snd)
		}
	}
	all = append(all, resent...)
	for _, snd := range all[:3] {
		s.StatusReceived(at(8*sec), finished(snd))
	}
	if acts := s.StatusReceived(at(8*sec), finished(all[0])); len(acts) != 0 {
		t.Errorf("repeated status returned %s", describe(acts))
	}
	wantPhase(t, jobInfo(t, s, 0), "map", 3, 4)
	acts := s.StatusReceived(at(9*sec), finished(all[3]))
	sorts := sendsOf(acts, protocol.TypeNewSortJob)
	if len(sorts) != 1 {
		t.Fatalf("last map status returned %s", describe(acts))
	}
	// Repeating a map status in the sort phase does not restart anything.
	for _, snd := range all {
		if acts := s.StatusReceived(at(10*sec), finished(snd)); len(acts) != 0 {
			t.Errorf("map status in the sort phase returned %s", describe(acts))
		}
	}
	// And the dead worker's late status for a map task, now done, neither.
	if acts := s.StatusReceived(at(10*sec), finished(of101[1])); len(acts) != 0 {
		t.Errorf("late status in the sort phase returned %s", describe(acts))
	}
	j := wantJobState(t, s, 0, protocol.JobGrouping)
	wantPhase(t, j, "map", 4, 4)
	wantPhase(t, j, "sort", 0, 1)
	checkAttempts(t, s)
}

func TestRelativeStatusPaths(t *testing.T) {
	cfg := testConfig
	cfg.VarDir = "/w/var"
	s := New(cfg, zerolog.Nop())
	register(s, t0, 101)
	s.Submit(t0, spec(1, 1))
	acts := s.InputScanned(t0, 0, inputFiles(1), nil)
	maps := sendsOf(acts, protocol.TypeNewWorkerJob)
	if len(maps) != 1 || maps[0].Msg.(protocol.NewWorkerJob).OutputDirectory != "/w/var/job-0/mapper-output" {
		t.Fatalf("InputScanned returned %s", describe(acts))
	}
	// A reference worker run from /w reports paths relative to it, perhaps
	// with a trailing slash directory or ./ segments.
	st := protocol.Status{Status: protocol.StatusFinished, WorkerPID: 101,
		OutputFiles: []string{"./var/job-0//mapper-output/file_000.txt"}}
	acts = s.StatusReceived(at(sec), st)
	if len(sendsOf(acts, protocol.TypeNewSortJob)) != 1 {
		t.Errorf("relative status returned %s, want the sort phase to start", describe(acts))
	}
}

func TestFailedStatusFailsTheJob(t *testing.T) {
	tests := []struct {
		name   string
		status string
		err    string
		want   string // substring of the job's error
	}{
		{"with error text", protocol.StatusFailed, "map.py exited 1: Traceback (most recent call last):\nValueError: bad line 7", "map.py exited 1: Traceback (most recent call last):\nValueError: bad line 7"},
		{"without error text", protocol.StatusFailed, "", `"failed"`},
		{"unknown status word", "exploded", "", `"exploded"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScheduler()
			maps := startJob(t, s, []int{101, 102}, 4, 4, 2)
			s.Submit(at(sec), spec(2, 1)) // job 1 waits

			bad := maps[0]
			st := finished(bad)
			st.Status = tt.status
			st.Error = tt.err
			acts := s.StatusReceived(at(2*sec), st)
			want := []Action{removed(0), scanOf(1)}
			if !reflect.DeepEqual(acts, want) {
				t.Errorf("failed status returned %s, want the next job's %s", describe(acts), describe(want))
			}
			j := wantJobState(t, s, 0, protocol.JobFailed)
			if len(j.Errors) != 1 || !strings.Contains(j.Errors[0], tt.want) {
				t.Errorf("job errors %q, want one containing %q", j.Errors, tt.want)
			}
			if j.Ended == nil || !j.Ended.Equal(at(2*sec)) {
				t.Errorf("ended %v", j.Ended)
			}
			for _, task := range j.Tasks {
				last := task.Attempts[len(task.Attempts)-1]
				wantOutcome := OutcomeCancelled
				if task.Index == mapIndex(t, bad, 4) {
					wantOutcome = OutcomeFailed
				}
				if last.Outcome != wantOutcome || last.End == nil || !last.End.Equal(at(2*sec)) {
					t.Errorf("map task %d: last attempt %+v, want %s at %v", task.Index, last, wantOutcome, at(2*sec))
				}
				if task.State != wantOutcome {
					t.Errorf("map task %d of a failed job is %q, want %q", task.Index, task.State, wantOutcome)
				}
			}
			wantWorker(t, s, 101, WorkerReady, 0)
			wantWorker(t, s, 102, WorkerReady, 0)
			wantJobState(t, s, 1, protocol.JobMapping)

			// Late statuses for the failed job's cancelled tasks are ignored.
			for _, snd := range maps[1:] {
				if acts := s.StatusReceived(at(3*sec), finished(snd)); len(acts) != 0 {
					t.Errorf("status for a failed job returned %s", describe(acts))
				}
			}
			// And still after the next job has its tasks out.
			acts = s.InputScanned(at(4*sec), 1, inputFiles(2), nil)
			if got := perWorker(sendsOf(acts, protocol.TypeNewWorkerJob)); got[101] != 1 || got[102] != 1 {
				t.Errorf("job 1 map tasks per worker %v, want 1 each (cancelled tasks released)", got)
			}
			for _, snd := range maps {
				if acts := s.StatusReceived(at(5*sec), finished(snd)); len(acts) != 0 {
					t.Errorf("status for job 0 during job 1 returned %s", describe(acts))
				}
			}
			wantJobState(t, s, 0, protocol.JobFailed)
			wantPhase(t, jobInfo(t, s, 1), "map", 0, 2)
			checkAttempts(t, s)
		})
	}
}

func TestStatusAfterJobDone(t *testing.T) {
	s := newScheduler()
	maps := startJob(t, s, []int{101}, 1, 1, 1)
	sorts := sendsOf(s.StatusReceived(at(sec), finished(maps[0])), protocol.TypeNewSortJob)
	s.StatusReceived(at(sec), finished(sorts[0]))
	reduces := sendsOf(s.Merged(at(sec), 0, nil), protocol.TypeNewWorkerJob)
	s.StatusReceived(at(sec), finished(reduces[0]))
	s.OutputsMoved(at(2*sec), 0, nil)
	s.OutputsCommitted(at(2*sec), 0, nil)
	wantJobState(t, s, 0, protocol.JobDone)
	for _, snd := range []Send{maps[0], sorts[0], reduces[0]} {
		if acts := s.StatusReceived(at(3*sec), finished(snd)); len(acts) != 0 {
			t.Errorf("status after the job ended returned %s", describe(acts))
		}
	}
	// Late results of the master's own I/O for the ended job too.
	if acts := s.Merged(at(3*sec), 0, nil); len(acts) != 0 {
		t.Errorf("late Merged returned %s", describe(acts))
	}
	if acts := s.InputScanned(at(3*sec), 0, inputFiles(3), nil); len(acts) != 0 {
		t.Errorf("late InputScanned returned %s", describe(acts))
	}
	if acts := s.OutputsMoved(at(3*sec), 0, nil); len(acts) != 0 {
		t.Errorf("late OutputsMoved of a done job returned %s", describe(acts))
	}
	wantJobState(t, s, 0, protocol.JobDone)
	checkAttempts(t, s)
}

func TestMasterIOFailures(t *testing.T) {
	boom := errors.New("input directory: open /in: no such file or directory")
	tests := []struct {
		name string
		// run drives job 0 to the failing event and returns its actions.
		run  func(s *Scheduler) []Action
		want []string // substrings of job 0's error
		// discard: the outputs moved for the commit are discarded first.
		discard bool
	}{
		{"scan fails", func(s *Scheduler) []Action {
			return s.InputScanned(at(sec), 0, nil, boom)
		}, []string{boom.Error()}, false},
		{"dirs fail while scanning", func(s *Scheduler) []Action {
			return s.JobDirsFailed(at(sec), 0, errors.New("mkdir /v/job-0: permission denied"))
		}, []string{"make job directories", "mkdir /v/job-0: permission denied"}, false},
		{"merge fails", func(s *Scheduler) []Action {
			maps := sendsOf(s.InputScanned(at(sec), 0, inputFiles(1), nil), protocol.TypeNewWorkerJob)
			sorts := sendsOf(s.StatusReceived(at(sec), finished(maps[0])), protocol.TypeNewSortJob)
			s.StatusReceived(at(sec), finished(sorts[0]))
			return s.Merged(at(sec), 0, errors.New("disk full"))
		}, []string{"merge", "disk full"}, false},
		{"move fails", func(s *Scheduler) []Action {
			maps := sendsOf(s.InputScanned(at(sec), 0, inputFiles(1), nil), protocol.TypeNewWorkerJob)
			sorts := sendsOf(s.StatusReceived(at(sec), finished(maps[0])), protocol.TypeNewSortJob)
			s.StatusReceived(at(sec), finished(sorts[0]))
			reduces := sendsOf(s.Merged(at(sec), 0, nil), protocol.TypeNewWorkerJob)
			s.StatusReceived(at(sec), finished(reduces[0]))
			return s.OutputsMoved(at(sec), 0, errors.New("read-only file system"))
		}, []string{"move outputs to /out", "read-only file system"}, false},
		{"commit fails", func(s *Scheduler) []Action {
			maps := sendsOf(s.InputScanned(at(sec), 0, inputFiles(1), nil), protocol.TypeNewWorkerJob)
			sorts := sendsOf(s.StatusReceived(at(sec), finished(maps[0])), protocol.TypeNewSortJob)
			s.StatusReceived(at(sec), finished(sorts[0]))
			reduces := sendsOf(s.Merged(at(sec), 0, nil), protocol.TypeNewWorkerJob)
			s.StatusReceived(at(sec), finished(reduces[0]))
			s.OutputsMoved(at(sec), 0, nil)
			return s.OutputsCommitted(at(sec), 0, errors.New("/out/_SUCCESS: file exists"))
		}, []string{"commit outputs to /out", "/out/_SUCCESS: file exists"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScheduler()
			register(s, t0, 101)
			s.Submit(t0, spec(1, 1))
			s.Submit(t0, spec(1, 1))
			acts := tt.run(s)
			want := []Action{removed(0), scanOf(1)}
			if tt.discard {
				want = append([]Action{DiscardOutputs{Job: 0, Temp: "/out/_temporary-0"}}, want...)
			}
			if !reflect.DeepEqual(acts, want) {
				t.Errorf("failing event returned %s, want job 0's files removed and the next job's scan: %s", describe(acts), describe(want))
			}
			j := wantJobState(t, s, 0, protocol.JobFailed)
			for _, w := range tt.want {
				if len(j.Errors) != 1 || !strings.Contains(j.Errors[0], w) {
					t.Errorf("errors %q, want one containing %q", j.Errors, w)
				}
			}
			// A late scan result for the failed job is ignored.
			if acts := s.InputScanned(at(2*sec), 0, inputFiles(2), nil); len(acts) != 0 {
				t.Errorf("late InputScanned returned %s", describe(acts))
			}
			wantJobState(t, s, 0, protocol.JobFailed)
			wantJobState(t, s, 1, protocol.JobMapping)
			checkAttempts(t, s)
		})
	}
}

func TestJobDirsFailedForQueuedJob(t *testing.T) {
	s := newScheduler()
	s.Submit(t0, spec(1, 1))
	s.Submit(t0, spec(1, 1))
	s.Submit(t0, spec(1, 1))
	if acts := s.JobDirsFailed(at(sec), 1, errors.New("no space left on device")); !reflect.DeepEqual(acts, []Action{removed(1)}) {
		t.Errorf("JobDirsFailed with no worker returned %s, want what was made of its directories removed", describe(acts))
	}
	j := wantJobState(t, s, 1, protocol.JobFailed)
	if len(j.Errors) != 1 || !strings.Contains(j.Errors[0], "no space left on device") {
		t.Errorf("errors %q", j.Errors)
	}
	wantJobState(t, s, 0, protocol.JobQueued)
	wantJobState(t, s, 2, protocol.JobQueued)
	if acts := s.JobDirsFailed(at(sec), 7, errors.New("x")); len(acts) != 0 {
		t.Errorf("JobDirsFailed for an unknown job returned %s", describe(acts))
	}

	// Job 0 starts; when it ends, the failed job 1 is skipped for job 2.
	acts := register(s, at(2*sec), 101)
	if scans := actionsOf[ScanInput](acts); len(scans) != 1 || scans[0].Job != 0 {
		t.Fatalf("Register returned %s, want job 0's ScanInput", describe(acts))
	}
	acts = s.InputScanned(at(3*sec), 0, nil, errors.New("empty"))
	if scans := actionsOf[ScanInput](acts); len(scans) != 1 || scans[0].Job != 2 {
		t.Fatalf("after job 0 failed: %s, want job 2's ScanInput", describe(acts))
	}
	wantJobState(t, s, 1, protocol.JobFailed)
	acts = s.InputScanned(at(4*sec), 2, nil, errors.New("empty"))
	if !reflect.DeepEqual(acts, []Action{removed(2)}) {
		t.Errorf("after the last job: %s, want its directory removed and nothing more (job 1 never restarts)", describe(acts))
	}
	st, _ := s.Snapshot(nil, false)
	for _, j := range st.Jobs {
		if j.State != protocol.JobFailed {
			t.Errorf("job %d is %q", j.ID, j.State)
		}
	}
}

func TestShutdownTargets(t *testing.T) {
	s := newScheduler()
	register(s, t0, 103)
	register(s, t0, 101)
	register(s, t0, 102)
	s.Heartbeat(at(5*sec), protocol.Heartbeat{WorkerPID: 101})
	s.Heartbeat(at(5*sec), protocol.Heartbeat{WorkerPID: 103})
	s.Tick(at(6 * sec)) // 102 dies
	sends := s.ShutdownTargets()
	var pids []int
	for _, snd := range sends {
		pids = append(pids, snd.PID)
		if snd.Msg != (protocol.Shutdown{}) || snd.Addr != addr(snd.PID) {
			t.Errorf("shutdown Send %+v", snd)
		}
	}
	if !slices.Equal(pids, []int{101, 102, 103}) {
		t.Errorf("shutdown goes to %v, want every registered worker, dead ones too, by pid", pids)
	}
}

func retry(s Send, text string, missing ...string) protocol.Status {
	st := failed(s, text)
	st.Retry = true
	st.MissingFiles = missing
	return st
}

// toSortPhase runs a job with 2 workers, 4 files and 2 map tasks ([f0 f2]
// and [f1 f3]) to its sort phase and returns the map and sort Sends, the
// sort Sends ordered by their first input.
func toSortPhase(t *testing.T, s *Scheduler, reducers int) (maps, sorts []Send) {
	t.Helper()
	maps = startJob(t, s, []int{101, 102}, 4, 2, reducers)
	var acts []Action
	for _, snd := range maps {
		acts = s.StatusReceived(at(sec), finished(snd))
	}
	sorts = sendsOf(acts, protocol.TypeNewSortJob)
	if len(sorts) != 2 {
		t.Fatalf("last map status returned %s", describe(acts))
	}
	slices.SortFunc(sorts, func(a, b Send) int { return strings.Compare(inputsOf(a)[0], inputsOf(b)[0]) })
	return maps, sorts
}

func TestRetryReproducesLostInput(t *testing.T) {
	s := newScheduler()
	maps, sorts := toSortPhase(t, s, 1)
	s0 := sorts[0]
	wantInputs := []string{"/v/job-0/mapper-output/file_000.txt", "/v/job-0/mapper-output/file_002.txt"}
	if got := inputsOf(s0); !slices.Equal(got, wantInputs) {
		t.Fatalf("sort task inputs %q, want %q", got, wantInputs)
	}
	var producer Send // the map task of file_000 and file_002
	for _, snd := range maps {
		if inputsOf(snd)[0] == "/in/file_000.txt" {
			producer = snd
		}
	}

	// The sort task finds an input gone: the map task that made it runs
	// again first; the sort task waits.
	acts := s.StatusReceived(at(2*sec), retry(s0, "open file_000.txt: no such file or directory", wantInputs[0]))
	reruns := sendsOf(acts, protocol.TypeNewWorkerJob)
	if len(reruns) != 1 || len(acts) != 1 {
		t.Fatalf("retry status returned %s, want one map re-run", describe(acts))
	}
	if got, want := inputsOf(reruns[0]), inputsOf(producer); !slices.Equal(got, want) {
		t.Errorf("re-ran map inputs %q, want %q", got, want)
	}
	if m := reruns[0].Msg.(protocol.NewWorkerJob); m.Executable != "/bin/map" || m.OutputDirectory != "/v/job-0/mapper-output" {
		t.Errorf("re-run %+v", m)
	}
	j := wantJobState(t, s, 0, protocol.JobGrouping)
	wantPhase(t, j, "map", 1, 2)
	wantPhase(t, j, "sort", 0, 2)
	st := taskOf(t, s, 0, "sort", 0)
	if st.State != "pending" || st.Attempts[len(st.Attempts)-1].Outcome != OutcomeRetry {
		t.Errorf("sort task 0 %+v, want pending after a retry", st)
	}
	checkAttempts(t, s)

	// Other statuses do not dispatch the waiting sort task early.
	if acts := s.StatusReceived(at(3*sec), finished(sorts[1])); len(acts) != 0 {
		t.Errorf("other sort status returned %s", describe(acts))
	}
	// The map task is done again: the sort task goes out.
	acts = s.StatusReceived(at(4*sec), finished(reruns[0]))
	again := sendsOf(acts, protocol.TypeNewSortJob)
	if len(again) != 1 || len(acts) != 1 || !slices.Equal(inputsOf(again[0]), wantInputs) {
		t.Fatalf("re-run map status returned %s, want the sort task again", describe(acts))
	}
	if again[0].Msg.(protocol.NewSortJob).OutputFile != s0.Msg.(protocol.NewSortJob).OutputFile {
		t.Errorf("re-sent sort task writes elsewhere")
	}
	acts = s.StatusReceived(at(5*sec), finished(again[0]))
	if len(actionsOf[Merge](acts)) != 1 {
		t.Fatalf("last sort status returned %s, want Merge", describe(acts))
	}
	j = wantJobState(t, s, 0, protocol.JobGrouping)
	wantPhase(t, j, "map", 2, 2)
	wantPhase(t, j, "sort", 2, 2)
	checkAttempts(t, s)
}

func TestRetryLimit(t *testing.T) {
	s := newScheduler()
	_, sorts := toSortPhase(t, s, 1)
	s.Submit(at(sec), spec(1, 1)) // job 1 waits
	cur := sorts[0]
	inputs := inputsOf(cur)
	for i := range 3 {
		acts := s.StatusReceived(at(time.Duration(2+i)*sec), retry(cur, "input gone"))
		resent := sendsOf(acts, protocol.TypeNewSortJob)
		if len(resent) != 1 || len(acts) != 1 || !slices.Equal(inputsOf(resent[0]), inputs) {
			t.Fatalf("retry %d returned %s, want the sort task again", i+1, describe(acts))
		}
		cur = resent[0]
	}
	acts := s.StatusReceived(at(9*sec), retry(cur, "input gone for good"))
	if !reflect.DeepEqual(acts, []Action{removed(0), scanOf(1)}) {
		t.Errorf("retry past the limit returned %s, want the job to fail and job 1 to start", describe(acts))
	}
	j := wantJobState(t, s, 0, protocol.JobFailed)
	if len(j.Errors) != 1 || !strings.Contains(j.Errors[0], "input gone for good") {
		t.Errorf("errors %q", j.Errors)
	}
	st := taskOf(t, s, 0, "sort", 0)
	var outcomes []string
	for _, a := range st.Attempts {
		outcomes = append(outcomes, a.Outcome)
	}
	if want := []string{OutcomeRetry, OutcomeRetry, OutcomeRetry, OutcomeFailed}; !slices.Equal(outcomes, want) || st.State != "failed" {
		t.Errorf("sort task %s with outcomes %q, want failed with %q", st.State, outcomes, want)
	}
	if other := taskOf(t, s, 0, "sort", 1); other.State != "cancelled" {
		t.Errorf("other sort task is %q, want cancelled", other.State)
	}
	checkAttempts(t, s)
}

func TestRetryIgnoredOrNotRetry(t *testing.T) {
	t.Run("finished with retry set is finished", func(t *testing.T) {
		s := newScheduler()
		_, sorts := toSortPhase(t, s, 1)
		st := finished(sorts[0])
		st.Retry = true
		st.MissingFiles = []string{"/v/job-0/mapper-output/file_000.txt"}
		if acts := s.StatusReceived(at(2*sec), st); len(acts) != 0 {
			t.Errorf("returned %s", describe(acts))
		}
		wantPhase(t, jobInfo(t, s, 0), "sort", 1, 2)
		wantPhase(t, jobInfo(t, s, 0), "map", 2, 2)
	})
	t.Run("retry from a worker that no longer holds the task", func(t *testing.T) {
		s := newScheduler()
		_, sorts := toSortPhase(t, s, 1)
		dead := sorts[0].PID
		other := 101
		if dead == 101 {
			other = 102
		}
		s.Heartbeat(at(5*sec), protocol.Heartbeat{WorkerPID: other})
		s.Tick(at(6 * sec))
		wantWorker(t, s, dead, WorkerDead, 0)
		if acts := s.StatusReceived(at(7*sec), retry(sorts[0], "gone", "/v/job-0/mapper-output/file_000.txt")); len(acts) != 0 {
			t.Errorf("returned %s", describe(acts))
		}
		j := wantJobState(t, s, 0, protocol.JobGrouping)
		wantPhase(t, j, "map", 2, 2)
		checkAttempts(t, s)
	})
	t.Run("missing file that no task produces", func(t *testing.T) {
		s := newScheduler()
		maps := startJob(t, s, []int{101}, 1, 1, 1)
		acts := s.StatusReceived(at(sec), retry(maps[0], "no such file", "/in/file_000.txt"))
		resent := sendsOf(acts, protocol.TypeNewWorkerJob)
		if len(resent) != 1 || len(acts) != 1 || !slices.Equal(inputsOf(resent[0]), inputsOf(maps[0])) {
			t.Errorf("returned %s, want the map task again", describe(acts))
		}
		checkAttempts(t, s)
	})
}

func speculating(after time.Duration) *Scheduler {
	cfg := testConfig
	cfg.Speculate = true
	cfg.SpeculateAfter = after
	return New(cfg, zerolog.Nop())
}

// beatAll keeps every listed worker alive at now.
func beatAll(s *Scheduler, now time.Time, pids ...int) {
	for _, pid := range pids {
		s.Heartbeat(now, protocol.Heartbeat{WorkerPID: pid})
	}
}

func TestNoSpeculationByDefault(t *testing.T) {
	s := newScheduler()
	maps := startJob(t, s, []int{101, 102, 103}, 1, 1, 1)
	if len(maps) != 1 {
		t.Fatalf("%d map tasks", len(maps))
	}
	for d := sec; d <= time.Hour; d += 4 * sec {
		beatAll(s, at(d), 101, 102, 103)
		if acts := s.Tick(at(d)); len(acts) != 0 {
			t.Fatalf("Tick at %v without speculation returned %s", d, describe(acts))
		}
	}
	checkAttempts(t, s)
}

func TestSpeculation(t *testing.T) {
	// Two map tasks on 101 and 102, 103 idle; the task on 102 finishes in
	// 2s, so the threshold is max(10s, 1.5*2s) = 10s.
	setup := func(t *testing.T) (s *Scheduler, straggler Send) {
		s = speculating(10 * sec)
		maps := startJob(t, s, []int{101, 102, 103}, 2, 2, 1)
		byPID := map[int]Send{}
		for _, snd := range maps {
			byPID[snd.PID] = snd
		}
		if len(byPID) != 2 || byPID[103].Msg != nil {
			t.Fatalf("map tasks went to %v", perWorker(maps))
		}
		if acts := s.StatusReceived(at(2*sec), finished(byPID[102])); len(acts) != 0 {
			t.Fatalf("first map status returned %s", describe(acts))
		}
		for _, d := range []time.Duration{3 * sec, 5 * sec, 9 * sec, 10 * sec} {
			beatAll(s, at(d), 101, 102, 103)
			if acts := s.Tick(at(d)); len(acts) != 0 {
				t.Fatalf("Tick at %v (not past the threshold) returned %s", d, describe(acts))
			}
		}
		return s, byPID[101]
	}
	copyOf := func(t *testing.T, s *Scheduler, straggler Send) Send {
		t.Helper()
		acts := s.Tick(at(10*sec + time.Nanosecond))
		copies := sendsOf(acts, protocol.TypeNewWorkerJob)
		if len(copies) != 1 || len(withoutDirs(acts)) != 1 {
			t.Fatalf("Tick past the threshold returned %s, want one copy", describe(acts))
		}
		c := copies[0]
		if c.PID == straggler.PID || !slices.Equal(inputsOf(c), inputsOf(straggler)) {
			t.Fatalf("copy %+v of %+v", c, straggler)
		}
		// The original, on a worker that writes in place, may be writing
		// its outputs: the copy writes apart, in a directory made first.
		dir := c.Msg.(protocol.NewWorkerJob).OutputDirectory
		if dir == straggler.Msg.(protocol.NewWorkerJob).OutputDirectory || !slices.ContainsFunc(acts, func(a Action) bool {
			m, ok := a.(MakeJobDirs)
			return ok && slices.Equal(m.Dirs, []string{dir})
		}) {
			t.Fatalf("copy writes into %s, want a directory of its own, made first: %s", dir, describe(acts))
		}
		task := taskOf(t, s, 0, "map", mapIndex(t, straggler, 2))
		if task.State != "running" || len(task.Attempts) != 2 || task.Attempts[0].End != nil || task.Attempts[1].End != nil {
			t.Fatalf("straggler task %+v, want two live attempts", task)
		}
		// No third copy while two run.
		beatAll(s, at(11*sec), 101, 102, 103)
		if acts := s.Tick(at(11 * sec)); len(acts) != 0 {
			t.Errorf("Tick with two copies running returned %s", describe(acts))
		}
		return c
	}

	t.Run("copy wins", func(t *testing.T) {
		s, straggler := setup(t)
		c := copyOf(t, s, straggler)
		acts := s.StatusReceived(at(12*sec), finished(c))
		if len(sendsOf(acts, protocol.TypeNewSortJob)) == 0 {
			t.Fatalf("winning copy returned %s, want the sort phase", describe(acts))
		}
		task := taskOf(t, s, 0, "map", mapIndex(t, straggler, 2))
		if task.State != "done" || task.Attempts[0].Outcome != OutcomeSuperseded || task.Attempts[1].Outcome != OutcomeFinished {
			t.Errorf("task %+v, want the original superseded", task)
		}
		// The loser's late status is ignored.
		if acts := s.StatusReceived(at(13*sec), finished(straggler)); len(acts) != 0 {
			t.Errorf("loser's status returned %s", describe(acts))
		}
		checkAttempts(t, s)
	})
	t.Run("original wins", func(t *testing.T) {
		s, straggler := setup(t)
		c := copyOf(t, s, straggler)
		if acts := s.StatusReceived(at(12*sec), finished(straggler)); len(sendsOf(acts, protocol.TypeNewSortJob)) == 0 {
			t.Fatalf("original's status returned %s", describe(acts))
		}
		task := taskOf(t, s, 0, "map", mapIndex(t, straggler, 2))
		if task.Attempts[0].Outcome != OutcomeFinished || task.Attempts[1].Outcome != OutcomeSuperseded {
			t.Errorf("task %+v, want the copy superseded", task)
		}
		wantWorker(t, s, c.PID, WorkerBusy, 1) // its sort task, not the lost copy
		if acts := s.StatusReceived(at(13*sec), finished(c)); len(acts) != 0 {
			t.Errorf("loser's status returned %s", describe(acts))
		}
		checkAttempts(t, s)
	})
	t.Run("copy's worker dies: the original goes on", func(t *testing.T) {
		s, straggler := setup(t)
		c := copyOf(t, s, straggler)
		acts := s.SendFailed(at(12*sec), c.PID, c.Incarnation, errors.New("refused"))
		wantWorker(t, s, c.PID, WorkerDead, 0)
		task := taskOf(t, s, 0, "map", mapIndex(t, straggler, 2))
		if task.State != "running" || task.Attempts[1].Outcome != OutcomeWorkerDead || task.Attempts[0].End != nil {
			t.Errorf("task %+v, want it running on the original", task)
		}
		for _, snd := range sendsOf(acts, protocol.TypeNewWorkerJob) {
			if snd.PID == straggler.PID {
				t.Errorf("task re-sent to the worker already running it: %s", describe(acts))
			}
		}
		// The task has run 12s > 10s, and a worker is idle: a new copy
		// is due at once.
		copies := sendsOf(acts, protocol.TypeNewWorkerJob)
		if len(copies) != 1 {
			t.Fatalf("no new copy after the copy's worker died: running time measured from %v (the dead copy's start) instead of %v (the live attempt's), got %s",
				at(10*sec+time.Nanosecond), t0, describe(acts))
		}
		checkAttempts(t, s)
	})
	t.Run("original's worker dies: the copy goes on", func(t *testing.T) {
		s, straggler := setup(t)
		c := copyOf(t, s, straggler)
		acts := s.SendFailed(at(12*sec), straggler.PID, straggler.Incarnation, errors.New("refused"))
		if n := len(sendsOf(acts, protocol.TypeNewWorkerJob)); n != 0 {
			t.Errorf("death of one copy's worker re-sent the task: %s", describe(acts))
		}
		if acts := s.StatusReceived(at(13*sec), finished(c)); len(sendsOf(acts, protocol.TypeNewSortJob)) == 0 {
			t.Errorf("copy's status returned %s", describe(acts))
		}
		checkAttempts(t, s)
	})
	t.Run("median sets the threshold", func(t *testing.T) {
		s := speculating(time.Second)
		maps := startJob(t, s, []int{101, 102, 103, 104}, 3, 3, 1)
		// Two tasks finish in 4s and 6s: the median is 6s, the threshold 9s.
		var slow Send
		for i, snd := range maps {
			if i < 2 {
				s.StatusReceived(at(time.Duration(4+2*i)*sec), finished(snd))
			} else {
				slow = snd
			}
		}
		beatAll(s, at(9*sec), 101, 102, 103, 104)
		if acts := s.Tick(at(9 * sec)); len(acts) != 0 {
			t.Errorf("Tick at 9s returned %s, want none (threshold 9s)", describe(acts))
		}
		acts := s.Tick(at(9*sec + time.Nanosecond))
		copies := sendsOf(acts, protocol.TypeNewWorkerJob)
		if len(copies) != 1 || !slices.Equal(inputsOf(copies[0]), inputsOf(slow)) {
			t.Errorf("Tick past 9s returned %s, want one copy of the slow task", describe(acts))
		}
		checkAttempts(t, s)
	})
}

func TestCombiner(t *testing.T) {
	s := newScheduler()
	register(s, t0, 101)
	register(s, t0, 102)
	sp := spec(3, 2)
	sp.CombinerExecutable = "/bin/combine"
	_, acts := s.Submit(t0, sp)
	dirs := actionsOf[MakeJobDirs](acts)
	if len(dirs) != 1 || !slices.Contains(dirs[0].Dirs, "/v/job-0/combiner-output") {
		t.Fatalf("Submit returned %s, want combiner-output among the dirs", describe(acts))
	}
	scans := actionsOf[ScanInput](acts)
	if len(scans) != 1 || !slices.Equal(scans[0].Executables, []string{"/bin/map", "/bin/reduce", "/bin/combine"}) {
		t.Fatalf("ScanInput %+v, want the combiner checked too", scans)
	}
	maps := sendsOf(s.InputScanned(at(sec), 0, inputFiles(5), nil), protocol.TypeNewWorkerJob)
	if len(maps) != 3 {
		t.Fatalf("%d map tasks", len(maps))
	}
	for _, snd := range maps {
		acts = s.StatusReceived(at(2*sec), finished(snd))
	}
	// One sort task per map task, over that task's outputs.
	sorts := sendsOf(acts, protocol.TypeNewSortJob)
	if len(sorts) != 3 {
		t.Fatalf("last map status returned %s, want one sort per map task", describe(acts))
	}
	var wantSorts []string
	for _, m := range maps {
		var outs []string
		for _, in := range inputsOf(m) {
			outs = append(outs, "/v/job-0/mapper-output/"+filepath.Base(in))
		}
		wantSorts = append(wantSorts, key(outs))
	}
	slices.Sort(wantSorts)
	if got := inputSets(sorts); !slices.Equal(got, wantSorts) {
		t.Errorf("sort inputs %q, want %q", got, wantSorts)
	}
	for _, snd := range sorts {
		acts = s.StatusReceived(at(3*sec), finished(snd))
	}
	// Then the combiner over each sorted file.
	combines := sendsOf(acts, protocol.TypeNewWorkerJob)
	if len(combines) != 3 || len(acts) != 3 {
		t.Fatalf("last sort status returned %s, want 3 combine tasks", describe(acts))
	}
	var sortOuts, wantMerge []string
	for _, snd := range sorts {
		out := snd.Msg.(protocol.NewSortJob).OutputFile
		sortOuts = append(sortOuts, out)
		wantMerge = append(wantMerge, "/v/job-0/combiner-output/"+filepath.Base(out))
	}
	slices.Sort(sortOuts)
	slices.Sort(wantMerge)
	if got := inputSets(combines); !slices.Equal(got, sortOuts) {
		t.Errorf("combine inputs %q, want the sorted files %q", got, sortOuts)
	}
	for _, snd := range combines {
		m := snd.Msg.(protocol.NewWorkerJob)
		if m.Executable != "/bin/combine" || m.OutputDirectory != "/v/job-0/combiner-output" {
			t.Errorf("combine Send %+v", m)
		}
	}
	wantJobState(t, s, 0, protocol.JobGrouping)
	for _, snd := range combines {
		acts = s.StatusReceived(at(4*sec), finished(snd))
	}
	merges := actionsOf[Merge](acts)
	if len(merges) != 1 || len(acts) != 1 {
		t.Fatalf("last combine status returned %s, want Merge", describe(acts))
	}
	slices.Sort(merges[0].Inputs)
	if !slices.Equal(merges[0].Inputs, wantMerge) || merges[0].Reducers != 2 {
		t.Errorf("Merge %+v, want the combiner outputs %q", merges[0], wantMerge)
	}
	acts = s.Merged(at(5*sec), 0, nil)
	reduces := sendsOf(acts, protocol.TypeNewWorkerJob)
	if len(reduces) != 2 || reduces[0].Msg.(protocol.NewWorkerJob).Executable != "/bin/reduce" {
		t.Fatalf("Merged returned %s, want 2 reduce tasks", describe(acts))
	}
	j := jobInfo(t, s, 0)
	wantPhase(t, j, "combine", 3, 3)
	checkAttempts(t, s)
}

// TestReduceWhileMerging: a partition the merge has finished is reduced at
// once; the rest follow when the merge ends, and the job completes.
func TestReduceWhileMerging(t *testing.T) {
	s := newScheduler()
	maps := startJob(t, s, []int{101, 102}, 2, 2, 3)
	var acts []Action
	for _, snd := range maps {
		acts = s.StatusReceived(at(sec), finished(snd))
	}
	for _, snd := range sendsOf(acts, protocol.TypeNewSortJob) {
		acts = s.StatusReceived(at(2*sec), finished(snd))
	}
	if len(actionsOf[Merge](acts)) != 1 {
		t.Fatalf("last sort returned %s, want a Merge", describe(acts))
	}
	acts = s.PartitionMerged(at(3*sec), 0, 0)
	early := sendsOf(acts, protocol.TypeNewWorkerJob)
	if len(early) != 1 || !strings.HasSuffix(inputsOf(early[0])[0], "/input_0") {
		t.Fatalf("PartitionMerged(0) returned %s, want the reduce task of input_0", describe(acts))
	}
	if got := s.PartitionMerged(at(3*sec), 0, 0); len(got) != 0 {
		t.Errorf("the same partition again returned %s", describe(got))
	}
	done := s.StatusReceived(at(4*sec), finished(early[0]))
	if len(done) != 0 {
		t.Errorf("reduce 0 finishing during the merge returned %s", describe(done))
	}
	j := wantJobState(t, s, 0, protocol.JobGrouping)
	wantPhase(t, j, "reduce", 1, 3) // every reduce task counted while merging
	acts = s.Merged(at(5*sec), 0, nil)
	rest := sendsOf(acts, protocol.TypeNewWorkerJob)
	if len(rest) != 2 {
		t.Fatalf("Merged returned %s, want the reduce tasks of input_1 and input_2", describe(acts))
	}
	for _, snd := range rest {
		acts = s.StatusReceived(at(6*sec), finished(snd))
	}
	moves := actionsOf[MoveOutputs](acts)
	if len(moves) != 1 || len(moves[0].Files) != 3 {
		t.Fatalf("last reduce returned %s, want a MoveOutputs of 3 files", describe(acts))
	}
	checkAttempts(t, s)
}
