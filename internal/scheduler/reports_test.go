package scheduler

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/protocol"
)

// reported is a finished status that reports n lines in counter wc/lines
// and logs text.
func reported(s Send, n int64, log string) protocol.Status {
	st := finished(s)
	st.Counters = protocol.Counters{"wc": {"lines": n}}
	st.Log = log
	return st
}

func TestCountersOfAcceptedAttemptsOnly(t *testing.T) {
	s := newScheduler()
	maps := startJob(t, s, []int{101, 102}, 4, 2, 1)
	// A retry status of a map task counts nothing; its rerun does.
	retried := retry(maps[0], "open: no such file", "/in/file_000.txt")
	retried.Counters = protocol.Counters{"wc": {"lines": 1000}}
	acts := s.StatusReceived(at(sec), retried)
	rerun := sendsOf(acts, protocol.TypeNewWorkerJob)
	if len(rerun) != 1 {
		t.Fatalf("retry returned %s, want the task again", describe(acts))
	}
	s.StatusReceived(at(2*sec), reported(rerun[0], 10, ""))
	acts = s.StatusReceived(at(2*sec), reported(maps[1], 20, ""))
	if got := jobInfo(t, s, 0).Counters["wc"]["lines"]; got != 30 {
		t.Errorf("wc/lines %d after both map tasks, want 30", got)
	}
	// A sort task finds a map output lost: its map task runs again, and
	// its counters replace the first run's, not add to them.
	sorts := sendsOf(acts, protocol.TypeNewSortJob)
	var lost string
	var producer int64
	for _, snd := range sorts {
		if in := inputsOf(snd); strings.Contains(in[0], "file_000") || strings.Contains(in[0], "file_001") {
			lost = in[0]
			acts = s.StatusReceived(at(3*sec), retry(snd, "open: no such file", lost))
			break
		}
	}
	again := sendsOf(acts, protocol.TypeNewWorkerJob)
	if len(again) != 1 {
		t.Fatalf("lost input %s: %s, want its map task again", lost, describe(acts))
	}
	if inputsOf(again[0])[0] == inputsOf(rerun[0])[0] {
		producer = 10
	} else {
		producer = 20
	}
	s.StatusReceived(at(4*sec), reported(again[0], producer, ""))
	if got := jobInfo(t, s, 0).Counters["wc"]["lines"]; got != 30 {
		t.Errorf("wc/lines %d after a map task ran again, want 30 (counted once)", got)
	}
}

func TestCountersNotFromLosers(t *testing.T) {
	s := newScheduler()
	maps := startJob(t, s, []int{101, 102}, 2, 2, 1)
	// Worker 101 dies with its task: the task runs on 102; 101's status,
	// sent after, counts nothing.
	var on101 Send
	for _, snd := range maps {
		if snd.PID == 101 {
			on101 = snd
		} else {
			s.StatusReceived(at(sec), reported(snd, 5, ""))
		}
	}
	s.Heartbeat(at(5*sec), protocol.Heartbeat{WorkerPID: 102})
	acts := s.Tick(at(7 * sec))
	moved := sendsOf(acts, protocol.TypeNewWorkerJob)
	if len(moved) != 1 || moved[0].PID != 102 {
		t.Fatalf("worker 101's death returned %s, want its task on 102", describe(acts))
	}
	s.StatusReceived(at(8*sec), reported(on101, 1000, ""))
	s.StatusReceived(at(8*sec), reported(moved[0], 7, ""))
	s.StatusReceived(at(9*sec), reported(on101, 1000, "")) // after the copy too
	if got := jobInfo(t, s, 0).Counters["wc"]["lines"]; got != 12 {
		t.Errorf("wc/lines %d, want 12: a dead worker's status counts nothing", got)
	}
}

// TestCountersNotFromSupersededCopy: of a task and its speculative copy,
// the one that finishes second had finished before the cancel_task sent
// when the other won could reach it; its status, with counters and a
// log, comes after the winner's. Its counters count for nothing: the
// job's are the winner's, once.
func TestCountersNotFromSupersededCopy(t *testing.T) {
	for _, copyWins := range []bool{true, false} {
		t.Run(fmt.Sprintf("copy wins %v", copyWins), func(t *testing.T) {
			s := speculating(10 * sec)
			maps := startJob(t, s, []int{101, 102}, 1, 1, 1)
			beatAll(s, at(5*sec), 101, 102)
			beatAll(s, at(10*sec), 101, 102)
			copies := sendsOf(s.Tick(at(10*sec+time.Nanosecond)), protocol.TypeNewWorkerJob)
			if len(copies) != 1 {
				t.Fatalf("Tick past the threshold sent %d copies, want one", len(copies))
			}
			// Attempt 0 is the original, 1 the copy.
			winner, loser, lost := maps[0], copies[0], 1
			if copyWins {
				winner, loser, lost = loser, winner, 0
			}
			acts := s.StatusReceived(at(11*sec), reported(winner, 10, ""))
			if len(sendsOf(acts, protocol.TypeNewSortJob)) != 1 {
				t.Fatalf("winner's status returned %s, want the sort task", describe(acts))
			}
			s.StatusReceived(at(11*sec), reported(loser, 1000, "the loser's log\n"))
			if got := jobInfo(t, s, 0).Counters["wc"]["lines"]; got != 10 {
				t.Errorf("wc/lines %d, want 10: the superseded copy's counters count for nothing", got)
			}
			task := taskOf(t, s, 0, "map", 0)
			if task.State != "done" || len(task.Attempts) != 2 {
				t.Fatalf("task %+v, want done after two attempts", task)
			}
			if task.Attempts[lost].Outcome != OutcomeSuperseded {
				t.Errorf("loser's attempt %+v, want superseded", task.Attempts[lost])
			}
		})
	}
}

func TestTaskLogsKeptAndPruned(t *testing.T) {
	cfg := testConfig
	cfg.KeepLogs = 1
	s := New(cfg, zerolog.Nop())
	maps := startJob(t, s, []int{101}, 1, 1, 1)
	acts := s.StatusReceived(at(sec), reported(maps[0], 3, "warning: odd line\n"))
	logs := actionsOf[KeepLog](acts)
	want := []KeepLog{{Job: 0, Path: "/v/logs/job-0/map-0.1.log", Text: "warning: odd line\n"}}
	if !reflect.DeepEqual(logs, want) {
		t.Errorf("KeepLog actions %+v, want %+v", logs, want)
	}
	if a := taskOf(t, s, 0, "map", 0).Attempts[0]; !a.Log {
		t.Errorf("attempt %+v does not say its log is kept", a)
	}
	// The job fails in its sort stage: a failed status's log is kept too,
	// and the job's error says where it is.
	sorts := sendsOf(acts, protocol.TypeNewSortJob)
	bad := failed(sorts[0], "sort: disk full")
	bad.Log = "sort said no\n"
	acts = s.StatusReceived(at(2*sec), bad)
	if len(actionsOf[KeepLog](acts)) != 1 || len(actionsOf[RemoveLogs](acts)) != 0 {
		t.Errorf("failed status returned %s, want one KeepLog and no RemoveLogs (1 job kept)", describe(acts))
	}
	j := wantJobState(t, s, 0, protocol.JobFailed)
	if !strings.Contains(j.Errors[0], "its log: task sort-0, attempt 1") {
		t.Errorf("job error %q does not point to the task's log", j.Errors[0])
	}
	if err := s.LogsKept(0); err != nil {
		t.Errorf("LogsKept(0) = %v, want nil", err)
	}
	// Job 1 ends with logs: job 0's go.
	s.Submit(at(3*sec), spec(1, 1))
	acts = s.InputScanned(at(3*sec), 1, inputFiles(1), nil)
	m := sendsOf(acts, protocol.TypeNewWorkerJob)
	acts = s.StatusReceived(at(4*sec), reported(m[0], 1, "x\n"))
	sorts = sendsOf(acts, protocol.TypeNewSortJob)
	acts = s.StatusReceived(at(5*sec), failed(sorts[0], "again"))
	if got := actionsOf[RemoveLogs](acts); !reflect.DeepEqual(got, []RemoveLogs{{Job: 0, Dir: "/v/logs/job-0"}}) {
		t.Errorf("job 1's end removed logs %+v, want job 0's", got)
	}
	if err := s.LogsKept(0); err == nil || !strings.Contains(err.Error(), "removed") {
		t.Errorf("LogsKept(0) = %v, want an error saying they were removed", err)
	}
	if a := taskOf(t, s, 0, "map", 0).Attempts[0]; a.Log {
		t.Error("a removed log is still offered")
	}
	if err := s.LogsKept(7); err == nil {
		t.Error("LogsKept of no job is nil")
	}
}

func TestStatusLines(t *testing.T) {
	s := newScheduler()
	s.Register(t0, protocol.Register{WorkerHost: "localhost", WorkerPort: port(101), WorkerPID: 101, Capabilities: []string{protocol.CapProgress}})
	s.Submit(t0, spec(1, 1))
	maps := sendsOf(s.InputScanned(t0, 0, inputFiles(1), nil), protocol.TypeNewWorkerJob)
	output := "/v/job-0/mapper-output/file_000.txt"
	s.Heartbeat(at(sec), protocol.Heartbeat{WorkerPID: 101, Tasks: []protocol.TaskProgress{{Output: output, Progress: 1, StatusLine: "halfway"}}})
	if a := taskOf(t, s, 0, "map", 0).Attempts[0]; a.StatusLine != "halfway" {
		t.Errorf("status line %q after a heartbeat, want %q", a.StatusLine, "halfway")
	}
	// A heartbeat without one keeps the last; the final status sets it.
	s.Heartbeat(at(2*sec), protocol.Heartbeat{WorkerPID: 101, Tasks: []protocol.TaskProgress{{Output: output, Progress: 2}}})
	st := finished(maps[0])
	st.StatusLine = strings.Repeat("d", 2*protocol.MaxStatusLine)
	s.StatusReceived(at(3*sec), st)
	if a := taskOf(t, s, 0, "map", 0).Attempts[0]; a.StatusLine != strings.Repeat("d", protocol.MaxStatusLine) {
		t.Errorf("status line %q after the status, want it clipped to %d bytes", a.StatusLine, protocol.MaxStatusLine)
	}
}

// TestCountersBoundedPerJob: tasks whose counters together pass
// MaxCounters keep the built-in ones, and the job says how many it dropped.
func TestCountersBoundedPerJob(t *testing.T) {
	s := newScheduler()
	maps := startJob(t, s, []int{101}, 3, 3, 1)
	for i, snd := range maps {
		st := finished(snd)
		st.Counters = protocol.Counters{"files": {}, protocol.CounterGroup: {protocol.BuiltinCounter("map", "input_records"): 2, "forged": 9}}
		for k := range 50 {
			st.Counters["files"][fmt.Sprintf("part-%d-%d", i, k)] = 1
		}
		s.StatusReceived(at(sec), st)
	}
	j := jobInfo(t, s, 0)
	if got := j.Counters.Len(); got != protocol.MaxCounters {
		t.Errorf("%d counters, want MaxCounters (%d)", got, protocol.MaxCounters)
	}
	if got := j.Counters[protocol.CounterGroup]["map_input_records"]; got != 6 {
		t.Errorf("map_input_records %d, want 6 although the program's counters filled the bound", got)
	}
	if j.CountersDropped != 30+3 {
		t.Errorf("counters_dropped %d, want 33 (30 past the bound, 3 forged built-ins)", j.CountersDropped)
	}
}

func TestBriefSnapshot(t *testing.T) {
	s := newScheduler()
	maps := startJob(t, s, []int{101}, 2, 2, 1)
	s.StatusReceived(at(sec), reported(maps[0], 4, ""))
	for _, id := range []*int{intPtr(0), nil} {
		st, ok := s.Snapshot(id, true)
		if !ok || len(st.Jobs) != 1 {
			t.Fatalf("Snapshot(%v, brief): ok %t, %d jobs", id, ok, len(st.Jobs))
		}
		j := st.Jobs[0]
		if len(j.Tasks) != 0 || j.Counters["wc"]["lines"] != 4 || phaseOf(j, "map").Done != 1 || len(st.Workers) != 1 {
			t.Errorf("brief snapshot %+v: want no tasks, the counters, the phases and the workers", st)
		}
	}
}

// TestKilledAttemptLogs: the log of an attempt that cancel_task killed is
// kept with that attempt, even once its job has failed; a finished or
// running attempt, or an unknown task, takes none.
func TestKilledAttemptLogs(t *testing.T) {
	cfg := testConfig
	cfg.TaskTimeout, cfg.MaxAttempts, cfg.KeepLogs = 10*sec, 2, 1
	s := New(cfg, zerolog.Nop())
	for _, pid := range []int{101, 102} {
		s.Register(t0, protocol.Register{WorkerHost: "localhost", WorkerPort: port(pid), WorkerPID: pid, Capabilities: []string{protocol.CapCancel}})
	}
	s.Submit(t0, spec(1, 1))
	first := sendsOf(s.InputScanned(t0, 0, inputFiles(1), nil), protocol.TypeNewWorkerJob)[0]
	output := "/v/job-0/mapper-output/file_000.txt"
	killed := func(pid int, text string) protocol.AttemptLog {
		return protocol.AttemptLog{Output: output, WorkerPID: pid, Report: protocol.Report{Log: text, StatusLine: "stuck"}}
	}
	// While the attempt runs, a log for it is not taken.
	if acts := s.AttemptLogReceived(at(sec), killed(first.PID, "early\n")); len(acts) != 0 {
		t.Errorf("a log for a running attempt returned %s", describe(acts))
	}
	for _, pid := range []int{101, 102} {
		s.Heartbeat(at(11*sec), protocol.Heartbeat{WorkerPID: pid})
	}
	again := sendsOf(s.Tick(at(11*sec)), protocol.TypeNewWorkerJob)
	if len(again) != 1 {
		t.Fatal("the attempt did not time out")
	}
	acts := s.AttemptLogReceived(at(12*sec), killed(first.PID, "lock\n"))
	if got := actionsOf[KeepLog](acts); len(got) != 1 || got[0].Path != "/v/logs/job-0/map-0.1.log" || got[0].Text != "lock\n" {
		t.Errorf("killed attempt's log: %s, want KeepLog of map-0.1", describe(acts))
	}
	if acts := s.AttemptLogReceived(at(12*sec), killed(first.PID, "again\n")); len(acts) != 0 {
		t.Errorf("a second log for the same attempt returned %s", describe(acts))
	}
	// The second attempt times out too: the job fails; its log still comes.
	for _, pid := range []int{101, 102} {
		s.Heartbeat(at(32*sec), protocol.Heartbeat{WorkerPID: pid})
	}
	s.Tick(at(32 * sec))
	wantJobState(t, s, 0, protocol.JobFailed)
	acts = s.AttemptLogReceived(at(33*sec), killed(again[0].PID, "lock again\n"))
	if got := actionsOf[KeepLog](acts); len(got) != 1 || got[0].Path != "/v/logs/job-0/map-0.2.log" {
		t.Errorf("the failed job's last attempt's log: %s, want KeepLog of map-0.2", describe(acts))
	}
	task := taskOf(t, s, 0, "map", 0)
	if a := task.Attempts; !a[0].Log || !a[1].Log || a[1].StatusLine != "stuck" || !jobInfo(t, s, 0).Logs {
		t.Errorf("attempts %+v, want both logged with their status line", a)
	}
	if acts := s.AttemptLogReceived(at(33*sec), protocol.AttemptLog{Output: "/v/job-9/x", WorkerPID: 101, Report: protocol.Report{Log: "x"}}); len(acts) != 0 {
		t.Errorf("a log for no task returned %s", describe(acts))
	}
}

// TestLateStatusKeepsItsLog: a status that comes after its job failed (the
// task was cancelled) counts for nothing, but its log is kept.
func TestLateStatusKeepsItsLog(t *testing.T) {
	cfg := testConfig
	cfg.KeepLogs = 1
	s := New(cfg, zerolog.Nop())
	maps := startJob(t, s, []int{101, 102}, 2, 2, 1)
	first := failed(maps[0], "exit 1")
	first.Log = "bad input\n"
	s.StatusReceived(at(sec), first)
	wantJobState(t, s, 0, protocol.JobFailed)
	late := failed(maps[1], "exit 1")
	late.Log = "bad input too\n"
	late.Counters = protocol.Counters{"wc": {"lines": 3}}
	acts := s.StatusReceived(at(2*sec), late)
	i := mapIndex(t, maps[1], 2)
	want := fmt.Sprintf("/v/logs/job-0/map-%d.1.log", i)
	if got := actionsOf[KeepLog](acts); len(got) != 1 || got[0].Path != want || got[0].Text != "bad input too\n" {
		t.Errorf("late status returned %s, want KeepLog to %s", describe(acts), want)
	}
	if j := jobInfo(t, s, 0); j.Counters != nil {
		t.Errorf("a late status counted: %v", j.Counters)
	}
}

// TestSnapshotOfAJobsPage: a job asked for with its tasks carries what its
// page shows: each finished task's bytes from its built-in counters, the
// job's programs and counts, and its stages' times; a brief one none of it.
func TestSnapshotOfAJobsPage(t *testing.T) {
	s := newScheduler()
	maps := startJob(t, s, []int{101}, 2, 2, 1)
	st := finished(maps[0])
	st.Counters = protocol.Counters{protocol.CounterGroup: {"map_input_bytes": 120, "map_output_bytes": 300, "map_input_records": 4, "map_output_records": 12}}
	s.StatusReceived(at(sec), st)
	j := jobInfo(t, s, 0)
	var io []*protocol.TaskIO
	for _, task := range j.Tasks {
		if task.Phase == "map" {
			io = append(io, task.IO)
		}
	}
	want := protocol.TaskIO{InputRecords: 4, InputBytes: 120, OutputRecords: 12, OutputBytes: 300}
	if len(io) != 2 || (io[0] == nil) == (io[1] == nil) || cmpIO(io[0], io[1]) != want {
		t.Errorf("map tasks' io %v, want one finished with %+v and one running with none", io, want)
	}
	if j.MapperExecutable == "" || j.ReducerExecutable == "" || j.NumMappers != 2 || j.NumReducers != 1 {
		t.Errorf("job's programs and counts not listed: %+v", j)
	}
	if len(j.Stages) == 0 || j.Stages[0].Name != "map" || j.Stages[0].Started == nil || j.Stages[0].Ended != nil {
		t.Errorf("stages %+v, want map first, begun, not ended", j.Stages)
	}
	brief, _ := s.Snapshot(intPtr(0), true)
	if b := brief.Jobs[0]; b.Stages != nil || b.MapperExecutable != "" {
		t.Errorf("a brief snapshot lists the job's stages or programs: %+v", b)
	}
}

func cmpIO(a, b *protocol.TaskIO) protocol.TaskIO {
	if a != nil {
		return *a
	}
	return *b
}
