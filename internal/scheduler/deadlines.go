package scheduler

import (
	"fmt"
	"strings"
	"time"

	"mapreduce/protocol"
)

// noteProgress records what a heartbeat of w says of the tasks it holds:
// the progress of those it lists, and a miss for each it does not list
// although it was assigned more than an interval ago (a heartbeat may leave
// before the task arrives, or be overtaken on the way). A listed task the
// worker should not be running (a superseded copy, one it kept while it
// was taken for dead, one of an ended job or of an earlier master) is
// killed: it would hold a slot, and maybe write over a live task's output.
func (s *Scheduler) noteProgress(now time.Time, w *worker, listed []protocol.TaskProgress, cut bool) []Action {
	if !w.progress {
		return nil
	}
	var actions []Action
	seen := make(map[*attempt]bool)
	for _, p := range listed {
		t := s.reported(p.Task, p.Output)
		a := (*attempt)(nil)
		if t != nil {
			a = t.attemptOn(w)
		}
		if a != nil && !sameAttempt(p.Task, t, a) {
			a = nil // an older attempt, which the worker should not be running
		}
		if a == nil && s.adopt(now, w, p) {
			continue
		}
		if a == nil && (t != nil && t.finishedOn(w, p.Task) || s.finishedEarlier(w, p.Task)) {
			// Its status is recorded, and the worker lists the task
			// until the acknowledgement reaches it (perhaps after the
			// job ended, its last status among the last recorded).
			continue
		}
		if a == nil {
			if w.cancel {
				s.log.Info().Int("worker", w.pid).Str("task", p.Output).Msg("worker runs a task it no longer holds: cancelling it")
				actions = append(actions, s.send(w, protocol.CancelTask{Output: p.Output, Task: p.Task}, 0))
			}
			continue
		}
		seen[a] = true
		a.listed = true
		a.noteStatusLine(p.StatusLine)
		// Any change is progress: a count may start over, as our
		// worker's does when a queued task's program starts.
		if p.Progress != a.progress {
			a.progress, a.progressed = p.Progress, now
		}
	}
	if cut {
		return actions // the list was cut short: an absence says nothing
	}
	for _, t := range w.held {
		if a := t.attemptOn(w); a != nil && !seen[a] && now.Sub(a.start) > s.cfg.HeartbeatInterval {
			a.missed++
		}
	}
	return actions
}

// timeout is how long attempt number i (from 0) of a task may go without
// progress: TaskTimeout, doubled for each attempt before it (at most 10
// times, and never past a year: the shift must not overflow).
func (s *Scheduler) timeout(i int) time.Duration {
	return min(s.cfg.TaskTimeout<<min(i, 10), 365*24*time.Hour)
}

// expire ends the current job's attempts that made no progress for their
// timeout, and those a worker that reports progress left out of
// MissedHeartbeats heartbeats in a row without ever listing them: their
// task message was lost. (A worker that stops heartbeating is dead
// instead, and may still hold its tasks.) Each such task runs again elsewhere, or its job
// fails once MaxAttempts attempts have timed out.
func (s *Scheduler) expire(now time.Time) []Action {
	j := s.current
	if j == nil {
		return nil
	}
	var actions []Action
	for _, st := range j.stages {
		if st.live == 0 {
			continue // a finished stage of 100,000 tasks is not read every tick
		}
		for _, t := range st.tasks {
			for i, a := range t.attempts {
				if !a.live() || s.current != j {
					continue
				}
				switch {
				case a.worker.progress && !a.listed && a.missed >= s.cfg.MissedHeartbeats:
					actions = append(actions, s.lose(now, t, a)...)
				case now.Sub(a.progressed) > s.timeout(i):
					actions = append(actions, s.timeOut(now, t, a, s.timeout(i))...)
				}
			}
		}
	}
	return actions
}

// timeOut ends attempt a of t, which made no progress for limit.
func (s *Scheduler) timeOut(now time.Time, t *task, a *attempt, limit time.Duration) []Action {
	actions := s.cancelAttempt(t, a)
	pending := t.abandon(now, a, OutcomeTimedOut)
	t.logger(s.log.Warn()).Int("worker", a.worker.pid).Stringer("timeout", limit).Msg("task timed out")
	var timedOut []string
	for _, b := range t.attempts {
		if b.outcome == OutcomeTimedOut {
			timedOut = append(timedOut, fmt.Sprintf("worker %d after %s", b.worker.pid, b.end.Sub(b.start).Round(time.Millisecond)))
		}
	}
	if !pending || len(timedOut) < s.cfg.MaxAttempts {
		return actions // another attempt goes on, or the task runs again
	}
	t.setState(taskFailed) // from pending: no attempt is left to wait for
	return append(actions, s.fail(now, t.job, fmt.Sprintf(
		"%s task %d (inputs %s) made no progress in %d attempts (%s); --task-timeout %s, doubled for each attempt; the attempts' logs, which our workers send once killed: task %s",
		t.stage.kind, t.index, t.describeInputs(), len(timedOut), strings.Join(timedOut, ", "), s.cfg.TaskTimeout, t.taskName()))...)
}

// lose ends attempt a of t, which its worker never listed although it
// reports what it holds: the task never reached it, and goes to another
// worker. The worker heartbeats but did not take a task, so it gets no
// more until it registers again; it keeps those it does run.
func (s *Scheduler) lose(now time.Time, t *task, a *attempt) []Action {
	w := a.worker
	t.logger(s.log.Warn()).Int("worker", w.pid).Msg("task lost: its worker never listed it; the worker takes no more tasks")
	w.unusable = true
	// If the message arrives after all, the task must not run twice.
	actions := s.cancelAttempt(t, a)
	t.abandon(now, a, OutcomeLost)
	return actions
}

// cancelAttempt asks a's worker, if it takes cancel_task, to kill it.
func (s *Scheduler) cancelAttempt(t *task, a *attempt) []Action {
	if !a.worker.cancel || a.worker.dead {
		return nil
	}
	msg := protocol.CancelTask{Output: a.outputs[0]} // where the attempt writes
	if a.worker.identity {
		msg.Task = t.identity(a)
	}
	return []Action{s.send(a.worker, msg, 0)}
}
