package master

import (
	"errors"
	"sync"
	"syscall"
	"time"

	"mapreduce/internal/scheduler"
	"mapreduce/protocol"
)

// outbox delivers messages to one registration of a worker, in order, on its
// own goroutine, so that a slow worker never stalls the master and a
// register_ack always precedes the tasks that follow it.
type outbox struct {
	mu      sync.Mutex
	pending []scheduler.Send
	wake    chan struct{}
	// closed ends delivery: the worker died or registered again, and its
	// queued tasks went to other workers.
	closed chan struct{}
	close  sync.Once
}

func (s *Server) outbox(send scheduler.Send) *outbox {
	if o, ok := s.outboxes[send.Incarnation]; ok {
		return o
	}
	o := &outbox{wake: make(chan struct{}, 1), closed: make(chan struct{})}
	s.outboxes[send.Incarnation] = o
	go s.deliver(o, send.PID, send.Incarnation)
	return o
}

func (s *Server) closeOutbox(incarnation int) {
	if o, ok := s.outboxes[incarnation]; ok {
		o.close.Do(func() { close(o.closed) })
		delete(s.outboxes, incarnation)
	}
}

func (o *outbox) push(send scheduler.Send) {
	o.mu.Lock()
	o.pending = append(o.pending, send)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) pop() (scheduler.Send, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.pending) == 0 {
		return scheduler.Send{}, false
	}
	send := o.pending[0]
	o.pending = o.pending[1:]
	return send, true
}

// deliver sends the outbox's messages until it is closed. A refused
// connection means nothing listens on the worker's port: past the send's
// RetryFor, the worker is reported dead at once. Other failures (a timeout:
// the worker is frozen, or too busy to accept) are retried for as long as
// missed heartbeats would take to declare it dead, which closes the outbox;
// a worker that heartbeats but never accepts is reported dead then.
func (s *Server) deliver(o *outbox, pid, incarnation int) {
	for {
		select {
		case <-o.closed:
			return
		default:
		}
		send, ok := o.pop()
		if !ok {
			select {
			case <-o.wake:
				continue
			case <-o.closed:
				return
			case <-s.shutdown:
				return
			}
		}
		if err := s.sendPersistently(o, send); err != nil {
			s.log.Warn().Err(err).Int("worker", pid).Msg("send failed")
			s.post(func(now time.Time) []scheduler.Action {
				return s.sched.SendFailed(now, pid, incarnation, err)
			})
			return
		}
	}
}

// sendPersistently sends until it succeeds, the outbox closes (nil: nothing
// more to do) or the worker's port refuses past send.RetryFor.
func (s *Server) sendPersistently(o *outbox, send scheduler.Send) error {
	refusedUntil := time.Now().Add(send.RetryFor)
	failingUntil := time.Now().Add(max(send.RetryFor, time.Duration(s.cfg.MissedHeartbeats)*s.cfg.HeartbeatInterval))
	backoff := 100 * time.Millisecond
	for {
		err := protocol.Send(send.Addr, send.Msg)
		if err == nil {
			return nil
		}
		now := time.Now()
		if errors.Is(err, syscall.ECONNREFUSED) && now.After(refusedUntil) || now.After(failingUntil) {
			return err
		}
		s.log.Debug().Err(err).Int("worker", send.PID).Msg("send: trying again")
		select {
		case <-time.After(backoff):
		case <-o.closed:
			return nil
		case <-s.shutdown:
			return nil
		}
		backoff = min(2*backoff, time.Second)
	}
}
