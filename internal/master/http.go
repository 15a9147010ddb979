package master

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"mapreduce/internal/secret"
	"mapreduce/internal/statuspage"
	"mapreduce/protocol"
)

// startHTTP serves the status page at /, a page per job at /jobs/ID and
// their data as JSON at /api/status on addr until the master stops.
func (s *Server) startHTTP(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for HTTP: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /jobs/{job}", s.serveJobPage)
	mux.HandleFunc("GET /api/status", s.serveJSON)
	mux.HandleFunc("GET /logs/{job}", s.serveLogs)
	mux.HandleFunc("GET /logs/{job}/{task}", s.serveLogs)
	token := ""
	if s.cfg.Secret != nil {
		token = secret.StatusToken(s.cfg.Secret)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	// Every phase of a request has a deadline, and an idle connection is
	// closed: whoever reaches the port cannot hold connections open.
	srv := &http.Server{Handler: requireToken(token, tokenCookie+port, mux), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Msg("HTTP server")
		}
	}()
	go func() {
		<-s.shutdown
		srv.Close()
	}()
	s.log.Info().Str("addr", s.pageURL(ln)).Msg("status page")
	return nil
}

// servePage renders the HTML status page.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	status, err := s.snapshot()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	var page bytes.Buffer
	if err := statuspage.Render(&page, status, time.Now()); err != nil {
		s.log.Error().Err(err).Msg("status page")
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(page.Bytes())
}

// serveJobPage renders the HTML page of one job, running or ended: the
// master keeps every job's record (its tasks' logs are what it prunes).
func (s *Server) serveJobPage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("job"))
	if err != nil {
		http.Error(w, "bad job id", http.StatusBadRequest)
		return
	}
	type answer struct {
		job protocol.JobInfo
		ok  bool
	}
	a, err := read(s, func() answer {
		status, ok := s.sched.Snapshot(&id, false)
		if !ok {
			return answer{}
		}
		return answer{status.Jobs[0], true}
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if !a.ok {
		http.Error(w, fmt.Sprintf("no job %d", id), http.StatusNotFound)
		return
	}
	var page bytes.Buffer
	if err := statuspage.RenderJob(&page, a.job, time.Now()); err != nil {
		s.log.Error().Err(err).Int("job", id).Msg("job page")
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(page.Bytes())
}

// serveJSON answers with the protocol.ClusterStatus of every job and worker.
func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request) {
	status, err := s.snapshot()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	data, err := protocol.Encode(status)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(data, '\n'))
}

// serveLogs answers with the logs of a job's tasks, or of one task, as text.
func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("job"))
	if err != nil {
		http.Error(w, "bad job id", http.StatusBadRequest)
		return
	}
	var text bytes.Buffer
	switch answer := s.taskLogs(protocol.TaskLogsRequest{JobID: id, Task: r.PathValue("task")}).(type) {
	case protocol.TaskLogs:
		statuspage.WriteLogs(&text, answer)
	case protocol.Error:
		http.Error(w, answer.Error, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(text.Bytes())
}

// snapshot asks the loop for the state of every job and worker.
func (s *Server) snapshot() (protocol.ClusterStatus, error) {
	return read(s, func() protocol.ClusterStatus {
		status, _ := s.sched.Snapshot(nil, false)
		return status
	})
}
