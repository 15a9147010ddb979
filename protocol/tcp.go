package protocol

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/rs/zerolog"
)

// MaxMessageSize bounds one TCP document; a larger one is refused unread.
const MaxMessageSize = 16 << 20

// DialTimeout bounds connecting to a peer and writing to it.
const DialTimeout = 3 * time.Second

// ReadTimeout bounds how long a peer may take to send its document and close;
// a half-open connection is dropped after it.
const ReadTimeout = 10 * time.Second

// maxDatagram bounds one heartbeat datagram.
const maxDatagram = 64 << 10

// ErrTooLarge is returned by ReadMessage for a document over MaxMessageSize.
var ErrTooLarge = errors.New("message too large")

// TCP is the Transport between processes: TCP, one document per
// connection, and UDP datagrams. Log receives what it drops.
type TCP struct {
	Log zerolog.Logger
}

var _ Transport = TCP{}

func (TCP) Send(addr string, msg Message) error { return Send(addr, msg) }

func (TCP) Request(addr string, msg Message, timeout time.Duration) (Message, error) {
	return Request(addr, msg, timeout)
}

// HeartbeatInterval is how often a worker sends a heartbeat, and
// MissedHeartbeats how many intervals may pass without one before the
// master declares it dead: the reference protocol's values, the defaults
// of the flags that set them.
const (
	HeartbeatInterval = 2 * time.Second
	MissedHeartbeats  = 5
)

// HeartbeatAddr is where a master listening on host:port receives heartbeats:
// UDP port-1, as the reference protocol says.
func HeartbeatAddr(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port-1))
}

// Send delivers msg to addr as reference peers expect: a new connection, the
// whole document in one write, then close.
func Send(addr string, msg Message) error {
	data, err := Encode(msg)
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout("tcp", addr, DialTimeout)
	if err != nil {
		return fmt.Errorf("send %s to %s: %w", msg.Type(), addr, err)
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(DialTimeout)); err != nil {
		return fmt.Errorf("send %s to %s: %w", msg.Type(), addr, err)
	}
	if _, err := conn.Write(data); err != nil {
		return fmt.Errorf("send %s to %s: %w", msg.Type(), addr, err)
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("send %s to %s: %w", msg.Type(), addr, err)
	}
	return nil
}

// Request sends msg, half-closes the connection so that the peer sees EOF,
// and decodes the peer's one-document answer. It is for our extensions: a
// reference peer never answers on the same connection.
func Request(addr string, msg Message, timeout time.Duration) (Message, error) {
	data, err := Encode(msg)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialTimeout("tcp", addr, DialTimeout)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, fmt.Errorf("request to %s: %w", addr, err)
	}
	if _, err := conn.Write(data); err != nil {
		return nil, fmt.Errorf("request to %s: %w", addr, err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err != nil {
			return nil, fmt.Errorf("request to %s: %w", addr, err)
		}
	}
	answer, err := ReadMessage(conn)
	if err != nil {
		return nil, fmt.Errorf("answer from %s: %w", addr, err)
	}
	reply, err := Decode(answer)
	if err != nil {
		return nil, fmt.Errorf("answer from %s: %w", addr, err)
	}
	return reply, nil
}

// ReadMessage reads one document: everything up to EOF, at most
// MaxMessageSize bytes. The caller sets any deadline. Its buffer grows as
// the bytes arrive, so a short document costs little.
func ReadMessage(r io.Reader) ([]byte, error) {
	return readRest(r, nil)
}

// readRest reads the rest of a document of which buf holds the start, up to
// EOF, at most MaxMessageSize bytes in all.
func readRest(r io.Reader, buf []byte) ([]byte, error) {
	buf, eof, err := fill(r, buf, MaxMessageSize)
	if err != nil {
		return nil, err
	}
	if !eof {
		// Full: the document ends here, or it is too large.
		var one [1]byte
		n, err := io.ReadFull(r, one[:])
		if n > 0 {
			return nil, ErrTooLarge
		}
		if !errors.Is(err, io.EOF) {
			return nil, err
		}
	}
	return buf, nil
}

// fill reads from r until EOF or until it has n bytes in all, of which buf
// holds the first, and reports whether it saw EOF. As io.ReadAll does, it
// reads into chunks that grow as the bytes arrive and joins them into one
// slice of the exact size at the end, so a document costs about twice its
// size in allocations; unlike io.ReadAll it stops at n bytes and goes on
// from a buffer already read.
func fill(r io.Reader, buf []byte, n int) ([]byte, bool, error) {
	const maxChunk = 1 << 20
	var chunks [][]byte
	chunk, total := buf, len(buf)
	next := max(512, 2*cap(buf))
	var eof bool
	var err error
	for total < n {
		if len(chunk) == cap(chunk) {
			if len(chunk) > 0 {
				chunks = append(chunks, chunk)
			}
			chunk = make([]byte, 0, min(next, n-total))
			next = min(2*next, maxChunk)
		}
		m, rerr := r.Read(chunk[len(chunk):cap(chunk)])
		chunk = chunk[:len(chunk)+m]
		total += m
		if errors.Is(rerr, io.EOF) {
			eof = true
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	if len(chunks) == 0 {
		return chunk, eof, err
	}
	joined := make([]byte, 0, total)
	for _, c := range chunks {
		joined = append(joined, c...)
	}
	return append(joined, chunk...), eof, err
}

// Reply writes msg on conn, the connection its request came on.
func Reply(conn net.Conn, msg Message) error {
	data, err := Encode(msg)
	if err != nil {
		return err
	}
	if _, err := conn.Write(data); err != nil {
		return fmt.Errorf("reply to %s: %w", conn.RemoteAddr(), err)
	}
	return nil
}

type tcpListener struct{ net.Listener }

func (l tcpListener) Addr() string { return l.Listener.Addr().String() }

// Listen serves addr with Serve on a goroutine of its own.
func (t TCP) Listen(addr string, handle Handler) (Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	go Serve(ln, t.Log, handle)
	return tcpListener{ln}, nil
}

// Reading is bounded in memory, not only in size. Any number of connections
// read their first smallMessage bytes at once, which is all that a
// register, a status or a heartbeat takes; a connection whose document is
// longer then waits for one of largeReads slots to read the rest, and keeps
// the slot while it decodes and handles the document. So at most largeReads
// documents over smallMessage are in memory at a time, and a flood of large
// documents neither exhausts memory nor delays the small ones. The read
// deadline runs from the accept and covers the whole read, the wait for a
// slot included: a slow sender reads in a slot until readTimeout after its
// accept at most, and a connection that gets no slot in time is dropped.
// They are variables so that tests can make them small.
var (
	smallMessage = 64 << 10
	largeReads   = 4
	readTimeout  = ReadTimeout
)

// Serve accepts connections on ln until it is closed, reads one document from
// each, decodes it and passes it to handle on the connection's own goroutine;
// at most 4 documents over 64 KiB at a time (see smallMessage). An
// empty connection (a port probe) is ignored; a bad document is logged
// with the sender's address and answered with an Error, which only a
// sender that waits for an answer reads. Temporary accept errors are logged
// and the loop goes on; a closed listener ends it and Serve returns nil.
func Serve(ln net.Listener, log zerolog.Logger, handle Handler) error {
	slots := make(chan struct{}, largeReads)
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
		go serveConn(conn, log, handle, slots)
	}
}

func serveConn(conn net.Conn, log zerolog.Logger, handle Handler, slots chan struct{}) {
	defer conn.Close()
	from := conn.RemoteAddr().String()
	deadline := time.Now().Add(readTimeout)
	if err := conn.SetReadDeadline(deadline); err != nil {
		log.Warn().Err(err).Str("from", from).Msg("set read deadline")
		return
	}
	data, eof, err := fill(conn, nil, smallMessage)
	if err == nil && !eof {
		// A large document: read the rest only with a slot.
		if !acquire(slots, deadline) {
			log.Warn().Str("from", from).Int("read", len(data)).
				Msg("dropped message: too many large documents being read; no slot before the read deadline")
			return
		}
		defer func() { <-slots }()
		data, err = readRest(conn, data)
	}
	if err != nil {
		log.Warn().Err(err).Str("from", from).Msg("dropped message: read failed")
		return
	}
	msg, err := Decode(data)
	if errors.Is(err, ErrEmpty) {
		log.Debug().Str("from", from).Msg("empty connection")
		return
	}
	if err != nil {
		log.Warn().Err(err).Str("from", from).Msg("dropped message")
		// A sender that waits for an answer learns why; a reference peer
		// has closed already and never sees it.
		Reply(conn, Error{Error: err.Error()})
		return
	}
	// The answer, if any, may take a while (the master's loop is busy); the
	// read deadline must not cut it.
	if err := conn.SetDeadline(time.Now().Add(readTimeout)); err != nil {
		log.Warn().Err(err).Str("from", from).Msg("set deadline")
		return
	}
	handle(from, msg, func(answer Message) error { return Reply(conn, answer) })
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

// SendDatagram sends msg as one UDP datagram.
func (TCP) SendDatagram(addr string, msg Message) error {
	data, err := Encode(msg)
	if err != nil {
		return err
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return fmt.Errorf("send %s to %s: %w", msg.Type(), addr, err)
	}
	defer conn.Close()
	if _, err := conn.Write(data); err != nil {
		return fmt.Errorf("send %s to %s: %w", msg.Type(), addr, err)
	}
	return nil
}

type udpListener struct{ net.PacketConn }

func (l udpListener) Addr() string { return l.LocalAddr().String() }

// ListenDatagrams reads UDP datagrams on addr until closed; one that does
// not decode is logged and dropped.
func (t TCP) ListenDatagrams(addr string, handle func(from string, msg Message)) (Listener, error) {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for datagrams on %s: %w", addr, err)
	}
	go func() {
		buf := make([]byte, maxDatagram)
		for {
			n, from, err := conn.ReadFrom(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				t.Log.Warn().Err(err).Msg("read datagram")
				continue
			}
			msg, err := Decode(buf[:n])
			if err != nil {
				t.Log.Warn().Err(err).Str("from", from.String()).Msg("dropped datagram")
				continue
			}
			handle(from.String(), msg)
		}
	}()
	return udpListener{conn}, nil
}
