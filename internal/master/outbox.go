package master

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"

	"mapreduce/internal/backoff"
	"mapreduce/internal/scheduler"
)

// outbox delivers messages to one registration (incarnation) of a worker,
// in order, on its own goroutine, so that a slow worker never stalls the
// master and a register_ack always precedes the tasks that follow it.
type outbox struct {
	mu      sync.Mutex
	pending []scheduler.Send
	wake    chan struct{}
	// ctx ends delivery: the worker died or registered again, and its
	// queued tasks went to other workers; or the master stops.
	ctx   context.Context
	close context.CancelFunc
}

// outbox returns the outbox of send's incarnation, started on first use.
func (s *Server) outbox(send scheduler.Send) *outbox {
	if o, ok := s.outboxes[send.Incarnation]; ok {
		return o
	}
	o := &outbox{wake: make(chan struct{}, 1)}
	o.ctx, o.close = context.WithCancel(context.Background())
	s.outboxes[send.Incarnation] = o
	go func() {
		select {
		case <-s.shutdown:
			o.close()
		case <-o.ctx.Done():
		}
	}()
	go s.deliver(o, send.PID, send.Incarnation)
	return o
}

func (s *Server) closeOutbox(incarnation int) {
	if o, ok := s.outboxes[incarnation]; ok {
		o.close()
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

// deliver sends the outbox's messages, in order, until it is closed. A send
// that fails past its retry times is reported to the scheduler, which
// declares the worker dead; nothing more is sent to that incarnation.
func (s *Server) deliver(o *outbox, pid, incarnation int) {
	for {
		send, ok := o.pop()
		if !ok {
			select {
			case <-o.wake:
				continue
			case <-o.ctx.Done():
				return
			}
		}
		err := s.sendPersistently(o.ctx, send)
		if o.ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn().Err(err).Int("worker", pid).Msg("send failed")
			s.post(scheduler.SendFailedEvent{PID: pid, Incarnation: incarnation, Err: err})
			return
		}
	}
}

// sendPersistently sends until it succeeds or fails past its retry times:
// a refused connection (nothing listens on the worker's port) past
// send.RetryFor, any other failure (the worker is frozen, or too busy to
// accept) past send.GiveUpAfter.
func (s *Server) sendPersistently(ctx context.Context, send scheduler.Send) error {
	start := time.Now()
	return backoff.Retry(ctx, backoff.Policy{
		First:    100 * time.Millisecond,
		Max:      time.Second,
		Deadline: start.Add(send.GiveUpAfter),
		GiveUp: func(err error) bool {
			return errors.Is(err, syscall.ECONNREFUSED) && time.Since(start) > send.RetryFor
		},
		OnRetry: func(err error) { s.log.Debug().Err(err).Int("worker", send.PID).Msg("send: trying again") },
	}, func() error { return s.transport.Send(send.Addr, send.Msg) })
}
