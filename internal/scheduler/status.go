package scheduler

import (
	"fmt"
	"github.com/rs/zerolog"
	"time"

	"mapreduce/protocol"
)

// onStatusReceived handles a worker's status message. A status that names no
// running task of this worker (from a dead worker, for a task that was
// reassigned or is done, for a job that ended) is logged and ignored.
//
// A status may be as large as a message can be. What it costs the loop is
// bounded: log lines and the job's errors carry its strings clipped (see
// MaxErrorText), and its missing files are looked up once each.
func (s *Scheduler) onStatusReceived(now time.Time, msg protocol.Status) []Action {
	files := msg.Files()
	log := s.log.With().Int("worker", msg.WorkerPID).Strs("files", clipFiles(files)).
		Str("status", clip(msg.Status, maxLoggedText)).Logger()
	if len(files) == 0 && msg.Task == nil {
		log.Warn().Msg("ignored status: names no task and no output file")
		return nil
	}
	name := ""
	if len(files) > 0 {
		name = files[0]
	}
	t := s.reported(msg.Task, name)
	if t == nil {
		log.Warn().Msg("ignored status: no task of the current job has that identity or output")
		return s.lateReport(msg.WorkerID, msg.WorkerPID, msg.Task, name, msg.Report)
	}
	log = log.With().Int("job", t.job.id).Str("stage", t.stage.kind.String()).Int("task", t.index).Logger()
	s.reportedInPlace(t, msg.WorkerPID, msg.Task, name)
	w := s.workers[workerKey(msg.WorkerID, msg.WorkerPID)]
	if msg.Status == protocol.StatusFinished && t.kind == kindShuffleMap && msg.Run == nil {
		msg.Status, msg.Error = protocol.StatusFailed, "a map task of the shuffle finished without describing the run it kept"
	}
	if late := s.timedOutNamed(t, w, msg.Task, name); late != nil && w != nil && !w.dead && msg.Status == protocol.StatusFinished &&
		(t.state == taskRunning || t.state == taskPending) && (msg.Task == nil || t.attemptOn(w) == nil) {
		// A worker that could not be told to stop a task that timed out
		// (a reference worker) finished it after all: its output is as
		// good as any copy's.
		late.end, late.outcome = now, OutcomeFinished
		t.stage.noteFinished(late)
		log.Info().Msg("a timed-out attempt finished after all")
		if t.kind == kindShuffleMap {
			t.keepRun(w, msg.Run)
		}
		s.acceptOutputs(t, late.outputs)
		actions := s.record(t, late, msg.Report, true)
		actions = append(actions, s.done(now, t, log)...)
		return append(actions, s.advance(now)...)
	}
	if t.state != taskRunning {
		log.Info().Msg("ignored status: task is not running")
		return s.lateReport(msg.WorkerID, msg.WorkerPID, msg.Task, name, msg.Report)
	}
	var a *attempt
	if w != nil && !w.dead {
		a = t.attemptOn(w)
	}
	if a == nil || !sameAttempt(msg.Task, t, a) || !s.names(msg.Task, name, a) {
		// Another attempt of the task on this worker (one that timed out
		// before the task came back to it) is not the one running now.
		log.Info().Msg("ignored status: the attempt is not running on this worker")
		return s.lateReport(msg.WorkerID, msg.WorkerPID, msg.Task, name, msg.Report)
	}
	actions := s.record(t, a, msg.Report, msg.Status == protocol.StatusFinished)
	switch {
	case msg.Status == protocol.StatusFinished:
		if t.kind == kindShuffleMap {
			t.keepRun(w, msg.Run)
		}
		t.endAttempt(now, a, OutcomeFinished)
		s.acceptOutputs(t, a.outputs)
		log.Info().Stringer("took", now.Sub(a.start)).Msg("task finished")
		actions = append(actions, s.done(now, t, log)...)
		return append(actions, s.advance(now)...)
	case msg.Retry && len(msg.LostPieces) > 0 && t.kind == kindShuffleReduce && t.fetchRetries < maxFetchRetries:
		t.fetchRetries++
		t.abandon(now, a, OutcomeRetry)
		log.Warn().Str("error", clip(msg.Error, MaxErrorText)).Int("pieces", len(msg.LostPieces)).
			Msg("reduce task could not fetch runs; they are made again, then it runs again")
		s.fetchFailed(t, msg.LostPieces)
	case msg.Retry && len(msg.LostPieces) == 0 && t.retries < maxRetries:
		t.retries++
		t.abandon(now, a, OutcomeRetry)
		log.Warn().Str("error", clip(msg.Error, MaxErrorText)).Strs("missing", clipFiles(msg.MissingFiles)).
			Msg("task failed for a missing input; running it again")
		// A missing input that another task produced was lost: produce it
		// again first. Only the task's own inputs count.
		inputs := make(map[string]bool, len(t.inputs))
		for _, in := range s.readPaths(t) {
			inputs[s.abs(in)] = true
		}
		for _, f := range msg.MissingFiles {
			f = s.abs(f)
			p := t.job.byOutput[f]
			if p != nil && p != t && p.state == taskDone && inputs[f] {
				p.setState(taskPending)
				log.Warn().Str("producer_stage", p.stage.kind.String()).Int("producer", p.index).Msg("input lost; its task runs again")
			}
		}
	case msg.Fault == protocol.FaultWorker:
		actions = append(actions, s.workerFault(now, t, a, w, msg.Error, log)...)
	default:
		t.endAttempt(now, a, OutcomeFailed)
		t.setState(taskFailed)
		text := msg.Error
		if text == "" {
			text = fmt.Sprintf("status %q", clip(msg.Status, maxLoggedText))
		}
		// The job keeps the worker's text clipped, head and tail, to
		// MaxErrorText with what is put in front: a worker may send
		// megabytes of it.
		why := fmt.Sprintf("%s task %d on worker %d: ", t.stage.kind, t.index, w.pid)
		if a.logged {
			why = fmt.Sprintf("%s task %d on worker %d (its log: task %s, attempt %d): ", t.stage.kind, t.index, w.pid, t.taskName(), t.attemptNumber(a))
		}
		why += clip(text, MaxErrorText-len(why))
		log.Warn().Str("error", why).Msg("task failed")
		actions = append(actions, s.fail(now, t.job, why)...)
		return append(actions, s.advance(now)...)
	}
	return append(actions, s.advance(now)...)
}

// done marks t done and ends its other attempts, superseded: a
// speculative copy, or the next attempt of a task whose timed-out attempt
// finished after all. It returns the actions that kill them.
func (s *Scheduler) done(now time.Time, t *task, log zerolog.Logger) []Action {
	t.setState(taskDone)
	kills := doneRecord(t)
	for _, other := range t.attempts {
		if other.live() {
			kills = append(kills, s.cancelAttempt(t, other)...)
			t.endAttempt(now, other, OutcomeSuperseded)
			log.Info().Int("loser", other.worker.pid).Msg("another copy finished first: superseded")
		}
	}
	return kills
}

// sameAttempt reports whether a message naming the task by id (nil from a
// reference worker, which names none) is about attempt a of t.
func sameAttempt(id *protocol.TaskIdentity, t *task, a *attempt) bool {
	return id == nil || id.Attempt == a.number && id.Life == a.life
}
