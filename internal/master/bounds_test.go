package master_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// TestBusyLoopDoesNotKillLiveWorkers: while the loop works through a flood
// of events for longer than a worker may stay silent, the worker goes on
// heartbeating; those heartbeats must not wait behind the flood while the
// loop looks for dead workers, and the worker keeps its task.
func TestBusyLoopDoesNotKillLiveWorkers(t *testing.T) {
	c := startMaster(t, nil) // dead after 10 × 20 ms without a heartbeat
	w := c.join(501)
	id := c.submit(testJob(t, map[string]string{"a.txt": "a\n"}, 1, 1))
	w.nextWorkerJob() // and never report: the task stays running
	deadAfter := c.cfg.Scheduler.DeadAfter()
	c.srv.Busy(60, deadAfter/20) // 3 × deadAfter in all
	job := c.job(id)
	if got, want := attemptSummary(task(t, job, "map", 0)), []string{"501:running"}; !slices.Equal(got, want) {
		t.Errorf("map attempts %v, want %v: a worker that heartbeated all along was declared dead", got, want)
	}
}

// TestStatusReplyAfterManyHugeErrors: 100 jobs fail, each on a status whose
// error is 1 MB, as a worker that does not cut its program's stderr sends;
// the job_status reply for every job still goes through, well under the
// message limit, and so does the reply for one job, with its tasks. (Under
// the race detector, which makes each 1 MB status take a third of a second,
// 20 jobs: their errors still add up to more than a message may hold.)
func TestStatusReplyAfterManyHugeErrors(t *testing.T) {
	c := startMaster(t, nil)
	w := c.join(601)
	huge := "Traceback (most recent call last):\n" + strings.Repeat("  File \"map.py\", line 7\n", 1<<20/25) + "ValueError: the end"
	jobs := 100
	if raceEnabled {
		jobs = 20
	}
	for range jobs {
		id := c.submit(testJob(t, map[string]string{"a.txt": "a\n"}, 1, 1))
		task := w.nextWorkerJob()
		var outputs []string
		for _, in := range task.InputFiles {
			outputs = append(outputs, filepath.Join(task.OutputDirectory, filepath.Base(in)))
		}
		w.report(protocol.Status{OutputFiles: outputs, Status: protocol.StatusFailed, Failure: protocol.Failure{Error: huge}})
		testutil.WaitFor(t, 30*time.Second, "the job to fail", func() bool { return c.job(id).State == protocol.JobFailed })
	}
	all := c.cluster()
	data, err := protocol.Encode(all)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > protocol.MaxMessageSize/2 {
		t.Errorf("the reply for every job is %d bytes, want well under %d", len(data), protocol.MaxMessageSize)
	}
	if len(all.Jobs) != jobs || all.JobsOmitted != 0 {
		t.Errorf("%d jobs listed, %d omitted; want all %d listed", len(all.Jobs), all.JobsOmitted, jobs)
	}
	for _, j := range all.Jobs {
		if j.State != protocol.JobFailed || len(j.Errors) != 1 || !strings.HasSuffix(j.Errors[0], "ValueError: the end") {
			t.Fatalf("job %d is %s with errors of %d bytes, want failed with the error's tail", j.ID, j.State, len(strings.Join(j.Errors, "")))
		}
	}
	if last := c.job(jobs - 1); len(last.Tasks) == 0 || len(last.Errors[0]) > 16<<10 {
		t.Errorf("job %d alone: %d tasks, an error of %d bytes", last.ID, len(last.Tasks), len(last.Errors[0]))
	}
}
