// Package worker runs a MapReduce worker: it registers with a master, sends
// heartbeats, and runs the tasks the master sends it: new_worker_job (a map,
// combine or reduce task; the worker cannot tell which) and new_sort_job.
package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/backoff"
	"mapreduce/internal/netaddr"
	"mapreduce/internal/proctree"
	"mapreduce/protocol"
)

// outageLogEvery is how often a worker that cannot reach its master says
// so again.
const outageLogEvery = time.Minute

// Worker is a running worker.
type Worker struct {
	cfg       Config
	log       zerolog.Logger
	transport protocol.Transport
	ln        protocol.Listener
	// acked is closed by the first register_ack.
	acked chan struct{}
	ack   sync.Once
	// slots holds one token per running executable.
	slots chan struct{}
	// sorting holds one sort at a time, so that SortMemory bounds the
	// worker, not each of its sorts.
	sorting chan struct{}
	// gathers holds one token per reduce task of the shuffle fetching and
	// merging its input, or whose merged input waits for a slot; as many
	// as slots. The master sends a worker every reduce task it is given
	// at once: each gather holds connections, files and merge buffers,
	// and each merged input a partition on the local disk.
	gathers chan struct{}
	// fetches holds one token per fetch_run being served.
	fetches  chan struct{}
	ctx      context.Context
	stop     context.CancelFunc
	stopOnce sync.Once

	mu sync.Mutex
	// local is the local directory, once it is ready (Config.LocalDir).
	local string
	// held are the tasks the worker holds, by their cleaned output name.
	held map[string]*running
	// tasks counts the task goroutines, which Wait waits for: each kills
	// what its programs started before it ends. stopping, set once the
	// worker stops, refuses new ones.
	tasks    sync.WaitGroup
	stopping bool
	// trees starts programs so that what they start can be killed.
	trees *proctree.Tracker
	// ended is closed once the worker has stopped, its programs are gone
	// and its cgroup with them.
	ended chan struct{}
	// ready is closed once the local directory is ready: a task that
	// comes before (the port is served from the start) waits for it.
	ready chan struct{}
	// dropTasks counts down Config.DropTasks.
	dropTasks atomic.Int64
	// extended: the master announced it takes our heartbeat extensions; a
	// reference master gets the reference protocol's heartbeat.
	extended atomic.Bool
	// reports: the master announced it takes counters, status lines and
	// logs (protocol.CapReport).
	reports atomic.Bool
	// acks: the master announced it acknowledges each status
	// (protocol.CapAck).
	acks atomic.Bool
}

// Start listens, registers with the master and starts heartbeats. It
// returns once the master has acknowledged the worker, or with an error.
func Start(cfg Config, log zerolog.Logger) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.PID == 0 {
		cfg.PID = os.Getpid()
	}
	if cfg.ID == "" {
		var id [8]byte
		if _, err := rand.Read(id[:]); err != nil {
			return nil, fmt.Errorf("worker id: %w", err)
		}
		cfg.ID = hex.EncodeToString(id[:])
	}
	w := &Worker{
		cfg:       cfg,
		log:       log.With().Int("pid", cfg.PID).Logger(),
		transport: cfg.Transport,
		acked:     make(chan struct{}),
		slots:     make(chan struct{}, cfg.Parallel),
		sorting:   make(chan struct{}, 1),
		gathers:   make(chan struct{}, cfg.Parallel),
		fetches:   make(chan struct{}, maxFetches),
		held:      make(map[string]*running),
		ended:     make(chan struct{}),
		ready:     make(chan struct{}),
	}
	var err error
	if w.cfg.AdvertiseHost, err = netaddr.Advertised(cfg.Host, cfg.AdvertiseHost); err != nil {
		return nil, err
	}
	if w.transport == nil {
		tcp := protocol.TCP{Log: w.log, Master: w.masterAddr()}
		if cfg.Secret != nil {
			tcp.Auth = protocol.NewAuth(cfg.Secret, w.self())
		}
		w.transport = tcp
	}
	w.dropTasks.Store(int64(cfg.DropTasks))
	w.ctx, w.stop = context.WithCancel(context.Background())
	// Before listening: a task may come as soon as the port is ours.
	w.trees = proctree.New(cfg.NoCgroups)
	ln, err := w.transport.Listen(net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), w.handle)
	if err != nil {
		w.trees.Close()
		return nil, err
	}
	go w.end()
	w.mu.Lock()
	w.ln = ln
	stopped := w.ctx.Err() != nil // a shutdown came already
	w.mu.Unlock()
	if stopped {
		ln.Close()
	}
	// The local directory is wiped only once the port is ours: a second
	// worker started by mistake on the same port must not wipe the running
	// one's runs.
	if err := w.prepareLocalDir(); err != nil {
		w.Stop()
		return nil, err
	}
	close(w.ready)
	w.log.Info().Str("addr", ln.Addr()).Str("advertise", w.cfg.AdvertiseHost).Str("master", w.masterAddr()).
		Bool("authenticated", cfg.Secret != nil).Str("local_dir", w.localDir()).
		Str("process_trees", w.trees.Method()).Str("process_trees_detail", w.trees.Detail()).Msg("worker listening")
	if err := w.register(); err != nil {
		if w.ctx.Err() != nil {
			return w, nil // shut down before the ack: a clean stop
		}
		w.Stop()
		<-w.ended // its cgroup is gone
		return nil, err
	}
	go w.heartbeat()
	return w, nil
}

// Wait blocks until the worker has stopped and its programs are gone.
func (w *Worker) Wait() {
	<-w.ended
	w.removeRuns()
}

// end waits for the worker to stop and its tasks to end, and then removes
// its cgroup, whether or not anyone waits for it.
func (w *Worker) end() {
	<-w.ctx.Done()
	w.mu.Lock()
	w.stopping = true
	w.mu.Unlock()
	w.tasks.Wait()
	if err := w.trees.Close(); err != nil {
		w.log.Warn().Err(err).Msg("could not remove the worker's cgroup")
	}
	close(w.ended)
}

// Stop stops the worker as a shutdown message would: it stops listening
// and kills the executables it runs.
func (w *Worker) Stop() {
	w.stopOnce.Do(func() {
		w.log.Info().Msg("worker shut down")
		w.stop()
		w.mu.Lock()
		ln := w.ln // nil while Start has not got it yet; Start closes it then
		w.mu.Unlock()
		if ln != nil {
			ln.Close()
		}
	})
}

// PID is the worker's id in the protocol.
func (w *Worker) PID() int { return w.cfg.PID }

// Addr is the address the worker listens on.
func (w *Worker) Addr() string { return w.ln.Addr() }

// self is the worker as authenticated frames name it: by the host it
// advertises, which the master and the other workers dial, and the one it
// listens on, unless that is every address.
func (w *Worker) self() protocol.Self {
	self := protocol.Self{Role: protocol.RoleWorker, Hosts: []string{w.cfg.AdvertiseHost}}
	if !netaddr.Unspecified(w.cfg.Host) && w.cfg.Host != w.cfg.AdvertiseHost {
		self.Hosts = append(self.Hosts, w.cfg.Host)
	}
	return self
}

func (w *Worker) masterAddr() string {
	return net.JoinHostPort(w.cfg.MasterHost, strconv.Itoa(w.cfg.MasterPort))
}

// register sends register until the master answers with register_ack, or
// RegisterTimeout passes. A master busy with another message may take a
// while to answer: the worker waits longer for the ack each time rather
// than flood it with registrations.
func (w *Worker) register() error {
	msg := w.registration()
	ackWait := 2 * time.Second
	deadline := time.Now().Add(w.cfg.RegisterTimeout)
	err := backoff.Retry(w.ctx, backoff.Policy{
		First:    200 * time.Millisecond,
		Max:      200 * time.Millisecond,
		Deadline: deadline,
		OnRetry:  func(err error) { w.log.Debug().Err(err).Msg("register: trying again") },
	}, func() error {
		if err := w.transport.Send(w.masterAddr(), msg); err != nil {
			return err
		}
		select {
		case <-w.acked:
			return nil
		case <-time.After(min(ackWait, max(time.Until(deadline), 0))):
			ackWait *= 2
			return errors.New("no register_ack")
		case <-w.ctx.Done():
			return w.ctx.Err()
		}
	})
	if err != nil {
		return fmt.Errorf("register with master at %s: %w", w.masterAddr(), err)
	}
	w.log.Info().Msg("registered")
	return nil
}

// registration is the worker's register message, which its heartbeats
// repeat so that a restarted master admits it again.
func (w *Worker) registration() protocol.Register {
	msg := protocol.Register{WorkerHost: w.cfg.AdvertiseHost, WorkerPort: w.cfg.Port, WorkerPID: w.cfg.PID,
		Capabilities: []string{protocol.CapProgress, protocol.CapCancel, protocol.CapTask, protocol.CapSplits, protocol.CapPrograms}, WorkerID: w.cfg.ID}
	if w.cfg.Shuffle {
		msg.Capabilities = append(msg.Capabilities, protocol.CapShuffle)
	}
	if w.cfg.Port == 0 {
		// The port was chosen when listening.
		_, port, _ := net.SplitHostPort(w.ln.Addr())
		msg.WorkerPort, _ = strconv.Atoi(port)
	}
	return msg
}

// heartbeat sends a heartbeat every interval until the worker stops.
func (w *Worker) heartbeat() {
	addr := protocol.HeartbeatAddr(w.cfg.MasterHost, w.cfg.MasterPort)
	// Room for the header of a frame sealed for the master, whose length
	// depends on the master's host name; kept without a secret too.
	room := protocol.MaxHeartbeatSize - protocol.SealedOverhead(protocol.Dest(protocol.RoleMaster, addr, nil))
	tick := time.NewTicker(w.cfg.HeartbeatInterval)
	defer tick.Stop()
	var failing, logged time.Time // since when sends fail, when last logged
	next := 0                     // the first task to list, when they do not all fit
	for {
		hb := protocol.Heartbeat{WorkerPID: w.cfg.PID}
		if w.extended.Load() {
			reg := w.registration()
			hb.Tasks, hb.WorkerID, hb.WorkerHost, hb.WorkerPort, hb.Capabilities =
				w.heldTasks(w.reports.Load()), reg.WorkerID, reg.WorkerHost, reg.WorkerPort, reg.Capabilities
			hb = fitHeartbeat(hb, next, room)
			next += len(hb.Tasks)
		}
		err := w.transport.SendDatagram(addr, hb)
		switch {
		case err != nil && (failing.IsZero() || time.Since(logged) > outageLogEvery):
			// An outage is logged once, then at a low rate.
			w.log.Warn().Err(err).Msg("heartbeat not sent")
			logged = time.Now()
			if failing.IsZero() {
				failing = logged
			}
		case err == nil && !failing.IsZero():
			w.log.Info().Stringer("after", time.Since(failing)).Msg("heartbeats go through again")
			failing = time.Time{}
		}
		select {
		case <-w.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (w *Worker) handle(from string, msg protocol.Message, reply func(protocol.Message) error) {
	switch m := msg.(type) {
	case protocol.RegisterAck:
		// Each ack says what the master takes now: it may have been
		// restarted as another kind of master.
		w.extended.Store(slices.Contains(m.Capabilities, protocol.CapProgress))
		w.reports.Store(slices.Contains(m.Capabilities, protocol.CapReport))
		w.acks.Store(slices.Contains(m.Capabilities, protocol.CapAck))
		first := false
		w.ack.Do(func() { close(w.acked); first = true })
		if !first {
			// A master that did not know us took a heartbeat for a
			// registration: it restarted, or declared us gone.
			w.log.Info().Str("from", from).Msg("registered again")
		}
	case protocol.NewWorkerJob, protocol.NewSortJob:
		if w.dropTasks.Add(-1) >= 0 {
			w.log.Warn().Str("type", msg.Type()).Msg("task message dropped (--drop-tasks)")
			return
		}
		w.start(msg)
	case protocol.CancelTask:
		if w.cancelTask(m) {
			w.log.Info().Str("task", m.Output).Msg("task cancelled by the master")
		}
	case protocol.FetchRun:
		w.serveFetch(from, m, reply)
	case protocol.JobEnded:
		w.jobEnded(m.JobID)
	case protocol.Shutdown:
		w.log.Info().Str("from", from).Msg("shutdown")
		w.Stop()
	default:
		w.log.Warn().Str("from", from).Str("type", msg.Type()).Msg("dropped message: not for a worker")
	}
}

// start takes a task: a new_worker_job or a new_sort_job.
func (w *Worker) start(msg protocol.Message) {
	select {
	case <-w.ready:
	case <-w.ctx.Done():
		return
	}
	switch m := msg.(type) {
	case protocol.NewWorkerJob:
		output := ""
		if runs := programRuns(m); len(runs) > 0 {
			output = runs[0].status
		}
		run := w.runProgramTask
		if m.MapOutput != nil || m.ReduceInput != nil {
			run = w.runShuffleTask
			if m.ReduceInput != nil {
				output = m.ReduceInput.OutputFile
			}
		}
		if r := w.hold(output, m.Task, false); r != nil {
			go run(m, r)
		}
	case protocol.NewSortJob:
		if r := w.hold(m.OutputFile, m.Task, true); r != nil {
			go w.runSortTask(m, r)
		}
	}
}
