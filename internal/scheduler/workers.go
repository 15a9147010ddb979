package scheduler

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"mapreduce/internal/netaddr"
	"mapreduce/protocol"
)

// Worker states, as the reference protocol names them.
const (
	WorkerReady = "ready"
	WorkerBusy  = "busy"
	WorkerDead  = "dead"
	// WorkerUnusable is our state for a worker that heartbeats but lost a
	// task it was sent: it gets no task until it registers again.
	WorkerUnusable = "unusable"
	// WorkerRejoining is our state for a worker that the journal names
	// as the holder of runs, and that has not heartbeated since this
	// master started.
	WorkerRejoining = "rejoining"
	// WorkerExcluded is our state for a worker that failed too many tasks
	// for faults of its own (health.go): it gets no task until its
	// exclusion ends.
	WorkerExcluded = "excluded"
)

// workerKey tells workers apart: by the id our worker sends, or by the pid
// of a reference worker, which sends no id.
func workerKey(id string, pid int) string {
	if id != "" {
		return "id " + id
	}
	return fmt.Sprintf("pid %d", pid)
}

type worker struct {
	key  string
	id   string
	pid  int
	host string
	port int
	// incarnation numbers registrations, so that a late send failure for an
	// earlier registration of the same pid is recognised and ignored.
	incarnation int
	dead        bool
	unusable    bool
	// died is when the worker was last found dead.
	died time.Time
	// awaiting: the worker is known from the journal only (state
	// WorkerRejoining); it gets no task, and is dead if it does not
	// heartbeat in time.
	awaiting bool
	// caps are the capabilities the worker announced; progress, cancel and
	// identity say whether they hold protocol.CapProgress,
	// protocol.CapCancel and protocol.CapTask, which much of the
	// scheduler asks.
	caps                       []string
	progress, cancel, identity bool
	held                       []*task
	// lastBeat is kept for the record; liveness is the tracker's.
	lastBeat time.Time
	// faults are when the worker failed a task for a fault of its own,
	// within Config.ExcludeWindow; excludedUntil, if set, is when its
	// exclusion ends, and excludedWhy what caused it (health.go).
	faults        []fault
	excludedUntil time.Time
	excludedWhy   string
	// excludedBy are the jobs whose failures brought the exclusion.
	excludedBy []int
}

func (w *worker) addr() string { return net.JoinHostPort(w.host, strconv.Itoa(w.port)) }

// knownCaps are the capabilities of announced that this master knows:
// only those are kept, however long the list a worker sends.
func knownCaps(announced []string) []string {
	var caps []string
	for _, c := range []string{protocol.CapProgress, protocol.CapCancel, protocol.CapTask, protocol.CapSplits, protocol.CapShuffle, protocol.CapPrograms} {
		if slices.Contains(announced, c) {
			caps = append(caps, c)
		}
	}
	return caps
}

// has reports whether w announced capability c; every worker has "", the
// reference protocol.
func (w *worker) has(c string) bool { return c == "" || slices.Contains(w.caps, c) }

// can reports whether w announced what tasks with needs n need.
func (w *worker) can(n needs) bool {
	return w.has(n.kind) && (!n.programs || w.has(protocol.CapPrograms))
}

func (w *worker) state() string {
	switch {
	case w.dead:
		return WorkerDead
	case w.awaiting:
		return WorkerRejoining
	case w.excluded():
		return WorkerExcluded
	case w.unusable:
		return WorkerUnusable
	case len(w.held) > 0:
		return WorkerBusy
	}
	return WorkerReady
}

// onRegister records a worker (again, if it is known: a restarted worker has
// lost whatever it held), acknowledges it and gives it work. A reference
// worker, which sends no id, whose pid is a live worker's on another host
// is refused: the two could not be told apart.
func (s *Scheduler) onRegister(now time.Time, msg protocol.Register) []Action {
	_, actions := s.register(now, msg)
	return append(actions, s.advance(now)...)
}

// register records a worker and acknowledges it; nil if it is refused.
func (s *Scheduler) register(now time.Time, msg protocol.Register) (*worker, []Action) {
	if len(msg.WorkerHost) > maxHostName {
		// No host has such a name; the worker list, in every job_status
		// reply, must not carry it.
		s.log.Warn().Int("worker", msg.WorkerPID).Str("host", clip(msg.WorkerHost, maxLoggedText)).
			Int("length", len(msg.WorkerHost)).Msg("ignored register: worker_host too long")
		return nil, nil
	}
	if _, known := s.workers[workerKey(msg.WorkerID, msg.WorkerPID)]; !known && len(s.workers) >= MaxWorkers {
		s.log.Warn().Int("worker", msg.WorkerPID).Int("workers", len(s.workers)).
			Msg("ignored register: the worker table is full (dead workers are forgotten after --forget-dead-after)")
		return nil, nil
	}
	if why := s.impossible(msg.WorkerHost, msg.WorkerPort); why != "" {
		// Such a worker could never be sent a task: it would stay listed,
		// ready, then dead, for good.
		s.log.Warn().Int("worker", msg.WorkerPID).Str("host", clip(msg.WorkerHost, maxLoggedText)).Int("port", msg.WorkerPort).
			Msg("ignored register: " + why)
		return nil, nil
	}
	var actions []Action
	key := workerKey(msg.WorkerID, msg.WorkerPID)
	w := &worker{key: key, id: msg.WorkerID, pid: msg.WorkerPID, host: msg.WorkerHost, port: msg.WorkerPort, caps: knownCaps(msg.Capabilities)}
	w.progress, w.cancel, w.identity = w.has(protocol.CapProgress), w.has(protocol.CapCancel), w.has(protocol.CapTask)
	if w.host == "" {
		w.host = "localhost"
	}
	ack := protocol.RegisterAck{WorkerHost: msg.WorkerHost, WorkerPort: msg.WorkerPort, WorkerPID: msg.WorkerPID}
	if len(msg.Capabilities) > 0 {
		// Only a worker that announced extensions hears of ours.
		ack.Capabilities = []string{protocol.CapProgress, protocol.CapReport, protocol.CapAck}
	}
	if old, ok := s.workers[key]; ok && old.awaiting {
		s.handOver(old, w)
	} else if ok && !old.dead {
		switch {
		case msg.WorkerID != "" && old.addr() == w.addr():
			// Our worker asks again while its ack is on the way: a random
			// id is never a restarted process, and it keeps its tasks.
			s.log.Info().Int("worker", old.pid).Msg("worker registered again; acknowledged again")
			return old, []Action{s.send(old, ack, s.cfg.AckRetry)}
		case msg.WorkerID == "" && old.host != w.host:
			// On one host a pid names one process at a time (a new port
			// is a restart); across hosts two live workers may share it.
			s.log.Warn().Int("worker", w.pid).Str("addr", w.addr()).Str("live", old.addr()).
				Msg("register refused: a live worker on another host has that pid, and a worker without worker_id is known by its pid alone")
			return nil, nil
		}
		s.log.Info().Int("worker", old.pid).Msg("worker registered again; its tasks go back to pending")
		s.release(now, old, OutcomeWorkerDead)
		actions = append(actions, CloseOutbox{Incarnation: old.incarnation})
	}
	if old, ok := s.workers[key]; ok {
		s.inherit(old, w)
	}
	s.seq++
	w.incarnation = s.seq
	s.workers[key] = w
	s.beats.Beat(key, now)
	w.lastBeat = now
	s.log.Info().Int("worker", w.pid).Str("addr", w.addr()).Msg("worker registered")
	return w, append(actions, s.send(w, ack, s.cfg.AckRetry))
}

// impossible says why a worker at host:port could not be one, or "": a
// port that is none, or the master's own ports on its own host.
func (s *Scheduler) impossible(host string, port int) string {
	switch {
	case port < 1 || port > 65535:
		return fmt.Sprintf("worker_port %d is not a port", port)
	case s.cfg.MasterPort > 0 && (port == s.cfg.MasterPort || port == s.cfg.MasterPort-1) &&
		(host == "" || host == s.cfg.MasterHost || netaddr.Loopback(host)):
		return fmt.Sprintf("worker_port %d is the master's own", port)
	}
	return ""
}

// send addresses msg to w's current incarnation. A refused connection is
// retried for refusedFor; other failures as long as w may still be alive.
func (s *Scheduler) send(w *worker, msg protocol.Message, refusedFor time.Duration) Send {
	return Send{PID: w.pid, Incarnation: w.incarnation, Addr: w.addr(), Msg: msg,
		RetryFor: refusedFor, GiveUpAfter: max(refusedFor, s.cfg.DeadAfter())}
}

// onHeartbeat records a heartbeat, and the progress of the tasks it lists.
// One from a worker declared dead brings it back, as a new incarnation
// holding nothing: it was only slow or unreachable, and a reference worker
// never registers again by itself. One from an unknown worker that carries
// its registration (ours, after this master restarted) registers it, and
// kills the tasks it lists, an earlier master's; one without changes
// nothing.
func (s *Scheduler) onHeartbeat(now time.Time, msg protocol.Heartbeat) []Action {
	key := workerKey(msg.WorkerID, msg.WorkerPID)
	w, ok := s.workers[key]
	if !ok || w.awaiting {
		if msg.WorkerID == "" || msg.WorkerPort == 0 {
			return nil
		}
		s.log.Info().Int("worker", msg.WorkerPID).Msg("an unknown worker heartbeats with its address: registering it")
		w, actions := s.register(now, protocol.Register{WorkerHost: msg.WorkerHost, WorkerPort: msg.WorkerPort,
			WorkerPID: msg.WorkerPID, Capabilities: msg.Capabilities, WorkerID: msg.WorkerID})
		if w == nil {
			return nil
		}
		// The kills go out before any task: the outbox keeps order.
		actions = append(actions, s.noteProgress(now, w, msg.Tasks, true)...)
		return append(actions, s.advance(now)...)
	}
	if now.After(w.lastBeat) {
		w.lastBeat = now
	}
	s.beats.Beat(key, now)
	if !w.dead {
		return s.noteProgress(now, w, msg.Tasks, msg.TasksCut)
	}
	s.seq++
	w.incarnation = s.seq
	w.dead = false
	s.log.Info().Int("worker", w.pid).Msg("dead worker heartbeats again; it is ready again")
	// What it still runs went to other workers meanwhile.
	return append(s.noteProgress(now, w, msg.Tasks, true), s.advance(now)...)
}

// onTick declares dead the workers whose heartbeats stopped, hands their
// tasks to live workers, ends the exclusions due and starts any
// speculative copies now due.
func (s *Scheduler) onTick(now time.Time) []Action {
	var actions []Action
	for _, key := range s.beats.Failed(now, s.cfg.DeadAfter()) {
		actions = append(actions, s.markDead(now, s.workers[key], "missed heartbeats"))
	}
	s.forgetDead(now)
	s.readmit(now)
	actions = append(actions, s.expire(now)...)
	// Even with no death, a task may have run long enough to speculate.
	return append(actions, s.advance(now)...)
}

// onSendFailed reports that a message to a worker could not be delivered: the
// worker is dead now, without waiting for missed heartbeats.
func (s *Scheduler) onSendFailed(now time.Time, pid, incarnation int, err error) []Action {
	w := s.incarnation(incarnation)
	if w == nil || w.pid != pid || w.dead {
		return nil
	}
	return append([]Action{s.markDead(now, w, fmt.Sprintf("send failed: %v", err))}, s.advance(now)...)
}

// incarnation returns the worker whose current incarnation is n, or nil.
func (s *Scheduler) incarnation(n int) *worker {
	for _, w := range s.workers {
		if w.incarnation == n {
			return w
		}
	}
	return nil
}

// markDead marks w dead and puts its tasks back; the returned action drops
// whatever was still queued for it.
func (s *Scheduler) markDead(now time.Time, w *worker, why string) Action {
	s.log.Warn().Int("worker", w.pid).Str("reason", why).Int("tasks", len(w.held)).Msg("worker dead")
	w.dead, w.died = true, now
	s.dead = append(s.dead, w)
	s.beats.Forget(w.key)
	s.release(now, w, OutcomeWorkerDead)
	s.loseRuns(w, why)
	return CloseOutbox{Incarnation: w.incarnation}
}

// forgetDead drops the workers dead for Config.ForgetDeadAfter, oldest
// first, so that the worker table does not keep every worker that ever
// registered. One that came back meanwhile is not dropped. A reference
// worker forgotten so is not known again until it registers.
func (s *Scheduler) forgetDead(now time.Time) {
	for len(s.dead) > 0 && now.Sub(s.dead[0].died) >= s.cfg.ForgetDeadAfter {
		w := s.dead[0]
		s.dead = s.dead[1:]
		if w.dead && now.Sub(w.died) >= s.cfg.ForgetDeadAfter && s.workers[w.key] == w {
			delete(s.workers, w.key)
			s.log.Info().Int("worker", w.pid).Str("addr", w.addr()).Msg("dead worker forgotten")
		}
	}
}

// release ends w's attempt at every task it holds. A task with no other
// attempt running goes back to pending.
func (s *Scheduler) release(now time.Time, w *worker, outcome string) {
	for _, t := range slices.Clone(w.held) {
		pending := t.abandon(now, t.attemptOn(w), outcome)
		log := t.logger(s.log.Info()).Int("worker", w.pid)
		if !pending {
			log.Msg("task goes on in its other attempt")
			continue
		}
		log.Msg("task back to pending")
	}
}

// liveWorkers returns the live workers that may take tasks (those that lost
// a task only when there is no other; never an excluded one), least loaded
// first, then in the order they registered.
func (s *Scheduler) liveWorkers() []*worker {
	return s.liveWorkersWhere(func(*worker) bool { return true })
}

// liveWorkersWhere is liveWorkers among the workers for which ok holds.
func (s *Scheduler) liveWorkersWhere(ok func(*worker) bool) []*worker {
	var live, unusable []*worker
	for _, w := range s.workers {
		switch {
		case w.dead || w.awaiting || w.excluded() || !ok(w):
		case w.unusable:
			unusable = append(unusable, w)
		default:
			live = append(live, w)
		}
	}
	if len(live) == 0 {
		// A worker that once lost a task is better than none: a job must
		// not wait for good on a cluster whose every worker lost one. An
		// excluded worker is not: its exclusion ends, and a job does not
		// wait for good either (dispatch).
		live = unusable
	}
	slices.SortFunc(live, byLoad)
	return live
}

// ShutdownTargets returns the sends that forward a shutdown to every
// registered worker, dead ones included: a worker marked dead may only have
// been slow.
func (s *Scheduler) ShutdownTargets() []Send {
	var sends []Send
	for _, w := range s.workers {
		sends = append(sends, s.send(w, protocol.Shutdown{}, 0))
	}
	slices.SortFunc(sends, func(a, b Send) int { return a.PID - b.PID })
	return sends
}
