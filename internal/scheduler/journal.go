package scheduler

import (
	"maps"
	"slices"
	"time"

	"mapreduce/internal/journal"
	"mapreduce/internal/layout"
	"mapreduce/internal/partition"
	"mapreduce/protocol"
)

// What a master keeps across a crash (package journal). The scheduler
// asks for a record (Persist) in the same step as the event that made it,
// before the actions that follow from that event: the owner syncs it
// first. It asks when
//
//	a job is accepted          Accepted: its spec and id
//	its map tasks are planned  Planned: each task's input
//	its sort tasks or its      Planned: the sort tasks' inputs, the reducers'
//	  reducers' ranges are       key ranges, which a master started again
//	  planned                    could not choose the same
//	a task finishes            Done: its outputs, or where its run is
//	its outputs are committed  Commit: what to rename, and the job's status
//	a job ends                 Ended: its status, for job_status
//
// A master started again rebuilds its jobs from what was kept
// (RestoreEvent): ended jobs answer job_status as they did; the running
// and queued jobs queue again, in order, and the running one keeps its
// tasks that finished, whose outputs the owner found still on disk, or
// whose runs' holders heartbeat again in time; its stages are planned as
// they were. The master's own work (the merge) is done again. A map task
// that a worker still runs for an earlier master, and lists in its
// heartbeats, is adopted: it goes on there (adopt). Other attempts an
// earlier master sent are killed.

// maxKeptTasks bounds the tasks an Ended record lists: a larger job is
// kept without them, as job_status lists old jobs.
const maxKeptTasks = 2000

// Persist asks the owner to append Record to the journal and sync it
// before it carries out the actions after it.
type Persist struct{ Record journal.Record }

func (Persist) isAction() {}

// RestoreEvent: the master started on a journal that kept State. It must
// be the first event.
type RestoreEvent struct{ State *journal.State }

func (RestoreEvent) isEvent() {}

func acceptedRecord(j *job) Action {
	return Persist{journal.Record{Accepted: &journal.Accepted{Job: j.id, Spec: j.spec, Submitted: j.submitted}}}
}

// plannedRecord keeps how j's map tasks read their input, as planMap
// planned them.
func plannedRecord(j *job, mode string, files [][]string, ranges [][]protocol.InputRange) Action {
	return Persist{journal.Record{Planned: &journal.Planned{Job: j.id, Mode: mode, Files: files, Ranges: ranges}}}
}

// laterPlannedRecord keeps how j's stage st, after map, was planned, where
// a master started again would not plan it the same: the sort tasks'
// files (as many as there were workers), or the reducers' key ranges
// (from samples of runs that may be made again).
func laterPlannedRecord(j *job, st *stage, files [][]string, cuts [][]byte) Action {
	return Persist{journal.Record{Planned: &journal.Planned{Job: j.id, Stage: st.kind.String(), Files: files, Cuts: cuts}}}
}

// doneRecord keeps task t, just finished.
func doneRecord(t *task) []Action {
	d := &journal.Done{Job: t.job.id, Index: t.index, Counters: t.counters}
	if t.stage.kind != stageMap {
		d.Stage = t.stage.kind.String()
	}
	if t.holder != nil {
		d.Holder = &journal.Holder{ID: t.holder.id, PID: t.holder.pid, Host: t.holder.host, Port: t.holder.port}
		for _, smp := range t.samples {
			d.Samples = append(d.Samples, protocol.Sample{Key: smp.Key, Bytes: smp.Bytes})
		}
	} else {
		d.Outputs = t.outputs
	}
	return []Action{Persist{journal.Record{Done: d}}}
}

// commitRecord keeps the commit about to be asked for, and what j's
// status will be once it is done.
func commitRecord(j *job, c CommitOutputs) Action {
	return Persist{journal.Record{Commit: &journal.Commit{Job: j.id, Temp: c.Temp, Dest: c.Dest, Names: c.Names,
		Info: j.info(j.taskCount() <= maxKeptTasks)}}}
}

// endedRecord keeps how j ended.
func endedRecord(j *job) Action {
	return Persist{journal.Record{Ended: &journal.Ended{Job: j.id, Info: j.info(j.taskCount() <= maxKeptTasks), Logged: j.logged}}}
}

func (j *job) taskCount() int {
	n := 0
	for _, st := range j.stages {
		n += len(st.tasks)
	}
	return n
}

// onRestore rebuilds the jobs that st kept. The holders of the running
// job's runs are known as workers that have not heartbeated yet
// (worker.awaiting): those that do within the time a worker has to, keep
// their runs.
func (s *Scheduler) onRestore(now time.Time, st *journal.State) []Action {
	if len(s.jobs) > 0 || len(s.workers) > 0 {
		s.log.Error().Msg("ignored restore: the scheduler has jobs or workers already")
		return nil
	}
	var actions []Action
	s.first, s.life, s.restored = st.First, st.Lives, now
	for _, kept := range st.Jobs {
		j := &job{id: kept.Job, spec: kept.Spec, submitted: kept.Submitted, stages: pipeline(kept.Spec), life: s.life}
		j.dir = layout.JobDir(s.cfg.VarDir, j.id)
		s.jobs = append(s.jobs, j)
		if kept.Ended != nil {
			j.freeze(now, kept.Ended)
			continue
		}
		j.kept, j.later, j.ranBefore = kept, kept.Later, kept.Plan != nil
		s.queue = append(s.queue, j)
		actions = append(actions, MakeJobDirs{Job: j.id, Dirs: j.dir.Dirs(j.spec.CombinerExecutable != "")})
		for _, d := range kept.Done {
			if h := d.Holder; h != nil && s.workers[workerKey(h.ID, h.PID)] == nil {
				key := workerKey(h.ID, h.PID)
				s.workers[key] = &worker{key: key, id: h.ID, pid: h.PID, host: h.Host, port: h.Port, awaiting: true, lastBeat: now}
				s.beats.Beat(key, now)
			}
		}
	}
	for _, id := range st.Ends {
		if j := s.job(id); j != nil && j.logged {
			s.logged = append(s.logged, id)
		}
	}
	s.log.Info().Int("jobs", len(st.Jobs)).Int("queued", len(s.queue)).Int("holders", len(s.workers)).
		Msg("jobs restored from the journal")
	return append(actions, s.trimLogs()...)
}

// rejoinGrace is how long, in heartbeat intervals, a job the journal kept
// waits after the restore before it starts again: every live worker
// heartbeats within it, and lists the attempts it still runs, so that
// each is adopted rather than sent to the first worker back.
const rejoinGrace = 2

// rejoining reports whether j, next to start, is one the journal kept and
// its workers may still be coming back.
func (s *Scheduler) rejoining(now time.Time, j *job) bool {
	return j.kept != nil && now.Before(s.restored.Add(rejoinGrace*s.cfg.HeartbeatInterval))
}

// freeze makes j an ended job that answers job_status with what e kept.
func (j *job) freeze(now time.Time, e *journal.Ended) {
	info := e.Info
	j.frozen = &info
	j.logged = e.Logged
	j.failed = info.State == protocol.JobFailed
	j.cancelled = info.State == protocol.JobCancelled
	j.errors = info.Errors
	if info.Started != nil {
		j.started = *info.Started
	}
	j.ended = now
	if info.Ended != nil {
		j.ended = *info.Ended
	}
}

// frozenInfo is job_status of a job restored as ended.
func (j *job) frozenInfo(withTasks bool) protocol.JobInfo {
	info := *j.frozen
	info.Logs = j.logged && !j.logsRemoved
	if !withTasks {
		info.Tasks = nil
		return info
	}
	if j.logsRemoved {
		info.Tasks = slices.Clone(info.Tasks)
		for i := range info.Tasks {
			attempts := slices.Clone(info.Tasks[i].Attempts)
			for k := range attempts {
				attempts[k].Log = false
			}
			info.Tasks[i].Attempts = attempts
		}
	}
	return info
}

// replanMap plans j's map tasks as the journal kept them, instead of
// listing the input again, and takes back those that finished: their
// outputs are still there (the owner dropped those it did not find), or
// their runs' holders are alive or may still come back.
func (s *Scheduler) replanMap(j *job, st *stage) []Action {
	kept := j.kept
	j.kept = nil
	actions := s.planMap(j, st, kept.Plan.Mode, kept.Plan.Files, kept.Plan.Ranges)
	restored := 0
	for _, d := range kept.Done {
		if d.Index < 0 || d.Index >= len(st.tasks) {
			continue
		}
		t := st.tasks[d.Index]
		if t.kind == kindShuffleMap {
			h := d.Holder
			if h == nil {
				continue
			}
			w := s.workers[workerKey(h.ID, h.PID)]
			if w == nil || w.dead || w.host != h.Host || w.port != h.Port {
				continue
			}
			if !w.awaiting && !w.has(protocol.CapShuffle) {
				// Back without the capability (an older build, whose runs
				// are plain lines): our reducers would misread its run.
				continue
			}
			t.holder, t.samples = w, clipSamples(d.Samples, samplesPerRun(j.spec, len(st.tasks)))
		} else if taskKinds[t.kind].files {
			if !t.keptOutputs(d.Outputs) {
				continue
			}
			s.acceptOutputs(t, d.Outputs)
		}
		t.counters = protocol.Counters{}
		t.countersRefused = t.counters.AddAll(d.Counters)
		t.setState(taskDone)
		restored++
	}
	j.counterSum = nil
	for _, index := range slices.Sorted(maps.Keys(j.adopted)) {
		ad := j.adopted[index]
		if t := st.tasks[index]; t.state == taskPending && s.workers[ad.w.key] == ad.w && !ad.w.dead && t.takes(ad.w) {
			s.adoptAttempt(st.started, t, ad.w, ad.id, ad.output)
		}
	}
	j.adopted = nil
	s.log.Info().Int("job", j.id).Int("tasks", len(st.tasks)).Int("done", restored).Str("mode", kept.Plan.Mode).
		Msg("map tasks restored from the journal")
	return actions
}

// adoption is an attempt a worker runs for an earlier master.
type adoption struct {
	w  *worker
	id protocol.TaskIdentity
	// output is the first output the worker lists for it.
	output string
}

// adopt takes up p, a task that w lists and that this master did not send
// it: an attempt an earlier master sent at a map task of a job the journal
// kept, which has not finished and runs nowhere else. The worker goes on
// with it, as if this master had sent it, under the number it was sent
// with, which its status will echo. It reports whether p was adopted (or
// will be, once the job's map tasks are planned again).
func (s *Scheduler) adopt(now time.Time, w *worker, p protocol.TaskProgress) bool {
	id := p.Task
	if id == nil || id.Stage != stageMap.String() || id.Attempt < 1 || id.Index < 0 || id.Life >= s.life {
		// Only an earlier master's attempts are adopted.
		return false
	}
	j := s.job(id.JobID)
	switch {
	case j == nil || j.over():
		return false
	case j.kept != nil:
		if a, taken := j.adopted[id.Index]; taken {
			// Listed again, in a heartbeat before the job starts again:
			// still adopted, if by the same worker, the same attempt.
			return a.w == w && a.id == *id
		}
		_, done := j.kept.Done[id.Index]
		if done || j.kept.Plan == nil || id.Index >= len(j.kept.Plan.Files)+len(j.kept.Plan.Ranges) {
			return false
		}
		if j.adopted == nil {
			j.adopted = make(map[int]adoption)
		}
		j.adopted[id.Index] = adoption{w: w, id: *id, output: p.Output}
		return true
	}
	t := j.taskAt(*id)
	if j != s.current || t == nil || t.stage.kind != stageMap || t.state != taskPending || !t.takes(w) || id.Life >= s.life {
		return false
	}
	s.adoptAttempt(now, t, w, *id, p.Output)
	return true
}

// takesLater reports whether msg is a status the scheduler cannot take
// yet (Result.Later): from a worker it does not know again since its
// restart, or for a job that waits to start again.
func (s *Scheduler) takesLater(msg protocol.Status) bool {
	if w := s.workers[workerKey(msg.WorkerID, msg.WorkerPID)]; w == nil || w.awaiting {
		return true
	}
	if msg.Task == nil {
		return false
	}
	j := s.job(msg.Task.JobID)
	return j != nil && j.kept != nil
}

// adoptAttempt makes w's attempt id at t, which an earlier master sent,
// t's running attempt.
func (s *Scheduler) adoptAttempt(now time.Time, t *task, w *worker, id protocol.TaskIdentity, output string) {
	t.setState(taskRunning)
	a := &attempt{worker: w, start: now, progressed: now, number: id.Attempt, life: id.Life, listed: true}
	s.adoptedOutputs(t, a, output)
	t.attempts = append(t.attempts, a)
	t.stage.live++
	w.held = append(w.held, t)
	t.logger(s.log.Info()).Int("worker", w.pid).Int("attempt", id.Attempt).Int("life", id.Life).
		Msg("attempt adopted: an earlier master sent it, and the worker runs it still")
}

// laterPlan is the plan the journal kept of j's stage k, or nil.
func (j *job) laterPlan(k stageKind) *journal.Planned {
	if l := j.later[k.String()]; l != nil {
		return l.Plan
	}
	return nil
}

// restoreDone takes back t, a task of a stage after map just planned, if
// the journal kept it finished, with the outputs it has now: the owner
// dropped those whose outputs are gone.
func (s *Scheduler) restoreDone(t *task) {
	l := t.job.later[t.stage.kind.String()]
	if l == nil {
		return
	}
	d, ok := l.Done[t.index]
	if !ok || !t.keptOutputs(d.Outputs) {
		return
	}
	s.acceptOutputs(t, d.Outputs)
	t.counters = protocol.Counters{}
	t.countersRefused = t.counters.AddAll(d.Counters)
	t.job.counterSum = nil
	t.setState(taskDone)
	t.logger(s.log.Info()).Msg("task restored from the journal: done")
}

// clipSamples keeps at most limit samples, their keys clipped, as a
// master keeps a run's.
func clipSamples(samples []protocol.Sample, limit int) []partition.Sample {
	var kept []partition.Sample
	for _, smp := range samples[:min(len(samples), limit)] {
		kept = append(kept, partition.Sample{Key: slices.Clone(smp.Key[:min(len(smp.Key), partition.MaxKey)]), Bytes: smp.Bytes})
	}
	return kept
}

// handOver gives the runs that awaiting, known from the journal, holds to
// w, the worker that has just heartbeated or registered under its name.
func (s *Scheduler) handOver(awaiting, w *worker) {
	j := s.current
	if j == nil || !j.shuffle {
		return
	}
	kept := 0
	for _, t := range j.stage(stageMap).tasks {
		if t.holder == awaiting {
			t.holder = w
			kept++
		}
	}
	j.pieces = nil
	s.log.Info().Int("worker", w.pid).Int("runs", kept).Msg("worker is back: it keeps the runs the journal says it holds")
	if kept > 0 && !w.has(protocol.CapShuffle) {
		// Back without the capability (an older build, whose runs are
		// plain lines): our reducers would misread its runs.
		s.loseRuns(w, "it no longer announces "+protocol.CapShuffle)
	}
}
