package scheduler

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"mapreduce/internal/layout"
	"mapreduce/protocol"
)

// What tasks report besides their outputs: counters, status lines and
// logs (Hadoop Streaming's reporter lines and stderr).
//
// A job's counters are those of the accepted attempt of each task: a
// task's are replaced, never added to, when it finishes again (a rerun for
// a lost output), and a copy that lost, failed or was cancelled counts
// nothing. Logs are kept on disk by the owner (KeepLog) for the job's life
// and for the Config.KeepLogs newest ended jobs after (RemoveLogs).

// record takes what attempt a of t reports. finished: the attempt is the
// task's accepted one, whose counters count.
func (s *Scheduler) record(t *task, a *attempt, r protocol.Report, finished bool) []Action {
	a.noteStatusLine(r.StatusLine)
	if finished {
		replaced := len(t.counters) > 0 || t.countersRefused > 0
		t.counters = protocol.Counters{}
		t.countersRefused = t.counters.AddAll(r.Counters) // past the worker's own bounds
		t.job.addToCounterSum(t, replaced)
	}
	if r.Log == "" {
		return nil
	}
	a.logged, t.job.logged = true, true
	text := r.Log
	if len(text) > protocol.MaxTaskLog {
		text = text[len(text)-protocol.MaxTaskLog:]
	}
	return []Action{KeepLog{Job: t.job.id, Path: layout.TaskLog(s.cfg.VarDir, t.job.id, t.taskName(), t.attemptNumber(a)), Text: text}}
}

// taskName names t as logs, task_logs and sendjob --logs do: map-3.
func (t *task) taskName() string { return layout.TaskName(t.stage.kind.String(), t.index) }

// attemptNumber is a's number among t's attempts, from 1.
func (t *task) attemptNumber(a *attempt) int { return a.number }

// newAttempt adds an attempt at t on w, numbered after every other.
func (t *task) newAttempt(now time.Time, w *worker) *attempt {
	n := 0
	for _, a := range t.attempts {
		n = max(n, a.number)
	}
	a := &attempt{worker: w, start: now, progressed: now, number: n + 1, life: t.job.life}
	t.attempts = append(t.attempts, a)
	return a
}

// latest is t's newest attempt, which the message that starts it names.
func (t *task) latest() *attempt { return t.attempts[len(t.attempts)-1] }

// counters sums the counters of j's tasks, and counts those the bounds
// refused. The sum is kept until a task's counters change: status replies
// ask for it often, tasks finish once.
func (j *job) counters() (protocol.Counters, int) {
	if j.counterSum == nil {
		j.counterSum = protocol.Counters{}
		j.counterSumDropped = 0
		for _, st := range j.stages {
			for _, t := range st.tasks {
				j.counterSumDropped += t.countersRefused + j.counterSum.AddAll(t.counters)
			}
		}
	}
	if len(j.counterSum) == 0 {
		return nil, j.counterSumDropped
	}
	return j.counterSum, j.counterSumDropped
}

// addToCounterSum brings j's sum of counters, if it is made, up to date
// with t's new counters: status replies ask for it every few
// milliseconds, and summing every task again after each finished would
// cost a job of 100,000 tasks more than its scheduling. Adding gives what
// summing again would, unless t's counters replaced others (a rerun), or
// the sum refuses one of them: once full, the bounds refuse new names, so
// which are refused depends on the order of the summing, task by task.
// Then the sum is dropped, to be made again when asked for. The sum is
// copied, not added to: a reply being encoded may hold it.
func (j *job) addToCounterSum(t *task, replaced bool) {
	switch {
	case j.counterSum == nil:
		return
	case replaced:
		j.counterSum = nil
		return
	}
	j.counterSumDropped += t.countersRefused
	if len(t.counters) == 0 {
		return
	}
	sum := make(protocol.Counters, len(j.counterSum))
	for g, names := range j.counterSum {
		sum[g] = maps.Clone(names)
	}
	if sum.AddAll(t.counters) > 0 {
		j.counterSum = nil
		return
	}
	j.counterSum = sum
}

// pruneLogs notes that j ended, and returns the actions that remove the
// logs of jobs that are no longer among the KeepLogs newest ended jobs
// with logs.
func (s *Scheduler) pruneLogs(j *job) []Action {
	if !j.logged {
		return nil
	}
	s.logged = append(s.logged, j.id)
	return s.trimLogs()
}

// trimLogs returns the actions that remove the logs of the oldest ended
// jobs with logs, past the KeepLogs newest.
func (s *Scheduler) trimLogs() []Action {
	var actions []Action
	for len(s.logged) > s.cfg.KeepLogs {
		id := s.logged[0]
		s.logged = s.logged[1:]
		s.job(id).logsRemoved = true
		actions = append(actions, RemoveLogs{Job: id, Dir: layout.Logs(s.cfg.VarDir, id)})
	}
	return actions
}

// LogsKept returns nil if job id exists and its logs are kept, or an error
// that says why not.
func (s *Scheduler) LogsKept(id int) error {
	j := s.job(id)
	switch {
	case j == nil:
		return fmt.Errorf("no job %d", id)
	case j.logsRemoved:
		return fmt.Errorf("job %d's logs were removed: the master keeps those of the %d newest ended jobs (master --keep-logs)", id, s.cfg.KeepLogs)
	}
	return nil
}

// noteStatusLine keeps line, the start of it, as a's status line, unless it
// is empty: a worker sends one only once the task has one.
func (a *attempt) noteStatusLine(line string) {
	if line != "" {
		// A copy: the worker's message, however large, is not kept.
		a.statusLine = strings.ToValidUTF8(strings.Clone(line[:min(len(line), protocol.MaxStatusLine)]), "")
	}
}

// onAttemptLogReceived keeps the log of an attempt that cancel_task killed:
// the last ended attempt of the task named by msg.Output on msg's worker,
// in the current job or an ended one whose logs are kept. An attempt whose
// log is kept already, or that finished, keeps what it has.
func (s *Scheduler) onAttemptLogReceived(now time.Time, msg protocol.AttemptLog) []Action {
	return s.lateReport(msg.WorkerID, msg.WorkerPID, msg.Task, msg.Output, msg.Report)
}

// lateReport keeps the log of report, from worker workerID/pid for the
// task with identity id (or, without one, output name), with that
// worker's last ended attempt at the task: one killed, or one whose status
// came too late to count (its job had ended, or another copy had
// finished).
func (s *Scheduler) lateReport(workerID string, pid int, id *protocol.TaskIdentity, name string, report protocol.Report) []Action {
	w := s.workers[workerKey(workerID, pid)]
	t := s.taskNamed(id, s.abs(name))
	if w == nil || t == nil || report.Log == "" && report.StatusLine == "" {
		return nil
	}
	var a *attempt
	for _, b := range t.attempts {
		if b.worker == w && !b.live() {
			a = b
		}
	}
	if a == nil || a.logged || a.outcome == OutcomeFinished || t.job.logsRemoved {
		return nil
	}
	wasLogged := t.job.logged
	actions := s.record(t, a, report, false)
	if t.job.over() && !wasLogged {
		// The job ended without logs: it joins those whose logs are kept.
		actions = append(actions, s.pruneLogs(t.job)...)
	}
	return actions
}

// taskNamed finds the task with identity id, or without one the task
// with output name (absolute, clean), in a job whose logs are not removed,
// newest first. Killed attempts are few, and their logs come soon after
// the kill.
func (s *Scheduler) taskNamed(id *protocol.TaskIdentity, name string) *task {
	if id != nil {
		if j := s.job(id.JobID); j != nil && !j.logsRemoved {
			return j.taskAt(*id)
		}
		return nil
	}
	for i := len(s.jobs) - 1; i >= 0; i-- {
		if j := s.jobs[i]; !j.logsRemoved && j.byOutput[name] != nil {
			return j.byOutput[name]
		}
	}
	return nil
}
