package scheduler

import (
	"cmp"
	"slices"
	"time"
)

// speculate gives each idle worker a copy of the longest-running task of
// the stage that has run past the threshold, once no task is pending.
//
// It runs on every event; a stage may hold 100,000 tasks. Until some
// worker is idle it reads none of them, and then only the running ones,
// once for all the idle workers: the median of finished attempts is kept
// as they finish (median.go).
func (s *Scheduler) speculate(now time.Time, st *stage) []Action {
	if !s.cfg.Speculate || st.count[taskPending] > 0 || !s.idleWorker() {
		return nil
	}
	threshold := s.cfg.SpeculateAfter
	if median, ok := st.took.get(); ok {
		threshold = max(threshold, median*3/2)
	}
	stragglers := s.stragglers(now, st, threshold)
	var actions []Action
	for _, w := range s.liveWorkers() {
		if len(w.held) > 0 {
			break // live workers come least loaded first
		}
		// The longest-running straggler that w can run and that has no
		// copy yet, whose inputs still exist (a reduce task of the shuffle
		// waits while a lost run is made again), and that has not timed
		// out or failed for its worker's fault on w.
		i := slices.IndexFunc(stragglers, func(t *task) bool {
			return t != nil && t.takes(w) && !t.triedOn(w) && s.inputsReady(t)
		})
		if i < 0 {
			continue // another idle worker may take a straggler this one cannot
		}
		t := stragglers[i]
		stragglers[i] = nil
		t.logger(s.log.Info()).Stringer("running", now.Sub(t.liveAttempt().start)).Stringer("threshold", threshold).Msg("speculative copy")
		actions = append(actions, s.assign(now, t, w)...)
	}
	return actions
}

// stragglers lists st's running tasks without a copy that have run past
// threshold, longest-running first; of those that began at once, the
// first of the stage first. A task running without a copy is held by one
// worker: the workers' tasks are read, not the stage's.
func (s *Scheduler) stragglers(now time.Time, st *stage, threshold time.Duration) []*task {
	type straggler struct {
		t     *task
		start time.Time
	}
	var found []straggler
	for _, w := range s.workers {
		for _, t := range w.held {
			if t.stage != st || t.state != taskRunning || t.running() != 1 {
				continue
			}
			if start := t.liveAttempt().start; now.Sub(start) > threshold {
				found = append(found, straggler{t, start})
			}
		}
	}
	slices.SortFunc(found, func(a, b straggler) int { return cmp.Or(a.start.Compare(b.start), a.t.index-b.t.index) })
	ts := make([]*task, len(found))
	for i, f := range found {
		ts[i] = f.t
	}
	return ts
}

// noteFinished adds the duration of a, an attempt at one of st's tasks
// that finished, to those whose median speculation asks for.
func (st *stage) noteFinished(a *attempt) { st.took.add(a.end.Sub(a.start)) }

// idleWorker reports whether a worker that liveWorkers lists holds no
// task, without sorting them.
func (s *Scheduler) idleWorker() bool {
	usable, idle, idleUnusable := false, false, false
	for _, w := range s.workers {
		switch {
		case w.dead || w.excluded():
		case w.unusable:
			idleUnusable = idleUnusable || len(w.held) == 0
		default:
			usable = true
			idle = idle || len(w.held) == 0
		}
	}
	return idle || !usable && idleUnusable
}
