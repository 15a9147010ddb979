package scheduler

import (
	"cmp"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"time"

	"mapreduce/protocol"
)

// Snapshot reports the job with id jobID, or every job when jobID is nil, and
// every worker; brief leaves out the jobs' tasks. ok is false when the job
// does not exist.
//
// One job is reported whole unless brief. A report of every job stays within
// StatusBudget however many jobs there were: only the DetailedJobs newest
// jobs and the jobs not yet ended are listed with their tasks, and older
// jobs that do not fit in the budget are left out, counted in JobsOmitted.
func (s *Scheduler) Snapshot(jobID *int, brief bool) (status protocol.ClusterStatus, ok bool) {
	status.Jobs = []protocol.JobInfo{}
	status.Workers = []protocol.WorkerInfo{}
	if jobID != nil {
		j := s.job(*jobID)
		if j == nil {
			return status, false
		}
		status.Jobs = append(status.Jobs, j.info(!brief))
	} else {
		status.Jobs, status.JobsOmitted = s.allJobs(StatusBudget, brief)
	}
	var live []*worker // asked for only if a job listed has not ended
	for i := range status.Jobs {
		if j := s.job(status.Jobs[i].ID); !j.over() {
			if live == nil {
				live = s.liveWorkers()
			}
			status.Jobs[i].Waiting = s.waiting(j, live)
		}
	}
	workers := slices.Collect(maps.Values(s.workers))
	// By pid; workers whose pids repeat, in the order they registered.
	slices.SortFunc(workers, func(a, b *worker) int { return cmp.Or(a.pid-b.pid, a.incarnation-b.incarnation) })
	for _, w := range workers {
		status.Workers = append(status.Workers, protocol.WorkerInfo{
			PID: w.pid, Host: w.host, Port: w.port, State: w.state(), LastHeartbeat: w.lastBeat, Tasks: len(w.held),
			Excluded: w.excludedWhy, ExcludedUntil: timePtr(w.excludedUntil),
		})
	}
	return status, true
}

// allJobs lists the jobs, oldest first, in at most budget bytes of JSON:
// the newest first, with their tasks if among the DetailedJobs newest or
// not yet ended (and if they fit), until one does not fit even without
// them. omitted counts that job and the older ones, which are left out.
func (s *Scheduler) allJobs(budget int, brief bool) (jobs []protocol.JobInfo, omitted int) {
	jobs = []protocol.JobInfo{}
	for i := len(s.jobs) - 1; i >= 0; i-- {
		j := s.jobs[i]
		detailed := !brief && (len(s.jobs)-i <= DetailedJobs || !j.over()) && j.minTasksJSON() <= budget
		info := j.info(detailed)
		size := jsonSize(info)
		if size > budget && detailed {
			info = j.info(false)
			size = jsonSize(info)
		}
		if size > budget {
			omitted = i + 1
			break
		}
		budget -= size
		jobs = append(jobs, info)
	}
	slices.Reverse(jobs)
	return jobs, omitted
}

// Lower bounds on the JSON of a TaskInfo and of an AttemptInfo, each with
// its comma: {"phase":"map","index":0,"state":"done","attempts":null} and
// {"worker_pid":0,"start":"0001-01-01T00:00:00Z"} are the shortest.
const (
	minTaskJSON    = 50
	minAttemptJSON = 45
)

// minTasksJSON is a lower bound on the bytes of j's tasks in JSON: a job
// whose tasks cannot fit in the budget is listed without them at once,
// rather than after they are listed and encoded, which for 100,000 tasks
// holds the loop for most of a second.
func (j *job) minTasksJSON() int {
	n := 0
	if j.frozen != nil {
		for _, t := range j.frozen.Tasks {
			n += minTaskJSON + minAttemptJSON*len(t.Attempts)
		}
	}
	for _, st := range j.stages {
		for _, t := range st.tasks {
			n += minTaskJSON + minAttemptJSON*len(t.attempts)
		}
	}
	return n
}

// jsonSize is the length of v in JSON, plus one for the comma that
// follows it in a list.
func jsonSize(v any) int {
	data, err := json.Marshal(v)
	if err != nil {
		return math.MaxInt
	}
	return len(data) + 1
}

// Why a job that has not ended cannot go on, in JobInfo.Waiting.
const (
	WaitNoWorker     = "no worker registered"
	WaitNoLiveWorker = "no live worker: every registered worker is dead"
	WaitNoCapable    = "no worker that can run this job"
	// WaitExcluded begins the wait, or the failure, of a job whose every
	// live worker that could run it is excluded; the workers follow.
	WaitExcluded = "every live worker that can run it is excluded"
	// WaitRejoining: a job the journal kept waits, after the master's
	// restart, for its workers to come back with the attempts they run
	// (rejoinGrace).
	WaitRejoining = "the master restarted: its workers are coming back with the tasks they run"
	// WaitHolders: after the master's restart, the reduce tasks of the
	// shuffle wait for the workers that hold runs to come back, or to be
	// found dead (job.runsReady).
	WaitHolders = "the master restarted: reduce tasks wait for the workers that hold runs to come back, or to be found dead"
)

// waiting says why job j cannot go on now for want of workers, given the
// live ones, or "". A job queued behind another waits for it, not for
// workers. The current job waits when a stage has pending tasks that no
// live worker can run (the tasks of a stage are of one kind).
func (s *Scheduler) waiting(j *job, live []*worker) string {
	switch {
	case j.over() || s.current != nil && j != s.current:
		return ""
	case len(live) == 0 && !slices.ContainsFunc(slices.Collect(maps.Values(s.workers)), func(w *worker) bool { return !w.awaiting }):
		// Workers known from the journal only have not registered with
		// this master.
		return WaitNoWorker
	case len(live) == 0:
		if why := s.allExcluded(needs{}); why != "" {
			return why
		}
		return WaitNoLiveWorker
	case s.current == nil && j.kept != nil && len(s.queue) > 0 && s.queue[0] == j:
		return WaitRejoining
	case j != s.current:
		return ""
	case j.shuffle && j.mapsDone() && !j.runsReady():
		return WaitHolders
	}
	for _, st := range j.stages {
		if !st.begun() || st.finished() || !st.def().onWorkers || st.count[taskPending] == 0 {
			continue
		}
		if t := st.tasks[0]; !slices.ContainsFunc(live, t.takes) {
			if why := s.allExcluded(t.needs()); why != "" {
				return why
			}
			return WaitNoCapable
		}
	}
	return ""
}

// info reports j, with its tasks and their attempts if withTasks.
func (j *job) info(withTasks bool) protocol.JobInfo {
	if j.frozen != nil {
		return j.frozenInfo(withTasks)
	}
	info := protocol.JobInfo{
		ID:              j.id,
		State:           j.state(),
		InputDirectory:  j.spec.InputDirectory,
		OutputDirectory: j.spec.OutputDirectory,
		Errors:          j.errorList(),
		Submitted:       j.submitted,
		Started:         timePtr(j.started),
		Ended:           timePtr(j.ended),
		Logs:            j.logged && !j.logsRemoved,
	}
	info.Counters, info.CountersDropped = j.counters()
	if withTasks {
		info.MapperExecutable, info.ReducerExecutable = j.spec.MapperExecutable, j.spec.ReducerExecutable
		info.CombinerExecutable = j.spec.CombinerExecutable
		info.NumMappers, info.NumReducers = j.spec.NumMappers, j.spec.NumReducers
		for _, st := range j.stages {
			info.Stages = append(info.Stages, protocol.StageInfo{Name: st.kind.String(), Started: timePtr(st.started), Ended: timePtr(st.ended)})
		}
	}
	// Every stage that runs tasks is listed, with nothing to do when the
	// job has no such stage (a combine stage without a combiner).
	for k, def := range stageDefs {
		if !def.onWorkers {
			continue
		}
		p := protocol.PhaseInfo{Name: def.name}
		if st := j.stage(stageKind(k)); st != nil {
			p.Total = len(st.tasks)
			if merge := j.stage(stageMerge); st.kind == stageReduce && (len(st.tasks) > 0 || st.begun() && merge != nil && !merge.finished() && !j.over()) {
				// Reduce tasks are planned as the merge writes partitions;
				// count them all from the start.
				p.Total = j.spec.NumReducers
			}
			// Counted as tasks change: sendjob --wait asks every few
			// milliseconds.
			p.Done = st.count[taskDone]
			if withTasks {
				for _, t := range st.tasks {
					info.Tasks = append(info.Tasks, t.info())
				}
			}
		}
		info.Phases = append(info.Phases, p)
	}
	return info
}

func (t *task) info() protocol.TaskInfo {
	info := protocol.TaskInfo{Phase: t.stage.kind.String(), Index: t.index, State: taskStateNames[t.state],
		IO: protocol.TaskIOFrom(t.counters, t.stage.kind.String())}
	for _, a := range t.attempts {
		info.Attempts = append(info.Attempts, protocol.AttemptInfo{
			WorkerPID: a.worker.pid, Start: a.start, End: timePtr(a.end), Outcome: a.outcome,
			StatusLine: a.statusLine, Log: a.logged && !t.job.logsRemoved,
		})
	}
	return info
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
