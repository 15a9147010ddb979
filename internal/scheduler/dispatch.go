package scheduler

import (
	"fmt"
	"slices"
	"time"

	"mapreduce/protocol"
)

// dispatch hands each pending task whose inputs exist to the least loaded
// live worker that can run it: if there is one, one on which the task has
// not timed out nor failed for the worker's own fault and that has served
// the job's runs when asked; else one on which the task has not timed out
// nor failed so. A task waits for a worker that announced what it needs,
// and one that is not excluded.
//
// Each event asks to dispatch, but a stage has pending tasks only when
// it is planned, or when tasks come back (a worker died, an input was
// lost): one with none is not read through.
func (s *Scheduler) dispatch(now time.Time, st *stage) []Action {
	if st.count[taskPending] == 0 {
		return nil
	}
	var actions []Action
	var r *roster
	ready := s.inputsReady
	if st.tasks[0].kind == kindShuffleReduce {
		// Every reduce task of the shuffle reads every run: asked once,
		// not once for each of 1000 tasks over 100,000 runs.
		runs := st.tasks[0].job.runsReady()
		ready = func(*task) bool { return runs }
	}
	for _, t := range st.tasks {
		if t.state != taskPending || !ready(t) {
			continue
		}
		if needs := t.needs(); r == nil || r.needs != needs {
			r = s.roster(needs)
		}
		live := r.workers
		if len(live) == 0 {
			if why := r.excluded; why != "" {
				// Every live worker that could run the task is excluded.
				// A job that met such failures itself fails now, and says
				// why: waiting, it would meet them again once the
				// exclusions end. One that did not (it started while the
				// workers were excluded, for another job's failures)
				// waits for the exclusions to end, as it waits for a
				// dead worker: they end, and it then finds out for
				// itself, failing at worst one round of faults later.
				if t.job.faulted {
					return append(actions, s.fail(now, t.job, fmt.Sprintf("no worker left to run %s task %d: %s", t.stage.kind, t.index, why))...)
				}
				continue
			}
			if !t.job.kindWait && len(s.liveWorkers()) > 0 {
				// Say once why the job does not move: the live workers
				// cannot run such tasks.
				t.job.kindWait = true
				t.logger(s.log.Warn()).Str("needs", taskKinds[t.kind].needs).Bool("needs_programs", t.needs().programs).
					Msg("tasks wait for a worker that can run them: no live worker announced what they need")
			}
			continue
		}
		at := slices.IndexFunc(live, func(w *worker) bool { return !t.triedOn(w) && !t.job.unservable[w] })
		if at < 0 {
			at = max(slices.IndexFunc(live, func(w *worker) bool { return !t.triedOn(w) }), 0)
		}
		actions = append(actions, s.assign(now, t, live[at])...)
		r.took(at)
	}
	return actions
}

// inputsReady reports whether every input of t that another task produces
// has been produced.
func (s *Scheduler) inputsReady(t *task) bool {
	if t.kind == kindShuffleReduce {
		return t.job.runsReady()
	}
	for _, in := range t.inputs {
		if p := t.job.byOutput[s.abs(in)]; p != nil && p != t && p.state != taskDone {
			return false
		}
	}
	return true
}

// assign starts an attempt of t on w, and returns the actions that send
// it (after making the directory it writes apart in, if it does).
func (s *Scheduler) assign(now time.Time, t *task, w *worker) []Action {
	t.setState(taskRunning)
	a := t.newAttempt(now, w)
	t.stage.live++
	w.held = append(w.held, t)
	var actions []Action
	log := t.logger(s.log.Info()).Int("worker", w.pid).Int("attempt", a.number)
	if dir := s.place(t, a); dir != "" {
		actions = append(actions, MakeJobDirs{Job: t.job.id, Dirs: []string{dir}})
		log = log.Str("apart", dir)
	}
	log.Msg("task assigned")
	return append(actions, s.send(w, s.message(t, w), 0))
}

// message is t's message for w, its latest attempt: a new_sort_job, or a
// new_worker_job with its stage's program; with the task's identity for a
// worker that echoes it.
func (s *Scheduler) message(t *task, w *worker) protocol.Message {
	a := t.latest()
	var id *protocol.TaskIdentity
	if w.identity {
		id = t.identity(a)
	}
	switch t.kind {
	case kindShuffleMap, kindShuffleReduce:
		return s.shuffleMessage(t, w)
	case kindSort:
		return protocol.NewSortJob{InputFiles: s.readPaths(t), OutputFile: a.output, WorkerPID: w.pid, Task: id}
	}
	msg := protocol.NewWorkerJob{InputFiles: s.readPaths(t), Executable: t.stage.def().program(t.job.spec), OutputDirectory: a.output,
		WorkerPID: w.pid, Task: id, Program: t.program(w)}
	if t.kind == kindSplit {
		msg.Split = &protocol.Split{Ranges: t.ranges, OutputFile: a.outputs[0]}
	}
	return msg
}

// program is how w runs t's program, for a worker that announced
// CapPrograms; nil for any other, which runs the executable alone in its
// own directory (a job that needs more waits for a worker that can).
func (t *task) program(w *worker) *protocol.Program {
	if !w.has(protocol.CapPrograms) || t.kind == kindSort {
		return nil
	}
	spec := t.job.spec
	p := &protocol.Program{Args: t.stage.def().args(spec), Env: spec.Cmdenv, WorkDir: spec.WorkDir,
		Maps: len(t.job.stage(stageMap).tasks), Reduces: spec.NumReducers}
	if t.stage.kind == stageMap {
		p.InputKey = spec.InputKey
		if t.kind == kindShuffleMap {
			p.CombinerArgs = spec.CombinerArgs
		}
	}
	return p
}
