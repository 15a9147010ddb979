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
// MaxMessageSize bytes. The caller sets any deadline.
func ReadMessage(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxMessageSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxMessageSize {
		return nil, ErrTooLarge
	}
	return data, nil
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

// Serve accepts connections on ln until it is closed, reads one document from
// each, decodes it and passes it to handle on the connection's own goroutine.
// An empty connection (a port probe) is ignored; a bad document is logged
// with the sender's address and answered with an Error, which only a
// sender that waits for an answer reads. Temporary accept errors are logged
// and the loop goes on; a closed listener ends it and Serve returns nil.
func Serve(ln net.Listener, log zerolog.Logger, handle Handler) error {
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
		go serveConn(conn, log, handle)
	}
}

func serveConn(conn net.Conn, log zerolog.Logger, handle Handler) {
	defer conn.Close()
	from := conn.RemoteAddr().String()
	if err := conn.SetReadDeadline(time.Now().Add(ReadTimeout)); err != nil {
		log.Warn().Err(err).Str("from", from).Msg("set read deadline")
		return
	}
	data, err := ReadMessage(conn)
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
	if err := conn.SetDeadline(time.Now().Add(ReadTimeout)); err != nil {
		log.Warn().Err(err).Str("from", from).Msg("set deadline")
		return
	}
	handle(from, msg, func(answer Message) error { return Reply(conn, answer) })
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
