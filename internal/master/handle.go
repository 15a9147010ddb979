package master

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"mapreduce/internal/scheduler"
	"mapreduce/protocol"
)

// handle serves one message that arrived on the master's TCP port.
func (s *Server) handle(conn net.Conn, msg any) {
	from := conn.RemoteAddr().String()
	switch m := msg.(type) {
	case protocol.Register:
		s.post(func(now time.Time) []scheduler.Action { return s.sched.Register(now, m) })
	case protocol.Status:
		s.post(func(now time.Time) []scheduler.Action { return s.sched.StatusReceived(now, m) })
	case protocol.Heartbeat:
		// Heartbeats belong on UDP, but one sent over TCP still says the
		// worker lives.
		s.post(func(now time.Time) []scheduler.Action { return s.sched.Heartbeat(now, m.WorkerPID) })
	case protocol.NewMasterJob:
		s.reply(conn, s.submit(m))
	case protocol.JobStatusRequest:
		s.reply(conn, s.status(m.JobID))
	case protocol.Shutdown:
		s.log.Info().Str("from", from).Msg("shutdown requested")
		s.Shutdown()
	default:
		s.log.Warn().Str("from", from).Str("type", fmt.Sprintf("%T", msg)).Msg("dropped message: not for the master")
	}
}

// reply answers on the request's connection. A sender that already closed
// (the seed's send_job.py) is not an error worth more than a debug line.
func (s *Server) reply(conn net.Conn, msg any) {
	if err := protocol.Reply(conn, msg); err != nil {
		s.log.Debug().Err(err).Msg("reply not delivered")
	}
}

// submit validates a job and queues it.
func (s *Server) submit(spec protocol.NewMasterJob) any {
	if err := validate(&spec); err != nil {
		s.log.Warn().Err(err).Msg("refused job")
		return protocol.Error{MessageType: protocol.TypeError, Error: err.Error()}
	}
	ids := make(chan int, 1)
	s.post(func(now time.Time) []scheduler.Action {
		id, actions := s.sched.Submit(now, spec)
		ids <- id
		return actions
	})
	select {
	case id := <-ids:
		return protocol.JobAccepted{MessageType: protocol.TypeJobAccepted, JobID: id}
	case <-s.shutdown:
		return protocol.Error{MessageType: protocol.TypeError, Error: "master is shutting down"}
	}
}

func (s *Server) status(jobID *int) any {
	answers := make(chan any, 1)
	s.post(func(time.Time) []scheduler.Action {
		status, ok := s.sched.Snapshot(jobID)
		if ok {
			answers <- status
		} else {
			answers <- protocol.Error{MessageType: protocol.TypeError, Error: fmt.Sprintf("no job %d", *jobID)}
		}
		return nil
	})
	select {
	case a := <-answers:
		return a
	case <-s.shutdown:
		return protocol.Error{MessageType: protocol.TypeError, Error: "master is shutting down"}
	}
}

// maxReducers bounds num_reducers: the master's merge writes every
// partition at once, each through its own buffer.
const maxReducers = 1000

// validate checks a job and makes its paths absolute, relative to the
// master's working directory. An executable named without a slash is left
// to the workers' PATH.
func validate(spec *protocol.NewMasterJob) error {
	var problems []string
	for _, f := range []struct {
		name string
		path *string
	}{
		{"input_directory", &spec.InputDirectory},
		{"output_directory", &spec.OutputDirectory},
		{"mapper_executable", &spec.MapperExecutable},
		{"reducer_executable", &spec.ReducerExecutable},
		{"combiner_executable", &spec.CombinerExecutable},
	} {
		if *f.path == "" && f.name == "combiner_executable" {
			continue // optional
		}
		if *f.path == "" {
			problems = append(problems, f.name+" is empty")
			continue
		}
		if !strings.Contains(*f.path, "/") && strings.HasSuffix(f.name, "_executable") {
			continue
		}
		abs, err := filepath.Abs(*f.path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", f.name, err))
			continue
		}
		*f.path = abs
	}
	if spec.NumMappers < 1 {
		problems = append(problems, fmt.Sprintf("num_mappers is %d, must be at least 1", spec.NumMappers))
	}
	if spec.NumReducers < 1 || spec.NumReducers > maxReducers {
		problems = append(problems, fmt.Sprintf("num_reducers is %d, must be from 1 to %d", spec.NumReducers, maxReducers))
	}
	if len(problems) > 0 {
		return errors.New("bad job: " + strings.Join(problems, "; "))
	}
	return nil
}
