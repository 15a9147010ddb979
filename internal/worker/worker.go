// Package worker runs a MapReduce worker: it registers with a master, sends
// heartbeats, and runs the map, reduce and sort tasks the master sends it.
package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/protocol"
)

// Config sets up a worker.
type Config struct {
	MasterHost string
	MasterPort int
	// Host is the address the worker listens on and tells the master.
	Host string
	Port int
	// HeartbeatInterval is how often to send a heartbeat. A worker the
	// master declared dead (it was frozen, say) needs nothing else: its next
	// heartbeat makes it ready again.
	HeartbeatInterval time.Duration
	// RegisterTimeout bounds how long to keep trying to register.
	RegisterTimeout time.Duration
	// Parallel bounds how many executables run at once (sorts, one at a
	// time, come on top).
	Parallel int
	// SortMemory is about how many bytes of lines the worker's sort holds
	// in memory before it spills sorted runs to disk. Sorts run one at a
	// time, and the Go heap is held near this plus some headroom.
	SortMemory int64
}

// memoryHeadroom is the Go heap a worker may use beyond its sort budget:
// buffers, messages, and the garbage of a sort's growing buffers.
const memoryHeadroom = 48 << 20

// Worker is a running worker.
type Worker struct {
	cfg   Config
	log   zerolog.Logger
	pid   int
	ln    net.Listener
	acked chan struct{}
	ack   sync.Once
	slots chan struct{}
	// sorting holds one sort at a time, so that --sort-memory bounds the
	// worker, not each of its sorts.
	sorting chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
}

func (w *Worker) masterAddr() string {
	return net.JoinHostPort(w.cfg.MasterHost, strconv.Itoa(w.cfg.MasterPort))
}

// Run starts a worker and serves until the master sends shutdown or
// registration fails.
func Run(cfg Config, log zerolog.Logger) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// Make the garbage collector run before the heap grows far past the
		// sort's budget, rather than at twice what is live.
		debug.SetMemoryLimit(cfg.SortMemory + memoryHeadroom)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &Worker{
		cfg:     cfg,
		log:     log,
		pid:     os.Getpid(),
		ln:      ln,
		acked:   make(chan struct{}),
		slots:   make(chan struct{}, max(1, cfg.Parallel)),
		sorting: make(chan struct{}, 1),
		ctx:     ctx,
		cancel:  cancel,
	}
	w.log = log.With().Int("pid", w.pid).Logger()
	w.log.Info().Str("addr", ln.Addr().String()).Str("master", w.masterAddr()).Msg("worker listening")
	served := make(chan error, 1)
	go func() { served <- protocol.Serve(ln, w.log, w.handle) }()
	if err := w.register(); err != nil {
		ln.Close()
		return err
	}
	go w.heartbeat()
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	ln.Close()
	w.log.Info().Msg("worker shut down")
	return nil
}

// register sends register until the master takes it and answers with
// register_ack, or RegisterTimeout passes.
func (w *Worker) register() error {
	msg := protocol.Register{
		MessageType: protocol.TypeRegister,
		WorkerHost:  w.cfg.Host,
		WorkerPort:  w.cfg.Port,
		WorkerPID:   w.pid,
	}
	deadline := time.Now().Add(w.cfg.RegisterTimeout)
	// A master busy with another message may take a while to answer: wait
	// longer each time rather than flood it with registrations.
	ackWait := 2 * time.Second
	for {
		err := protocol.Send(w.masterAddr(), msg)
		if err == nil {
			select {
			case <-w.acked:
				w.log.Info().Msg("registered")
				return nil
			case <-w.ctx.Done():
				return nil
			case <-time.After(min(time.Until(deadline), ackWait)):
				err = errors.New("no register_ack")
				ackWait *= 2
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("register with master at %s: %w", w.masterAddr(), err)
		}
		w.log.Debug().Err(err).Msg("register: trying again")
		select {
		case <-time.After(200 * time.Millisecond):
		case <-w.ctx.Done():
			return nil
		}
	}
}

// heartbeat sends a heartbeat every interval until shutdown.
func (w *Worker) heartbeat() {
	conn, err := net.Dial("udp", protocol.HeartbeatAddr(w.cfg.MasterHost, w.cfg.MasterPort))
	if err != nil {
		w.log.Error().Err(err).Msg("heartbeat socket")
		return
	}
	defer conn.Close()
	tick := time.NewTicker(w.cfg.HeartbeatInterval)
	defer tick.Stop()
	for {
		if err := protocol.SendHeartbeat(conn, w.pid); err != nil {
			w.log.Warn().Err(err).Msg("heartbeat")
		}
		select {
		case <-w.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (w *Worker) handle(conn net.Conn, msg any) {
	from := conn.RemoteAddr().String()
	switch m := msg.(type) {
	case protocol.RegisterAck:
		w.ack.Do(func() { close(w.acked) })
	case protocol.NewWorkerJob:
		go w.runWorkerJob(m)
	case protocol.NewSortJob:
		go w.runSortJob(m)
	case protocol.Shutdown:
		w.log.Info().Str("from", from).Msg("shutdown")
		w.cancel()
	default:
		w.log.Warn().Str("from", from).Str("type", fmt.Sprintf("%T", msg)).Msg("dropped message: not for a worker")
	}
}

// report sends a status to the master, trying again for a while: a lost
// status would leave its task running forever in the master's eyes, while a
// repeated one is ignored.
func (w *Worker) report(status any) {
	backoff := 100 * time.Millisecond
	deadline := time.Now().Add(w.cfg.RegisterTimeout)
	for {
		err := protocol.Send(w.masterAddr(), status)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			w.log.Error().Err(err).Msg("status not delivered")
			return
		}
		w.log.Warn().Err(err).Msg("status not delivered; trying again")
		select {
		case <-time.After(backoff):
		case <-w.ctx.Done():
			return
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}
