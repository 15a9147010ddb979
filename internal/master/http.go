package master

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"mapreduce/internal/scheduler"
	"mapreduce/protocol"
)

// startHTTP serves the status endpoints on addr until the master stops.
func (s *Server) startHTTP(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for HTTP: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		status, err := s.snapshot()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(status)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Msg("HTTP server")
		}
	}()
	go func() {
		<-s.shutdown
		srv.Close()
	}()
	s.log.Info().Str("addr", "http://"+ln.Addr().String()+"/").Msg("status page")
	return nil
}

// snapshot asks the loop for the state of every job and worker.
func (s *Server) snapshot() (protocol.ClusterStatus, error) {
	answers := make(chan protocol.ClusterStatus, 1)
	s.post(func(time.Time) []scheduler.Action {
		status, _ := s.sched.Snapshot(nil)
		answers <- status
		return nil
	})
	select {
	case status := <-answers:
		return status, nil
	case <-s.shutdown:
		return protocol.ClusterStatus{}, errors.New("master is shutting down")
	}
}
