package master

import (
	"sync"
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
}

func (s *Server) outbox(send scheduler.Send) *outbox {
	if o, ok := s.outboxes[send.Incarnation]; ok {
		return o
	}
	o := &outbox{wake: make(chan struct{}, 1)}
	s.outboxes[send.Incarnation] = o
	go s.deliver(o, send.PID, send.Incarnation)
	return o
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

// deliver sends the outbox's messages until one fails; then the worker is
// reported dead and the outbox is done, its later messages dropped.
func (s *Server) deliver(o *outbox, pid, incarnation int) {
	for {
		send, ok := o.pop()
		if !ok {
			select {
			case <-o.wake:
				continue
			case <-s.shutdown:
				return
			}
		}
		if err := sendWithRetry(send); err != nil {
			s.log.Warn().Err(err).Int("worker", pid).Msg("send failed")
			s.post(func(now time.Time) []scheduler.Action {
				delete(s.outboxes, incarnation)
				return s.sched.SendFailed(now, pid, incarnation, err)
			})
			return
		}
	}
}

func sendWithRetry(send scheduler.Send) error {
	deadline := time.Now().Add(send.RetryFor)
	for {
		err := protocol.Send(send.Addr, send.Msg)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
