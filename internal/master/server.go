// Package master runs the MapReduce master: it listens for jobs, control
// messages and worker statuses on TCP and for heartbeats on UDP, and carries
// out what its scheduler decides.
package master

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/scheduler"
	"mapreduce/protocol"
)

// Config sets up a master.
type Config struct {
	// Host is the address to listen on.
	Host string
	// Port is the TCP port; heartbeats arrive on UDP Port-1.
	Port int
	// VarDir is wiped and made anew at start; jobs keep their files there.
	VarDir            string
	HeartbeatInterval time.Duration
	MissedHeartbeats  int
	// AckRetry is how long to keep trying to deliver a register_ack.
	AckRetry time.Duration
	// HTTPAddr, if set, is where the status page is served.
	HTTPAddr string
	// Speculate and SpeculateAfter: see scheduler.Config.
	Speculate      bool
	SpeculateAfter time.Duration
}

// event is a call into the scheduler, run on the loop goroutine.
type event func(now time.Time) []scheduler.Action

// Server is a running master.
type Server struct {
	cfg      Config
	log      zerolog.Logger
	sched    *scheduler.Scheduler
	events   chan event
	shutdown chan struct{}
	stop     sync.Once
	done     chan struct{}
	outboxes map[int]*outbox // by worker incarnation
	tcp      net.Listener
	udp      net.PacketConn
}

// Run starts a master and serves until a shutdown message arrives, which it
// forwards to every worker before returning.
func Run(cfg Config, log zerolog.Logger) error {
	s, err := Start(cfg, log)
	if err != nil {
		return err
	}
	return s.Wait()
}

// Start prepares var/, opens the listeners and starts serving.
func Start(cfg Config, log zerolog.Logger) (*Server, error) {
	varDir, err := filepath.Abs(cfg.VarDir)
	if err != nil {
		return nil, fmt.Errorf("var directory: %w", err)
	}
	workDir, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("working directory: %w", err)
	}
	tcp, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	udp, err := net.ListenPacket("udp", protocol.HeartbeatAddr(cfg.Host, cfg.Port))
	if err != nil {
		tcp.Close()
		return nil, fmt.Errorf("listen for heartbeats: %w", err)
	}
	// Only now that the ports are ours: a second master started by mistake
	// must not wipe the running one's files.
	if err := resetDir(varDir); err != nil {
		tcp.Close()
		udp.Close()
		return nil, err
	}
	s := &Server{
		cfg: cfg,
		log: log,
		sched: scheduler.New(scheduler.Config{
			VarDir:            varDir,
			WorkDir:           workDir,
			HeartbeatInterval: cfg.HeartbeatInterval,
			MissedHeartbeats:  cfg.MissedHeartbeats,
			AckRetry:          cfg.AckRetry,
			Speculate:         cfg.Speculate,
			SpeculateAfter:    cfg.SpeculateAfter,
		}, log),
		events:   make(chan event),
		shutdown: make(chan struct{}),
		done:     make(chan struct{}),
		outboxes: make(map[int]*outbox),
		tcp:      tcp,
		udp:      udp,
	}
	log.Info().Str("tcp", tcp.Addr().String()).Str("udp", udp.LocalAddr().String()).
		Str("var", varDir).Msg("master listening")
	if cfg.HTTPAddr != "" {
		if err := s.startHTTP(cfg.HTTPAddr); err != nil {
			tcp.Close()
			udp.Close()
			return nil, err
		}
	}
	go s.loop()
	go s.readHeartbeats()
	go func() {
		if err := protocol.Serve(tcp, log, s.handle); err != nil {
			log.Error().Err(err).Msg("serve")
		}
	}()
	return s, nil
}

func resetDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

// Wait blocks until the master has shut down.
func (s *Server) Wait() error {
	<-s.done
	return nil
}

// Shutdown stops the master as a shutdown message would.
func (s *Server) Shutdown() {
	s.stop.Do(func() { close(s.shutdown) })
}

// post hands ev to the loop; it is dropped once the master is stopping.
func (s *Server) post(ev event) {
	select {
	case s.events <- ev:
	case <-s.shutdown:
	}
}

func (s *Server) loop() {
	defer close(s.done)
	tick := time.NewTicker(s.cfg.HeartbeatInterval / 2)
	defer tick.Stop()
	for {
		select {
		case ev := <-s.events:
			s.execute(ev(time.Now()))
		case now := <-tick.C:
			s.execute(s.sched.Tick(now))
		case <-s.shutdown:
			s.stopServing()
			return
		}
	}
}

// stopServing closes the listeners and forwards shutdown to every worker.
func (s *Server) stopServing() {
	s.tcp.Close()
	s.udp.Close()
	var wg sync.WaitGroup
	for _, send := range s.sched.ShutdownTargets() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := protocol.Send(send.Addr, send.Msg); err != nil {
				s.log.Info().Err(err).Int("worker", send.PID).Msg("shutdown not delivered")
			}
		}()
	}
	wg.Wait()
	s.log.Info().Msg("master shut down")
}

func (s *Server) readHeartbeats() {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := s.udp.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			s.log.Warn().Err(err).Msg("read heartbeat")
			continue
		}
		pid, err := protocol.ParseHeartbeat(buf[:n])
		if err != nil {
			s.log.Warn().Err(err).Str("from", from.String()).Msg("dropped heartbeat")
			continue
		}
		s.post(func(now time.Time) []scheduler.Action { return s.sched.Heartbeat(now, pid) })
	}
}

// The seed's timings.
const (
	DefaultHeartbeatInterval = 2 * time.Second
	DefaultMissedHeartbeats  = 5
	DefaultAckRetry          = 5 * time.Second
	DefaultSpeculateAfter    = 3 * time.Second
)
