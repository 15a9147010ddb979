package protocol

import (
	"bytes"
	"container/list"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// The server side of the TCP transport: accepting connections and reading
// one document from each, within bounds.

// Reading is bounded in memory, not only in size. Up to maxConns
// connections are served at once (more are closed at once, unread), each
// reading its first smallMessage bytes, which is all that a register, a
// status or a heartbeat takes; a connection whose document is
// longer then waits for one of largeReads slots to read the rest, and keeps
// the slot while it decodes and handles the document. So at most largeReads
// documents over smallMessage are in memory at a time, and a flood of large
// documents neither exhausts memory nor delays the small ones. The read
// deadline runs from the accept and covers the whole read, the wait for a
// slot included: a slow sender reads in a slot until readTimeout after its
// accept at most, and a connection that gets no slot in time is dropped.
// So what others send holds at most maxConns × smallMessage (32 MiB) plus
// largeReads × MaxMessageSize in memory. Dropped connections are logged at
// a bounded rate: whoever can reach the port must not flood the log.
//
// At the bound, a new connection takes the place of the oldest one that
// has sent nothing yet, which is reset: idle connections, however many,
// cannot keep a worker's status out for their read timeout. Only when
// every connection served has sent something is the new one reset
// unread. A reset, not a close, so that a sender waiting for an answer
// sees at once that its message was dropped, and sends it again.
// They are variables so that tests can make them small.
var (
	smallMessage = 64 << 10
	largeReads   = 4
	maxConns     = 512
	readTimeout  = ReadTimeout
)

// serving is the state one Serve shares among its connections.
type serving struct {
	conns, slots chan struct{}
	drops        dropLog
	// silent are the connections served that have sent nothing yet, the
	// oldest first.
	mu     sync.Mutex
	silent list.List
}

// served is a connection being served: Read takes it off the silent list
// once it has sent a byte.
type served struct {
	net.Conn
	s    *serving
	elem *list.Element // on the silent list; nil once off it (s.mu)
	// evicted: taken off the silent list to be reset (s.mu).
	evicted bool
	// spoke: it has sent a byte; only its own goroutine reads it.
	spoke bool
}

// Read reads as the connection does. The first bytes take the connection
// off the silent list; if it was taken off to be evicted meanwhile, they
// are dropped unread: the connection is about to be reset, which its
// sender takes for a message unread, and handling it would act on a
// message the sender then sends again.
func (c *served) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && !c.spoke {
		c.spoke = true
		if c.s.untrack(c) {
			return 0, net.ErrClosed
		}
	}
	return n, err
}

// track puts conn on the silent list until it sends a byte or untrack.
func (s *serving) track(conn net.Conn) *served {
	c := &served{Conn: conn, s: s}
	s.mu.Lock()
	c.elem = s.silent.PushBack(c)
	s.mu.Unlock()
	return c
}

// untrack takes c off the silent list, and reports whether it was taken
// off already to be evicted.
func (s *serving) untrack(c *served) (evicted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.elem != nil {
		s.silent.Remove(c.elem)
		c.elem = nil
	}
	return c.evicted
}

// evictSilent resets the oldest connection that has sent nothing, and
// returns its sender's address; "" when there is none.
func (s *serving) evictSilent() string {
	s.mu.Lock()
	front := s.silent.Front()
	if front != nil {
		s.silent.Remove(front)
		front.Value.(*served).elem = nil
		front.Value.(*served).evicted = true
	}
	s.mu.Unlock()
	if front == nil {
		return ""
	}
	conn := front.Value.(*served).Conn
	reset(conn) // its goroutine ends, and frees its place
	return conn.RemoteAddr().String()
}

// admit takes a place among the maxConns connections served, making one
// by evicting the oldest silent connection if it must (logged); false
// when every connection served has sent something.
func (s *serving) admit(log zerolog.Logger) bool {
	select {
	case s.conns <- struct{}{}:
		return true
	default:
	}
	evicted := s.evictSilent()
	if evicted == "" {
		return false
	}
	s.drop(log, evicted, nil, fmt.Sprintf("dropped connection: %d connections being served; the oldest silent one reset to make room", maxConns))
	wait := time.NewTimer(evictWait)
	defer wait.Stop()
	select {
	case s.conns <- struct{}{}:
		return true
	case <-wait.C:
		return false
	}
}

// evictWait bounds the wait for an evicted connection's goroutine to free
// its place: it only has to see its read fail.
const evictWait = 100 * time.Millisecond

// drop logs a dropped connection, at a bounded rate.
func (s *serving) drop(log zerolog.Logger, from string, err error, why string) {
	s.drops.log(log, time.Now(), from, err, why)
}

// Serve serves ln unauthenticated, as TCP{Log: log}.Serve.
func Serve(ln net.Listener, log zerolog.Logger, handle Handler) error {
	return TCP{Log: log}.Serve(ln, handle)
}

// Serve accepts connections on ln until it is closed, reads one document from
// each, decodes it and passes it to handle on the connection's own goroutine;
// at most 4 documents over 64 KiB at a time (see smallMessage). An
// empty connection (a port probe) is ignored; a bad document is logged
// with the sender's address and answered with an Error, which only a
// sender that waits for an answer reads. Temporary accept errors are logged
// and the loop goes on; a closed listener ends it and Serve returns nil.
// With Auth, a document without a valid seal is dropped (logged at a
// bounded rate) and answered with an unsealed Error that says why.
func (t TCP) Serve(ln net.Listener, handle Handler) error {
	log := t.Log
	s := &serving{conns: make(chan struct{}, maxConns), slots: make(chan struct{}, largeReads)}
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Anything else (too many open files, an aborted connection)
			// passes: log it, back off a moment and go on serving.
			log.Warn().Err(err).Msg("accept")
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if !s.admit(log) {
			s.drop(log, conn.RemoteAddr().String(), nil, fmt.Sprintf("dropped connection: %d connections being served, each of which has sent something", maxConns))
			reset(conn)
			continue
		}
		c := s.track(conn)
		go func() {
			defer func() { <-s.conns }()
			defer s.untrack(c)
			t.serveConn(c, handle, s)
		}()
	}
}

func (t TCP) serveConn(conn net.Conn, handle Handler, s *serving) {
	log := t.Log
	defer conn.Close()
	from := conn.RemoteAddr().String()
	deadline := time.Now().Add(readTimeout)
	if err := conn.SetReadDeadline(deadline); err != nil {
		s.drop(log, from, err, "dropped connection: set read deadline") // evicted already, say
		return
	}
	data, eof, err := fill(conn, nil, smallMessage)
	if err == nil && !eof {
		// A large document: read the rest only with a slot.
		if !acquire(s.slots, deadline) {
			s.drop(log, from, nil, "dropped message: too many large documents being read; no slot before the read deadline")
			reset(conn) // unread: a sender waiting for an answer sees it
			return
		}
		defer func() { <-s.slots }()
		data, err = readRest(conn, data)
	}
	if err != nil {
		s.drop(log, from, err, "dropped message: read failed")
		reset(conn)
		return
	}
	var nonce string
	if t.Auth != nil && len(bytes.TrimSpace(data)) > 0 {
		if data, nonce, err = t.Auth.Open(purposeMessage, data, conn.LocalAddr()); err != nil {
			t.Auth.LogDrop(log, from, err)
			// Unsealed, so that a client without the secret learns why.
			Reply(conn, Error{Error: err.Error()})
			return
		}
	}
	reply := func(answer Message) error { return t.answer(conn, nonce, answer) }
	msg, err := Decode(data)
	if errors.Is(err, ErrEmpty) {
		log.Debug().Str("from", from).Msg("empty connection")
		return
	}
	if err != nil {
		log.Warn().Err(err).Str("from", from).Msg("dropped message")
		// A sender that waits for an answer learns why; a reference peer
		// has closed already and never sees it.
		reply(Error{Error: err.Error()})
		return
	}
	// The answer, if any, may take a while (the master's loop is busy); the
	// read deadline must not cut it. A streamed answer sets its own
	// deadline for each chunk (stream.go).
	if err := conn.SetDeadline(time.Now().Add(readTimeout)); err != nil {
		log.Warn().Err(err).Str("from", from).Msg("set deadline")
		return
	}
	handle(from, msg, reply)
}

// reset closes conn with a reset rather than a graceful close, so that a
// sender that waits for an answer (a status to a master that acknowledges
// them) sees at once that its message was dropped unread, and sends it
// again.
func reset(conn net.Conn) {
	if c, ok := conn.(*served); ok {
		conn = c.Conn
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // a failure leaves the graceful close, still seen as no answer
	}
	conn.Close()
}

// acquire takes a slot, waiting at most until deadline.
func acquire(slots chan struct{}, deadline time.Time) bool {
	select {
	case slots <- struct{}{}:
		return true
	default:
	}
	wait := time.NewTimer(time.Until(deadline))
	defer wait.Stop()
	select {
	case slots <- struct{}{}:
		return true
	case <-wait.C:
		return false
	}
}
