// Package master runs the MapReduce master: it listens for jobs, control
// messages and worker statuses on TCP and for heartbeats on UDP, and carries
// out what its scheduler decides.
//
// One goroutine, the loop, owns the scheduler. Everything else (connection
// handlers, heartbeats, outboxes, the master's own file work) posts events
// to the loop and never touches the scheduler itself.
package master

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/journal"
	"mapreduce/internal/netaddr"
	"mapreduce/internal/scheduler"
	"mapreduce/internal/vardir"
	"mapreduce/protocol"
)

// request is an event for the loop, and where its answer goes: reply is
// nil for an event whose poster waits for nothing.
type request struct {
	ev    scheduler.Event
	reply chan<- scheduler.Result
}

// errStopping answers whatever asks a master that is shutting down.
var errStopping = errors.New("master is shutting down")

// Server is a running master.
type Server struct {
	cfg       Config
	log       zerolog.Logger
	transport protocol.Transport
	sched     *scheduler.Scheduler
	events    chan request
	// reads are looks at the scheduler that change nothing (a status
	// request's): they are not events, and wake no status request that
	// waits for a change.
	reads chan func()
	// changed is closed, and made anew, after each event that may change
	// a job (not a heartbeat, not a read) while status requests wait for
	// one (waiting counts them).
	changedMu sync.Mutex
	changed   chan struct{}
	waiting   atomic.Int32
	beats     chan protocol.Heartbeat
	// datagramDrops logs datagrams that are not heartbeats, at a bounded
	// rate.
	datagramDrops protocol.DropLog
	shutdown      chan struct{}
	stop          sync.Once
	// forward: the stop came as a shutdown message, which goes on to the
	// workers; a stop by signal leaves them for the next master.
	forward   bool
	done      chan struct{}
	outboxes  map[int]*outbox // by worker incarnation; the loop's
	listeners []protocol.Listener
	// removals are the directories being removed, waited for by Wait.
	removals sync.WaitGroup
	// lock holds the var directory; journal is in it (recover.go).
	lock    *vardir.Lock
	journal *journal.Journal
}

// Start prepares the var directory, opens the listeners and starts serving.
func Start(cfg Config, log zerolog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	varDir, err := filepath.Abs(cfg.Scheduler.VarDir)
	if err != nil {
		return nil, fmt.Errorf("var directory: %w", err)
	}
	workDir, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("working directory: %w", err)
	}
	cfg.Scheduler.VarDir, cfg.Scheduler.WorkDir = varDir, workDir
	cfg.Scheduler.MasterHost, cfg.Scheduler.MasterPort = cfg.Host, cfg.Port
	s := &Server{
		cfg:       cfg,
		log:       log,
		transport: cfg.Transport,
		sched:     scheduler.New(cfg.Scheduler, log),
		events:    make(chan request),
		reads:     make(chan func()),
		changed:   make(chan struct{}),
		beats:     make(chan protocol.Heartbeat, pendingBeats),
		shutdown:  make(chan struct{}),
		done:      make(chan struct{}),
		outboxes:  make(map[int]*outbox),
	}
	if s.transport == nil {
		s.transport = protocol.TCP{Log: log, Auth: newAuth(cfg.Secret)}
	}
	if s.cfg.AdvertiseHost, err = netaddr.Advertised(cfg.Host, cfg.AdvertiseHost); err != nil {
		return nil, err
	}
	// The var directory is locked before anything in it changes, and its
	// journal read only once the ports are ours: a second master started
	// by mistake must not touch the running one's files.
	if s.lock, err = vardir.Open(varDir, workDir, vardir.Master); err != nil {
		return nil, err
	}
	err = s.listen()
	var kept *journal.State
	if err == nil {
		kept, err = s.openJournal()
	}
	if err == nil && cfg.HTTPAddr != "" {
		err = s.startHTTP(cfg.HTTPAddr)
	}
	if err != nil {
		// Unblock whatever a handler posted before the loop runs.
		s.Shutdown()
		s.closeListeners()
		s.closeVar()
		return nil, err
	}
	// Before any event: the jobs the journal kept come first.
	s.execute(s.step(time.Now(), scheduler.RestoreEvent{State: kept}))
	log.Info().Str("tcp", s.listeners[0].Addr()).Str("udp", s.listeners[1].Addr()).
		Str("advertise", s.cfg.AdvertiseHost).Bool("authenticated", cfg.Secret != nil).
		Str("var", varDir).Msg("master listening")
	go s.loop()
	return s, nil
}

// listen opens the TCP port and the heartbeat port.
func (s *Server) listen() error {
	tcp, err := s.transport.Listen(net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)), s.handle)
	if err != nil {
		return err
	}
	s.listeners = append(s.listeners, tcp)
	udp, err := s.transport.ListenDatagrams(protocol.HeartbeatAddr(s.cfg.Host, s.cfg.Port), s.heartbeat)
	if err != nil {
		return err
	}
	s.listeners = append(s.listeners, udp)
	return nil
}

func (s *Server) closeListeners() {
	for _, ln := range s.listeners {
		ln.Close()
	}
}

// Wait blocks until the master has shut down and the directories of ended
// jobs are removed.
func (s *Server) Wait() {
	<-s.done
	s.removals.Wait()
}

// Shutdown stops the master as a shutdown message would: the workers are
// shut down too.
func (s *Server) Shutdown() {
	s.stop.Do(func() {
		s.forward = true
		close(s.shutdown)
	})
}

// Stop stops the master and leaves its workers running: they register
// with the next master on the same port by themselves (ours do).
func (s *Server) Stop() {
	s.stop.Do(func() { close(s.shutdown) })
}

// post hands ev to the loop; it is dropped once the master is stopping.
func (s *Server) post(ev scheduler.Event) { s.postRequest(request{ev: ev}) }

func (s *Server) postRequest(req request) {
	select {
	case s.events <- req:
	case <-s.shutdown:
	}
}

// announce wakes the status requests waiting for a change.
func (s *Server) announce() {
	if s.waiting.Load() == 0 {
		return
	}
	s.changedMu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.changedMu.Unlock()
}

// nextChange returns a channel closed after the next event that may change
// a job; done must be called once the caller no longer waits on it.
func (s *Server) nextChange() (ch <-chan struct{}, done func()) {
	s.waiting.Add(1)
	s.changedMu.Lock()
	defer s.changedMu.Unlock()
	return s.changed, func() { s.waiting.Add(-1) }
}

// ask hands ev to the loop and returns its answer, or errStopping. The
// answer comes once ev's actions are carried out: a job is accepted once
// its directories exist.
func (s *Server) ask(ev scheduler.Event) (scheduler.Result, error) {
	reply := make(chan scheduler.Result, 1)
	s.postRequest(request{ev: ev, reply: reply})
	select {
	case r := <-reply:
		return r, nil
	case <-s.shutdown:
		return scheduler.Result{}, errStopping
	}
}

// read runs f, which only looks at the scheduler, on the loop and returns
// its answer, or errStopping.
func read[T any](s *Server, f func() T) (T, error) {
	answers := make(chan T, 1)
	select {
	case s.reads <- func() { answers <- f() }:
	case <-s.shutdown:
	}
	select {
	case a := <-answers:
		return a, nil
	case <-s.shutdown:
		var zero T
		return zero, errStopping
	}
}

// pendingBeats is how many heartbeats may wait for the loop before the
// heartbeat listener waits too.
const pendingBeats = 1024

func (s *Server) loop() {
	defer close(s.done)
	defer s.closeVar()
	tick := time.NewTicker(s.cfg.Scheduler.HeartbeatInterval / 2)
	defer tick.Stop()
	for {
		select {
		case req := <-s.events:
			actions, r := s.sched.Step(time.Now(), req.ev)
			s.execute(actions)
			if req.reply != nil {
				req.reply <- r // buffered: the loop never waits for the asker
			}
			s.announce()
		case f := <-s.reads:
			f()
		case hb := <-s.beats:
			s.execute(s.step(time.Now(), scheduler.HeartbeatEvent{Msg: hb}))
		case <-tick.C:
			// Heartbeats that arrived while the loop was busy count before
			// it judges who is dead: a loop held up (by a flood of
			// messages, a slow disk, the garbage collector) must not take
			// its own delay for the workers' silence.
			s.takeBeats()
			s.execute(s.step(time.Now(), scheduler.TickEvent{}))
			s.announce()
		case <-s.shutdown:
			s.stopServing()
			return
		}
	}
}

// step applies ev, which answers nothing, at once. Only the loop calls it:
// for heartbeats, ticks, and the results of file work done on the loop.
func (s *Server) step(now time.Time, ev scheduler.Event) []scheduler.Action {
	actions, _ := s.sched.Step(now, ev)
	return actions
}

// closeVar closes the journal and releases the var directory.
func (s *Server) closeVar() {
	if s.journal != nil {
		if err := s.journal.Close(); err != nil {
			s.log.Warn().Err(err).Msg("journal: close")
		}
	}
	s.lock.Release()
}

// stopServing closes the listeners and, for a shutdown, forwards it to
// every worker.
func (s *Server) stopServing() {
	s.closeListeners()
	if !s.forward {
		s.log.Info().Msg("master stopped; its workers run on")
		return
	}
	var wg sync.WaitGroup
	for _, send := range s.sched.ShutdownTargets() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.transport.Send(send.Addr, send.Msg); err != nil {
				s.log.Info().Err(err).Int("worker", send.PID).Msg("shutdown not delivered")
			}
		}()
	}
	wg.Wait()
	s.log.Info().Msg("master shut down")
}

// takeBeats passes the heartbeats waiting for the loop to the scheduler.
func (s *Server) takeBeats() {
	for range len(s.beats) {
		s.execute(s.step(time.Now(), scheduler.HeartbeatEvent{Msg: <-s.beats}))
	}
}

// heartbeat takes one datagram from the heartbeat port. Heartbeats have a
// queue of their own, which the loop empties before each check for dead
// workers, rather than waiting their turn among the events.
func (s *Server) heartbeat(from string, msg protocol.Message) {
	hb, ok := msg.(protocol.Heartbeat)
	if !ok {
		s.datagramDrops.Log(s.log, from, fmt.Errorf("a %s", msg.Type()), "dropped datagram: not a heartbeat")
		return
	}
	select {
	case s.beats <- hb:
	case <-s.shutdown:
	}
}
