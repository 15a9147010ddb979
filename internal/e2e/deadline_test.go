package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// running lists the pids of processes whose command line contains marker.
func running(t *testing.T, marker string) []int {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !strings.Contains(strings.ReplaceAll(string(cmdline), "\x00", " "), marker) {
			continue
		}
		// A zombie has ended; only its parent has not reaped it yet.
		if stat, err := os.ReadFile(filepath.Join(d, "stat")); err == nil && strings.Contains(string(stat), ") Z ") {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		pids = append(pids, pid)
	}
	return pids
}

// waitGone waits until no process runs with marker in its command line.
func waitGone(t *testing.T, marker string) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, "no process running "+marker, func() bool { return len(running(t, marker)) == 0 })
}

// hangingMapper writes a mapper that reads nothing and sleeps for good in a
// child process, with a marker of its own in the child's command line.
func hangingMapper(t *testing.T, marker string) string {
	return script(t, t.TempDir(), "hang", fmt.Sprintf("echo 'waiting for a lock that never comes' >&2\nsleep %s &\nwait\n", marker), 0o755)
}

// uniqueSleep is a sleep duration no other process on the machine uses.
func uniqueSleep() string { return fmt.Sprintf("%d", 1_000_000+time.Now().UnixNano()%1_000_000) }

// TestHungProgramTimesOut: a mapper that never reads or writes is killed
// (with its children) after --task-timeout, runs again on another worker
// with twice the time, and after --max-attempts the job fails saying why;
// what each killed attempt wrote to stderr is kept as its log; the next
// job runs.
func TestHungProgramTimesOut(t *testing.T) {
	// Long enough for the mapper to start and write its stderr line under
	// a loaded machine's race-detected test run: that line is the log the
	// test waits for.
	c := newCluster(t, "--task-timeout", "1500ms", "--max-attempts", "2")
	c.startWorker()
	c.startWorker()
	good := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 2, reducers: 2}
	marker := uniqueSleep()
	hung := good
	hung.mapper, hung.mappers = hangingMapper(t, marker), 1
	id, _ := c.submit(hung)
	info := c.waitJob(id, 30*time.Second)
	errs := strings.Join(info.Errors, "; ")
	if info.State != protocol.JobFailed || !strings.Contains(errs, "made no progress in 2 attempts") ||
		!strings.Contains(errs, "--task-timeout 1.5s") {
		t.Fatalf("job ended %s with %q; want failed, naming the attempts and the timeout", info.State, errs)
	}
	var workers []int
	for _, task := range info.Tasks {
		for _, a := range task.Attempts {
			if a.Outcome != "timed_out" {
				t.Errorf("attempt of %s task %d ended %q, want timed_out", task.Phase, task.Index, a.Outcome)
			}
			workers = append(workers, a.WorkerPID)
		}
	}
	if len(workers) != 2 || workers[0] == workers[1] {
		t.Errorf("attempts ran on workers %v, want two attempts on two workers", workers)
	}
	if !strings.Contains(errs, "task map-0") {
		t.Errorf("the job's error %q does not say where the attempts' logs are", errs)
	}
	testutil.WaitFor(t, 10*time.Second, "the killed attempts' logs", func() bool {
		reply, err := c.request(c.addr(), protocol.TaskLogsRequest{JobID: id, Task: "map-0"})
		logs, ok := reply.(protocol.TaskLogs)
		if err != nil || !ok || len(logs.Logs) < 2 {
			return false
		}
		for i, l := range logs.Logs {
			if l.Attempt != i+1 || !strings.Contains(l.Text, "waiting for a lock that never comes") {
				t.Fatalf("log %d: %+v", i, l)
			}
		}
		return true
	})
	waitGone(t, "sleep "+marker)
	id, out := c.submit(good)
	c.waitDone(good, id, out)
}

// TestCancelRunningJob: sendjob --cancel ends a running job as cancelled,
// kills its programs and their children, and the next job runs.
func TestCancelRunningJob(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	good := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 2, reducers: 2}
	marker := uniqueSleep()
	hung := good
	hung.mapper = hangingMapper(t, marker)
	id, _ := c.submit(hung)
	testutil.WaitFor(t, 10*time.Second, "the hanging mapper to run", func() bool { return len(running(t, "sleep "+marker)) > 0 })
	cmd := exec.Command(filepath.Join(binDir, "sendjob"), "--cancel", strconv.Itoa(c.port), strconv.Itoa(id))
	text, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(text), "cancelled") {
		t.Fatalf("sendjob --cancel: %v\n%s", err, text)
	}
	if info := c.waitJob(id, 10*time.Second); info.State != protocol.JobCancelled {
		t.Errorf("job ended %s, want cancelled", info.State)
	}
	waitGone(t, "sleep "+marker)
	again := exec.Command(filepath.Join(binDir, "sendjob"), "--cancel", strconv.Itoa(c.port), strconv.Itoa(id))
	if text, err := again.CombinedOutput(); err == nil || !strings.Contains(string(text), "has ended") {
		t.Errorf("cancelling an ended job: %v, %s; want an error saying it has ended", err, text)
	}
	id, out := c.submit(good)
	c.waitDone(good, id, out)
}

// TestStderrFlood: a mapper that writes 17 MB to stderr and fails fails
// its job with the tail of its stderr only; status replies stay small and
// the next job runs.
func TestStderrFlood(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	good := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 2, reducers: 2}
	flood := good
	flood.mapper = script(t, t.TempDir(), "flood", "head -c 17000000 /dev/zero | tr '\\0' x >&2\necho ' the end' >&2\nexit 3\n", 0o755)
	for range 2 {
		id, _ := c.submit(flood)
		info := c.waitJob(id, 30*time.Second)
		errs := strings.Join(info.Errors, "; ")
		if info.State != protocol.JobFailed || !strings.Contains(errs, "exit status 3") || !strings.Contains(errs, "the end") {
			t.Fatalf("job ended %s with %.200q; want failed with the exit status and the end of stderr", info.State, errs)
		}
		if len(errs) > 8<<10 {
			t.Errorf("job's errors are %d bytes; want the tail of stderr only", len(errs))
		}
	}
	id, out := c.submit(good)
	c.waitDone(good, id, out)
}

// TestShutdownKillsPrograms: sendjob --shutdown stops the workers, and with
// them their programs and the programs' children.
func TestShutdownKillsPrograms(t *testing.T) {
	c := newCluster(t)
	w := c.startWorker()
	marker := uniqueSleep()
	hung := job{input: "input", mapper: hangingMapper(t, marker), reducer: "exec/word_count/reduce.py", mappers: 2, reducers: 1}
	c.submit(hung)
	testutil.WaitFor(t, 10*time.Second, "the hanging mapper to run", func() bool { return len(running(t, "sleep "+marker)) > 0 })
	if err := protocol.Send(c.addr(), protocol.Shutdown{}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the worker to exit", w.exited)
	if pids := running(t, "sleep "+marker); len(pids) > 0 {
		t.Errorf("after shutdown, the mapper's child still runs: pids %v", pids)
	}
}

// TestFailedJobKillsItsOtherPrograms: when one task fails its job, the
// job's other programs are killed at once, freeing their slots, and the
// next job runs.
func TestFailedJobKillsItsOtherPrograms(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	good := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 2, reducers: 2}
	marker := uniqueSleep()
	dir := t.TempDir()
	// One map task sleeps in a child; the other fails once that child runs.
	mapper := script(t, dir, "map", fmt.Sprintf(`if mkdir %[1]s/lock 2>/dev/null; then
  sleep %[2]s &
  touch %[1]s/sleeping
  wait
fi
while [ ! -e %[1]s/sleeping ]; do sleep 0.01; done
echo 'this map task fails' >&2
exit 4
`, dir, marker), 0o755)
	bad := good
	bad.mapper = mapper
	id, _ := c.submit(bad)
	info := c.waitJob(id, 30*time.Second)
	if info.State != protocol.JobFailed || !strings.Contains(strings.Join(info.Errors, "; "), "this map task fails") {
		t.Fatalf("job ended %s with %q; want failed by the map task", info.State, info.Errors)
	}
	waitGone(t, "sleep "+marker)
	id, out := c.submit(good)
	c.waitDone(good, id, out)
}

// TestSameWorkerRetry (issue #20's finding 4): with two workers and four
// attempts, a hung task's third and fourth attempts run on workers that
// ran an earlier one, whose kill may still be under way. Each attempt
// times out, none is taken as lost (the cancel of an old attempt never
// kills the new one), both workers stay usable, and the next job runs.
func TestSameWorkerRetry(t *testing.T) {
	c := newCluster(t, "--task-timeout", "300ms", "--max-attempts", "4")
	workers := []*proc{c.startWorker(), c.startWorker()}
	for _, w := range workers {
		c.waitRegistered(w)
	}
	good := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 2, reducers: 2}
	for round := range 2 {
		marker := uniqueSleep()
		hung := good
		hung.mapper, hung.mappers = hangingMapper(t, marker), 1
		id, _ := c.submit(hung)
		info := c.waitJob(id, 30*time.Second)
		if errs := strings.Join(info.Errors, "; "); info.State != protocol.JobFailed || !strings.Contains(errs, "made no progress in 4 attempts") {
			t.Fatalf("round %d: job ended %s with %q; want failed after 4 timed-out attempts", round, info.State, errs)
		}
		perWorker := map[int]int{}
		for _, task := range info.Tasks {
			for _, a := range task.Attempts {
				if a.Outcome != "timed_out" {
					t.Errorf("round %d: an attempt of %s task %d on worker %d ended %q, want timed_out", round, task.Phase, task.Index, a.WorkerPID, a.Outcome)
				}
				perWorker[a.WorkerPID]++
			}
		}
		if len(perWorker) != 2 {
			t.Errorf("round %d: attempts per worker %v, want both workers used twice", round, perWorker)
		}
		for _, w := range c.status().Workers {
			if w.State != "ready" {
				t.Errorf("round %d: worker %d is %s, want ready", round, w.PID, w.State)
			}
		}
		waitGone(t, "sleep "+marker)
	}
	id, out := c.submit(good)
	c.waitDone(good, id, out)
}
