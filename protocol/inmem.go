package protocol

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Inmem is a Transport between peers of one process, for tests, as
// hashicorp/raft's InmemTransport: peers share one *Inmem and name each
// other by address. Every message is encoded and decoded on the way, so a
// test sees exactly what the wire would carry. Send to an address nobody
// listens on fails as a refused TCP connection does.
type Inmem struct {
	mu        sync.Mutex
	listeners map[string]*inmemListener
	datagrams map[string]*inmemListener
	nextPort  int
	fault     func(addr string, msg Message) error
}

// ErrLost, returned by a fault, loses a message without the sender knowing.
var ErrLost = errors.New("lost on the way")

// NewInmem returns an empty in-memory network.
func NewInmem() *Inmem {
	return &Inmem{listeners: map[string]*inmemListener{}, datagrams: map[string]*inmemListener{}, nextPort: 40000}
}

var _ Transport = (*Inmem)(nil)

// errNoAnswer is what a reply gets when its sender did not wait for one.
var errNoAnswer = errors.New("sender did not wait for an answer")

type inmemListener struct {
	net    *Inmem
	addr   string
	table  map[string]*inmemListener
	handle Handler
	// queue holds datagrams in order; full, it drops them, as UDP would.
	queue  chan func()
	closed chan struct{}
	once   sync.Once
}

func (l *inmemListener) Addr() string { return l.addr }

func (l *inmemListener) Close() error {
	l.once.Do(func() {
		l.net.mu.Lock()
		if l.table[l.addr] == l {
			delete(l.table, l.addr)
		}
		l.net.mu.Unlock()
		close(l.closed)
	})
	return nil
}

// listen makes l, whole, the listener of addr in table.
func (n *Inmem) listen(table map[string]*inmemListener, addr string, l *inmemListener) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if strings.HasSuffix(addr, ":0") {
		n.nextPort++
		addr = fmt.Sprintf("%s:%d", strings.TrimSuffix(addr, ":0"), n.nextPort)
	}
	if _, ok := table[addr]; ok {
		return fmt.Errorf("listen on %s: %w", addr, syscall.EADDRINUSE)
	}
	l.net, l.addr, l.table, l.closed = n, addr, table, make(chan struct{})
	table[addr] = l
	return nil
}

// Listen serves addr; an address ending in ":0" gets a free port.
func (n *Inmem) Listen(addr string, handle Handler) (Listener, error) {
	l := &inmemListener{handle: handle}
	if err := n.listen(n.listeners, addr, l); err != nil {
		return nil, err
	}
	return l, nil
}

// ListenDatagrams serves datagrams to addr, in order, on one goroutine.
func (n *Inmem) ListenDatagrams(addr string, handle func(from string, msg Message)) (Listener, error) {
	l := &inmemListener{
		queue:  make(chan func(), 256),
		handle: func(from string, msg Message, _ func(Message) error) { handle(from, msg) },
	}
	if err := n.listen(n.datagrams, addr, l); err != nil {
		return nil, err
	}
	go func() {
		for {
			select {
			case deliver := <-l.queue:
				select {
				case <-l.closed: // closed meanwhile: nobody reads this port now
					return
				default:
					deliver()
				}
			case <-l.closed:
				return
			}
		}
	}()
	return l, nil
}

// overTheWire returns msg as its peer would read it: encoded, then decoded.
func overTheWire(msg Message) (Message, error) {
	data, err := Encode(msg)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxMessageSize {
		return nil, ErrTooLarge
	}
	return Decode(data)
}

// carry finds addr's listener in table and takes msg over the wire to it.
func (n *Inmem) carry(table map[string]*inmemListener, addr string, msg Message) (*inmemListener, Message, error) {
	n.mu.Lock()
	fault := n.fault
	l := table[addr]
	n.mu.Unlock()
	if fault != nil {
		if err := fault(addr, msg); err != nil {
			return nil, nil, fmt.Errorf("send %s to %s: %w", msg.Type(), addr, err)
		}
	}
	if l == nil {
		return nil, nil, fmt.Errorf("send %s to %s: %w", msg.Type(), addr, syscall.ECONNREFUSED)
	}
	decoded, err := overTheWire(msg)
	if err != nil {
		return nil, nil, fmt.Errorf("send %s to %s: %w", msg.Type(), addr, err)
	}
	return l, decoded, nil
}

// SetFault sets a function asked before each Send, Request and
// SendDatagram: a non-nil error is returned to the sender and the message
// is lost; ErrLost loses it silently, as a network that drops what it
// carried. nil removes it.
func (n *Inmem) SetFault(fault func(addr string, msg Message) error) {
	n.mu.Lock()
	n.fault = fault
	n.mu.Unlock()
}

// Send hands msg to addr's handler on a goroutine of its own.
func (n *Inmem) Send(addr string, msg Message) error {
	l, decoded, err := n.carry(n.listeners, addr, msg)
	if errors.Is(err, ErrLost) {
		return nil
	}
	if err != nil {
		return err
	}
	go l.handle("inmem", decoded, func(Message) error { return errNoAnswer })
	return nil
}

// Request hands msg to addr's handler and waits for its reply.
func (n *Inmem) Request(addr string, msg Message, timeout time.Duration) (Message, error) {
	l, decoded, err := n.carry(n.listeners, addr, msg)
	if err != nil {
		return nil, err
	}
	answers := make(chan Message, 1)
	handled := make(chan struct{})
	gone := make(chan struct{}) // closed once Request returns
	go func() {
		defer close(handled)
		l.handle("inmem", decoded, func(answer Message) error {
			again, err := overTheWire(answer)
			if err != nil {
				return err
			}
			select {
			case <-gone:
				return errors.New("the requester stopped waiting")
			default:
			}
			select {
			case answers <- again:
				return nil
			default:
				return errors.New("answered twice")
			}
		})
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	defer close(gone)
	select {
	case a := <-answers:
		return a, nil
	case <-handled:
		select {
		case a := <-answers:
			return a, nil
		default:
			return nil, fmt.Errorf("answer from %s: %w", addr, ErrEmpty)
		}
	case <-timer.C:
		return nil, fmt.Errorf("answer from %s: %w", addr, syscall.ETIMEDOUT)
	}
}

// SendDatagram queues msg for addr's datagram listener; with nobody
// listening, or a full queue, it is lost without an error, as UDP's would be.
func (n *Inmem) SendDatagram(addr string, msg Message) error {
	l, decoded, err := n.carry(n.datagrams, addr, msg)
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, ErrLost) {
		return nil
	}
	if err != nil {
		return err
	}
	select {
	case l.queue <- func() { l.handle("inmem", decoded, nil) }:
	default:
	}
	return nil
}

// Stream hands msg to addr's handler and returns its answer as a stream,
// framed as over TCP (stream.go) on a net.Pipe: a test sees the ends,
// errors and idle timeouts the wire would give.
func (n *Inmem) Stream(ctx context.Context, addr string, msg Message, timeout time.Duration) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err) // as a dial would
	}
	l, decoded, err := n.carry(n.listeners, addr, msg)
	if err != nil {
		return nil, err
	}
	client, server := net.Pipe()
	go func() {
		defer server.Close() // an answer ends with the connection
		var answered atomic.Bool
		l.handle("inmem", decoded, func(answer Message) error {
			if answered.Swap(true) {
				return errors.New("answered twice")
			}
			if s, ok := answer.(Streamer); ok {
				return writeStream(idleConn{server, StreamWriteTimeout}, nil, "", s)
			}
			data, err := Encode(answer)
			if err != nil {
				return err
			}
			_, err = idleConn{server, StreamWriteTimeout}.Write(data)
			return err
		})
	}()
	return openStream(closedWith(ctx, client), addr, nil, "", timeout)
}
