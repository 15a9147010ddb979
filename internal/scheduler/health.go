package scheduler

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Worker health. A task that a worker failed for a fault of its own
// (protocol.FaultWorker: it could not write its files, its disk is full or
// read-only, it could not start a program the master found) is not the
// program's failure: it runs again, on another worker if there is one, and
// the failure counts against the worker. A worker with
// Config.ExcludeAfter such failures within ExcludeWindow is excluded for
// ExcludeFor: it takes no task, keeps those it holds, and is then given
// its chance again, its count started afresh.
//
// A job that fails gives its workers back the failures it caused, and
// ends the exclusions they brought: failures that every worker met are
// more likely the job's (a program that only the submitting host has, a
// full shared disk) than every worker's, and the next job must not wait
// for workers excluded for them.
//
// Exclusions are not journaled: a master that restarts gives every worker
// its chance again, and a worker that restarts registers with a new id, a
// new worker.

// maxExcludedText bounds the failure an exclusion quotes: it is shown in
// every worker list.
const maxExcludedText = 300

// excluded reports whether w is excluded now: set until readmit clears it.
func (w *worker) excluded() bool { return !w.excludedUntil.IsZero() }

// workerFault ends attempt a of t, which its worker w failed for a fault
// of its own: the task goes back to pending, for another worker, and the
// failure counts against w. After MaxAttempts such attempts the task's
// job fails: a task that fails so wherever it goes is more likely the
// job's fault than every worker's.
func (s *Scheduler) workerFault(now time.Time, t *task, a *attempt, w *worker, text string, log zerolog.Logger) []Action {
	pending := t.abandon(now, a, OutcomeWorkerFault)
	t.job.faulted = true
	log.Warn().Str("error", clip(text, MaxErrorText)).Msg("task failed for a fault of its worker's own; it runs again, elsewhere if it can")
	s.noteFault(now, w, t.job.id, text)
	var on []string
	for _, b := range t.attempts {
		if b.outcome == OutcomeWorkerFault {
			on = append(on, strconv.Itoa(b.worker.pid))
		}
	}
	if !pending || len(on) < s.cfg.MaxAttempts {
		return nil
	}
	t.setState(taskFailed)
	why := fmt.Sprintf("%s task %d (inputs %s) failed in %d attempts, each for a fault of its worker's own (workers %s; --max-attempts %d); the last: ",
		t.stage.kind, t.index, t.describeInputs(), len(on), strings.Join(on, ", "), s.cfg.MaxAttempts)
	return s.fail(now, t.job, why+clip(text, MaxErrorText-len(why)))
}

// noteFault counts a failure of w's own at now, and excludes w if it has
// had ExcludeAfter of them within ExcludeWindow. Those of an excluded
// worker (tasks it held when it was excluded) do not count: it is
// excluded already.
func (s *Scheduler) noteFault(now time.Time, w *worker, job int, text string) {
	if w.excluded() {
		return
	}
	w.faults = slices.DeleteFunc(w.faults, func(f fault) bool { return now.Sub(f.at) >= s.cfg.ExcludeWindow })
	w.faults = append(w.faults, fault{at: now, job: job})
	if len(w.faults) < s.cfg.ExcludeAfter {
		return
	}
	w.excludedUntil = now.Add(s.cfg.ExcludeFor)
	w.excludedWhy = fmt.Sprintf("%d failures of its own within %s, the last: %s", len(w.faults), s.cfg.ExcludeWindow, clip(text, maxExcludedText))
	w.excludedBy = nil
	for _, f := range w.faults {
		w.excludedBy = append(w.excludedBy, f.job)
	}
	w.faults = nil
	s.excluded = append(s.excluded, w)
	s.log.Warn().Int("worker", w.pid).Str("addr", w.addr()).Str("reason", w.excludedWhy).Time("until", w.excludedUntil).
		Msg("worker excluded: it takes no task for --exclude-for")
}

// inherit passes old's failures and exclusion on to w, the same worker
// registered again: registering again must not end an exclusion.
func (s *Scheduler) inherit(old, w *worker) {
	w.faults, w.excludedUntil, w.excludedWhy, w.excludedBy = old.faults, old.excludedUntil, old.excludedWhy, old.excludedBy
	if i := slices.Index(s.excluded, old); i >= 0 {
		s.excluded[i] = w
	}
}

// fault is a failure of a worker's own: when, and in which job.
type fault struct {
	at  time.Time
	job int
}

// readmit ends the exclusions due by now.
func (s *Scheduler) readmit(now time.Time) {
	s.excluded = slices.DeleteFunc(s.excluded, func(w *worker) bool {
		if now.Before(w.excludedUntil) {
			return false
		}
		w.excludedUntil, w.excludedWhy, w.excludedBy = time.Time{}, "", nil
		s.log.Info().Int("worker", w.pid).Msg("worker no longer excluded: it takes tasks again")
		return true
	})
}

// forgive gives the workers back the failures that job j, which failed,
// caused, and ends the exclusions any of them brought.
func (s *Scheduler) forgive(j *job) {
	for _, w := range s.workers {
		w.faults = slices.DeleteFunc(w.faults, func(f fault) bool { return f.job == j.id })
	}
	s.excluded = slices.DeleteFunc(s.excluded, func(w *worker) bool {
		if !slices.Contains(w.excludedBy, j.id) {
			return false
		}
		w.excludedUntil, w.excludedWhy, w.excludedBy = time.Time{}, "", nil
		s.log.Info().Int("worker", w.pid).Int("job", j.id).
			Msg("worker no longer excluded: the job whose failures excluded it failed, and they were more likely the job's")
		return true
	})
}

// allExcluded describes the live workers that could run tasks with needs
// n when every one of them is excluded; "" when one is not, or when there
// is none.
func (s *Scheduler) allExcluded(n needs) string {
	var excluded []*worker
	for _, w := range s.workers {
		switch {
		case w.dead || w.awaiting || !w.can(n):
		case !w.excluded():
			return ""
		default:
			excluded = append(excluded, w)
		}
	}
	slices.SortFunc(excluded, func(a, b *worker) int { return a.incarnation - b.incarnation })
	var about []string
	for _, w := range excluded {
		about = append(about, fmt.Sprintf("worker %d at %s until %s (%s)", w.pid, w.addr(), w.excludedUntil.Format("15:04:05"), w.excludedWhy))
	}
	if len(about) == 0 {
		return ""
	}
	return WaitExcluded + ": " + strings.Join(about, "; ")
}
