package scheduler

import (
	"slices"
	"time"

	"mapreduce/protocol"
)

// Snapshot reports the job with id jobID, or every job when jobID is nil, and
// every worker. ok is false when the job does not exist.
func (s *Scheduler) Snapshot(jobID *int) (status protocol.ClusterStatus, ok bool) {
	status.MessageType = protocol.TypeJobStatusReply
	status.Jobs = []protocol.JobInfo{}
	status.Workers = []protocol.WorkerInfo{}
	if jobID != nil {
		j := s.job(*jobID)
		if j == nil {
			return status, false
		}
		status.Jobs = append(status.Jobs, j.info())
	} else {
		for _, j := range s.jobs {
			status.Jobs = append(status.Jobs, j.info())
		}
	}
	for _, w := range s.workers {
		status.Workers = append(status.Workers, protocol.WorkerInfo{
			PID: w.pid, Host: w.host, Port: w.port, State: w.state(), LastHeartbeat: w.lastBeat, Tasks: len(w.held),
		})
	}
	slices.SortFunc(status.Workers, func(a, b protocol.WorkerInfo) int { return a.PID - b.PID })
	return status, true
}

func (j *job) state() string {
	switch j.step {
	case stepQueued:
		return protocol.JobQueued
	case stepScanning, stepMapping:
		return protocol.JobMapping
	case stepSorting, stepCombining, stepMerging:
		return protocol.JobGrouping
	case stepReducing, stepMoving:
		return protocol.JobReducing
	case stepDone:
		return protocol.JobDone
	}
	return protocol.JobFailed
}

func (j *job) info() protocol.JobInfo {
	info := protocol.JobInfo{
		ID:              j.id,
		State:           j.state(),
		InputDirectory:  j.spec.InputDirectory,
		OutputDirectory: j.spec.OutputDirectory,
		Errors:          j.errors,
		Submitted:       j.submitted,
		Started:         timePtr(j.started),
		Ended:           timePtr(j.ended),
	}
	for ph, ts := range j.tasks {
		p := protocol.PhaseInfo{Name: phase(ph).String(), Total: len(ts)}
		if phase(ph) == phaseReduce && (len(ts) > 0 || j.step == stepMerging) {
			// Reduce tasks start as the merge hands out partitions; count
			// them all from the start.
			p.Total = j.spec.NumReducers
		}
		for _, t := range ts {
			if t.state == taskDone {
				p.Done++
			}
			info.Tasks = append(info.Tasks, t.info())
		}
		info.Phases = append(info.Phases, p)
	}
	return info
}

func (t *task) info() protocol.TaskInfo {
	info := protocol.TaskInfo{Phase: t.phase.String(), Index: t.index, State: taskStateNames[t.state]}
	for _, a := range t.attempts {
		info.Attempts = append(info.Attempts, protocol.AttemptInfo{
			WorkerPID: a.worker.pid, Start: a.start, End: timePtr(a.end), Outcome: a.outcome,
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
