package master

import (
	"fmt"
	"time"

	"mapreduce/internal/jobspec"
	"mapreduce/internal/scheduler"
	"mapreduce/protocol"
)

// handle serves one message that arrived on the master's TCP port. A
// report (status, attempt_log) is answered once recorded, its actions (the
// journal's record included) carried out, with status_ack, or with an
// error that tells our worker to send it again: a master that read a
// report never closes without an answer (internal/worker/report.go). A
// reference worker has closed already, and never reads the answer.
func (s *Server) handle(from string, msg protocol.Message, reply func(protocol.Message) error) {
	switch m := msg.(type) {
	case protocol.Register:
		s.post(scheduler.RegisterEvent{Msg: m})
	case protocol.Status:
		r, err := s.ask(scheduler.StatusEvent{Msg: m})
		switch {
		case err != nil:
			s.reply(reply, protocol.Error{Error: "the master is stopping: status not recorded; send it again"})
		case r.Later:
			// After a restart, a status may come before the heartbeat
			// that makes its worker known again and adopts its task.
			s.reply(reply, protocol.Error{Error: fmt.Sprintf("status from worker %d not taken yet: this master does not know the worker again yet, or the job has not started again since a restart; send it again", m.WorkerPID)})
		default:
			s.reply(reply, protocol.StatusAck{})
		}
	case protocol.AttemptLog:
		if _, err := s.ask(scheduler.AttemptLogEvent{Msg: m}); err == nil {
			s.reply(reply, protocol.StatusAck{})
		} else {
			s.reply(reply, protocol.Error{Error: "the master is stopping: log not recorded"})
		}
	case protocol.Heartbeat:
		// Heartbeats belong on UDP, but one sent over TCP still says the
		// worker lives.
		s.heartbeat(from, m)
	case protocol.NewMasterJob:
		s.reply(reply, s.submit(m))
	case protocol.JobStatusRequest:
		s.reply(reply, s.statusWhenChanged(m))
	case protocol.CancelJob:
		s.reply(reply, s.cancel(m.JobID))
	case protocol.TaskLogsRequest:
		s.reply(reply, s.taskLogs(m))
	case protocol.Shutdown:
		s.log.Info().Str("from", from).Msg("shutdown requested")
		s.Shutdown()
	default:
		s.log.Warn().Str("from", from).Str("type", msg.Type()).Msg("dropped message: not for the master")
	}
}

// reply answers on the request's connection. A sender that already closed
// (the reference send_job.py) is not an error worth more than a debug line.
func (s *Server) reply(reply func(protocol.Message) error, msg protocol.Message) {
	if err := reply(msg); err != nil {
		s.log.Debug().Err(err).Msg("reply not delivered")
	}
}

// submit validates a job, makes its paths absolute against the master's
// working directory, checks its files, and queues it.
func (s *Server) submit(spec protocol.NewMasterJob) protocol.Message {
	if err := jobspec.Validate(spec); err != nil {
		s.log.Warn().Err(err).Msg("refused job")
		return protocol.Error{Error: err.Error()}
	}
	jobspec.Resolve(&spec, s.cfg.Scheduler.WorkDir)
	if err := checkSubmitted(spec, s.cfg.Scheduler.VarDir); err != nil {
		s.log.Warn().Err(err).Msg("refused job")
		return protocol.Error{Error: "bad job: " + err.Error()}
	}
	r, err := s.ask(scheduler.SubmitEvent{Spec: spec})
	if err != nil {
		return protocol.Error{Error: err.Error()}
	}
	return protocol.JobAccepted{JobID: r.Job}
}

// statusWhenChanged answers a job_status request: at once, or, for one
// job with wait_ms, once the job's progress is no longer what the client
// has seen, or after the wait.
func (s *Server) statusWhenChanged(req protocol.JobStatusRequest) protocol.Message {
	if req.WaitMS <= 0 || req.JobID == nil {
		return s.status(req.JobID, req.Brief)
	}
	deadline := time.NewTimer(min(time.Duration(req.WaitMS)*time.Millisecond, protocol.MaxStatusWait))
	defer deadline.Stop()
	for {
		// Taken before the look, so that no change between the two is missed.
		changed, done := s.nextChange()
		answer := s.status(req.JobID, req.Brief)
		status, ok := answer.(protocol.ClusterStatus)
		if !ok || len(status.Jobs) != 1 || status.Jobs[0].Progress() != req.Seen {
			done()
			return answer
		}
		select {
		case <-changed:
			done()
		case <-deadline.C:
			done()
			return answer
		case <-s.shutdown:
			done()
			return answer
		}
	}
}

// status answers a job_status request.
func (s *Server) status(jobID *int, brief bool) protocol.Message {
	answer, err := read(s, func() protocol.Message {
		status, ok := s.sched.Snapshot(jobID, brief)
		if !ok {
			return protocol.Error{Error: fmt.Sprintf("no job %d", *jobID)}
		}
		return status
	})
	if err != nil {
		return protocol.Error{Error: err.Error()}
	}
	return answer
}

// cancel answers a cancel_job request with the job's status once cancelled.
func (s *Server) cancel(jobID int) protocol.Message {
	r, err := s.ask(scheduler.CancelEvent{Job: jobID})
	if err == nil {
		err = r.Err
	}
	if err != nil {
		return protocol.Error{Error: err.Error()}
	}
	return s.status(&jobID, false)
}
