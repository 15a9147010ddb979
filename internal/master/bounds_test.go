package master_test

import (
	"slices"
	"testing"
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
