package worker_test

import (
	"fmt"
	"mapreduce/internal/testutil"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mapreduce/protocol"
)

// TestReportsOnlyToAMasterThatTakesThem: a program's counters, status line
// and log reach a master that announced CapReport, with the built-in
// counters; a reference master's status carries none of them.
func TestReportsOnlyToAMasterThatTakesThem(t *testing.T) {
	for _, reference := range []bool{false, true} {
		m := newFakeMaster(t, 0)
		m.reference = reference
		m.listen()
		w := m.start(m.config())
		base := t.TempDir()
		prog := script(t, base, "count", `n=0
while IFS= read -r line; do n=$((n+1)); echo "$line"; echo "reporter:counter:my,lines,1" >&2; done
echo "reporter:status:read $n" >&2
echo "done reading" >&2
`)
		inputs := writeInputs(t, base, []string{"a.txt", "b.txt"}, func(name string) string { return "x\ny\nz\n" })
		out := filepath.Join(base, "out")
		if err := os.Mkdir(out, 0o755); err != nil {
			t.Fatal(err)
		}
		m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs, Executable: prog, OutputDirectory: out, WorkerPID: workerPID,
			Task: &protocol.TaskIdentity{JobID: 1, Stage: protocol.PhaseMap, Index: 0, Attempt: 1}})
		status := m.status(t)
		if status.Status != protocol.StatusFinished {
			t.Fatalf("status %+v", status)
		}
		if reference {
			if status.Report.Counters != nil || status.StatusLine != "" || status.Log != "" {
				t.Errorf("a reference master got a report: %+v", status.Report)
			}
			continue
		}
		want := map[string]int64{"my/lines": 6, "mapreduce/map_input_records": 6, "mapreduce/map_input_bytes": 12,
			"mapreduce/map_output_records": 6, "mapreduce/map_output_bytes": 12}
		for k, v := range want {
			g, n, _ := strings.Cut(k, "/")
			if got := status.Counters[g][n]; got != v {
				t.Errorf("counter %s = %d, want %d (%v)", k, got, v, status.Counters)
			}
		}
		if status.StatusLine != "read 3" || status.Log != "done reading\ndone reading\n" {
			t.Errorf("status line %q and log %q, want %q and the two programs' last lines", status.StatusLine, status.Log, "read 3")
		}
	}
}

// TestKilledTaskSendsItsLog: a task that cancel_task kills sends what it
// wrote to stderr to a master that takes reports, and no status.
func TestKilledTaskSendsItsLog(t *testing.T) {
	m, w := startWorker(t)
	base := t.TempDir()
	// The log line comes first: once the status line shows, it is in.
	prog := script(t, base, "stuck", "echo 'waiting for a lock' >&2\necho 'reporter:status:stuck' >&2\nsleep 60\n")
	inputs := writeInputs(t, base, []string{"a.txt"}, func(string) string { return "x\n" })
	out := filepath.Join(base, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	m.send(t, w, protocol.NewWorkerJob{InputFiles: inputs, Executable: prog, OutputDirectory: out, WorkerPID: workerPID})
	output := out + "/a.txt"
	// Wait for the program to have written, as a heartbeat's status line says.
	deadline := time.Now().Add(5 * time.Second)
	for seen := false; !seen; {
		select {
		case hb := <-m.beats:
			for _, p := range hb.Tasks {
				seen = seen || p.StatusLine == "stuck"
			}
		case <-time.After(time.Until(deadline)):
			t.Fatal("no heartbeat gave the task's status line")
		}
	}
	m.send(t, w, protocol.CancelTask{Output: output})
	select {
	case got := <-m.killed:
		if got.Output != output || got.Log != "waiting for a lock\n" || got.StatusLine != "stuck" || got.Counters != nil {
			t.Errorf("attempt log %+v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no attempt log from the killed task")
	}
	select {
	case st := <-m.statuses:
		t.Errorf("a killed task sent a status %+v", st)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestSortTaskCountsItsBytes: a sort task reports the built-in counters of
// the sort phase, its inputs' bytes and its output's lines and bytes, as a
// program task does, so that the job page can show each task's bytes.
func TestSortTaskCountsItsBytes(t *testing.T) {
	m, w := startWorker(t)
	base := t.TempDir()
	inputs := writeInputs(t, base, []string{"m1", "m2"}, func(name string) string {
		if name == "m1" {
			return "b\t1\na\t2\n"
		}
		return "c\na\t1" // no newline at the end: the sort adds one
	})
	output := filepath.Join(base, "sorted_0")
	m.send(t, w, protocol.NewSortJob{InputFiles: inputs, OutputFile: output, WorkerPID: workerPID,
		Task: &protocol.TaskIdentity{JobID: 1, Stage: protocol.PhaseSort, Index: 0, Attempt: 1}})
	status := m.status(t)
	if status.Status != protocol.StatusFinished {
		t.Fatalf("status %+v", status)
	}
	want := protocol.TaskIO{InputRecords: 4, InputBytes: 13, OutputRecords: 4, OutputBytes: 14}
	if got := protocol.TaskIOFrom(status.Counters, protocol.PhaseSort); got == nil || *got != want {
		t.Errorf("sort counters %v, want %+v", status.Counters, want)
	}
}

// TestStatusSentUntilAcknowledged: to a master that acknowledges reports,
// a status that the master refuses (it is stopping, it does not know the
// worker yet) goes again, with backoff, until it is acknowledged, and not
// after.
func TestStatusSentUntilAcknowledged(t *testing.T) {
	m := newFakeMaster(t, 0)
	m.acks, m.refuse = true, 3
	m.listen()
	w := m.start(m.config())
	m.send(t, w, catJob(t, 0))
	if status := m.status(t); status.Status != protocol.StatusFinished {
		t.Fatalf("status %+v", status)
	}
	m.mu.Lock()
	sent, left := m.sent, m.refuse
	m.mu.Unlock()
	if left != 0 || sent != 4 {
		t.Errorf("%d statuses sent, %d refusals left; want 4 sent, 0 left", sent, left)
	}
	select {
	case again := <-m.statuses:
		t.Errorf("an acknowledged status went again: %+v", again)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestUnansweredReportsMeanAReferenceMaster: a master that announced
// CapAck but reads statuses without answering (a reference master took
// its port) gets each status at most maxUnanswered times, and the next
// ones once, the reference way.
func TestUnansweredReportsMeanAReferenceMaster(t *testing.T) {
	m := newFakeMaster(t, 0)
	m.acks, m.silent = true, true
	m.listen()
	w := m.start(m.config())
	sent := func(n int) {
		testutil.WaitFor(t, 10*time.Second, fmt.Sprintf("%d statuses", n), func() bool {
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.sent >= n
		})
	}
	m.send(t, w, catJob(t, 0))
	sent(3)
	m.send(t, w, catJob(t, 1))
	sent(4)
	time.Sleep(300 * time.Millisecond) // none more: a negative, which only a wait can show
	var got []int
	for len(m.statuses) > 0 {
		got = append(got, (<-m.statuses).Task.Index)
	}
	if want := []int{0, 0, 0, 1}; !slices.Equal(got, want) {
		t.Errorf("statuses of tasks %v came, want %v: the first unanswered 3 times, then the next once", got, want)
	}
}

// catJob is a map task of job 1 that runs cat over a file of its own.
func catJob(t *testing.T, index int) protocol.NewWorkerJob {
	base := t.TempDir()
	prog := script(t, base, "cat", "cat\n")
	inputs := writeInputs(t, base, []string{"a.txt"}, func(string) string { return "x\n" })
	out := filepath.Join(base, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return protocol.NewWorkerJob{InputFiles: inputs, Executable: prog, OutputDirectory: out, WorkerPID: workerPID,
		Task: &protocol.TaskIdentity{JobID: 1, Stage: protocol.PhaseMap, Index: index, Attempt: 1}}
}
