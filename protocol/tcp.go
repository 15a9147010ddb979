package protocol

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
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
	// Auth, when set, authenticates every message, answer and datagram
	// both ways (auth.go): what is sent is sealed, and what arrives without
	// a valid seal is dropped. Nil speaks the reference protocol.
	Auth *Auth
	// Master is the master's address as this process dials it (a
	// worker's --master-host and port, sendjob's --host and port): with
	// Auth, what is sent there is sealed for the master, and what is sent
	// to any other address for a worker (dest.go). Heartbeat datagrams
	// are for the master wherever they go.
	Master string
}

var _ Transport = TCP{}

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

// Send delivers msg to addr unauthenticated, as TCP{}.Send.
func Send(addr string, msg Message) error { return TCP{}.Send(addr, msg) }

// Request sends msg unauthenticated and returns the answer, as
// TCP{}.Request.
func Request(addr string, msg Message, timeout time.Duration) (Message, error) {
	return TCP{}.Request(addr, msg, timeout)
}

// seal returns data as it goes on the wire for purpose to the process
// named by to, and the nonce the answer must be bound to: data alone
// without Auth, else a header and data.
func (t TCP) seal(purpose, to string, data []byte) (net.Buffers, string, error) {
	if t.Auth == nil {
		return net.Buffers{data}, "", nil
	}
	header, nonce, err := t.Auth.Seal(purpose, to, data)
	if err != nil {
		return nil, "", err
	}
	return net.Buffers{header, data}, nonce, nil
}

// to names the process at addr, reached over conn: the master at t.Master,
// a worker anywhere else.
func (t TCP) to(addr string, conn net.Conn) string {
	role := RoleWorker
	if addr == t.Master {
		role = RoleMaster
	}
	return Dest(role, addr, conn.RemoteAddr())
}

// write writes bufs in one write (one writev for a header and a document).
func write(conn net.Conn, bufs net.Buffers) error {
	if len(bufs) == 1 {
		_, err := conn.Write(bufs[0])
		return err
	}
	_, err := bufs.WriteTo(conn)
	return err
}

// Send delivers msg to addr as reference peers expect: a new connection, the
// whole document in one write, then close.
func (t TCP) Send(addr string, msg Message) error {
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
	bufs, _, err := t.seal(purposeMessage, t.to(addr, conn), data)
	if err != nil {
		return fmt.Errorf("send %s to %s: %w", msg.Type(), addr, err)
	}
	if err := write(conn, bufs); err != nil {
		return fmt.Errorf("send %s to %s: %w", msg.Type(), addr, err)
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("send %s to %s: %w", msg.Type(), addr, err)
	}
	return nil
}

// Request sends msg, half-closes the connection so that the peer sees EOF,
// and decodes the peer's one-document answer. It is for our extensions: a
// reference peer never answers on the same connection. With Auth, only an
// answer sealed for this request is taken.
func (t TCP) Request(addr string, msg Message, timeout time.Duration) (Message, error) {
	data, err := Encode(msg)
	if err != nil {
		return nil, err
	}
	dialed := time.Now()
	conn, err := net.DialTimeout("tcp", addr, DialTimeout)
	if err != nil {
		return nil, &RequestError{Stage: StageConnect, Err: fmt.Errorf("connect to %s: %w", addr, err)}
	}
	connecting := time.Since(dialed) // about a round trip
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, fmt.Errorf("request to %s: %w", addr, err)
	}
	bufs, nonce, err := t.seal(purposeMessage, t.to(addr, conn), data)
	if err != nil {
		return nil, fmt.Errorf("request to %s: %w", addr, err)
	}
	if err := write(conn, bufs); err != nil {
		return nil, &RequestError{Stage: StageSend, Err: fmt.Errorf("request to %s: %w", addr, err)}
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err != nil {
			return nil, &RequestError{Stage: StageSend, Err: fmt.Errorf("request to %s: %w", addr, err)}
		}
	}
	read := &countingReader{r: conn}
	answer, err := ReadMessage(read)
	if err != nil {
		err = fmt.Errorf("answer from %s: %w", addr, err)
		if errors.Is(err, ErrTooLarge) {
			return nil, err
		}
		return nil, &RequestError{Stage: StageAnswer, Answered: read.n > 0, Err: err}
	}
	if len(answer) == 0 {
		// Reset too, or closed after reading the request whole?
		err := emptyAnswer(addr)
		if reset := resetAfterEOF(conn, connecting); reset != nil {
			err = fmt.Errorf("answer from %s: %w", addr, reset)
		}
		return nil, &RequestError{Stage: StageAnswer, Err: err}
	}
	return decodeAnswer(addr, answer, t.Auth, nonce)
}

// decodeAnswer decodes the answer from addr to the request sealed with
// nonce: with a, only an answer sealed for that request is taken.
func decodeAnswer(addr string, answer []byte, a *Auth, nonce string) (Message, error) {
	if len(answer) == 0 {
		return nil, emptyAnswer(addr)
	}
	if a != nil {
		body, _, err := a.Open(purposeReply(nonce), answer, nil)
		if err != nil {
			return nil, unauthenticatedAnswer(addr, answer, err)
		}
		answer = body
	}
	reply, err := Decode(answer)
	if err != nil {
		return nil, fmt.Errorf("answer from %s: %w", addr, err)
	}
	return reply, nil
}

// emptyAnswer is the error for a connection closed without an answer: a
// peer that stops (a master killed or restarting), or drops the
// connection at its bound, closes it unanswered.
func emptyAnswer(addr string) error {
	return fmt.Errorf("%s closed the connection without answering (it may be stopping, restarting or too busy): %w", addr, ErrEmpty)
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
	go t.Serve(ln, handle)
	return tcpListener{ln}, nil
}

// reply writes msg on conn sealed as the answer to the request with nonce.
func (t TCP) reply(conn net.Conn, nonce string, msg Message) error {
	data, err := Encode(msg)
	if err != nil {
		return err
	}
	header, _, err := t.Auth.Seal(purposeReply(nonce), noDest, data)
	if err != nil {
		return err
	}
	if err := write(conn, net.Buffers{header, data}); err != nil {
		return fmt.Errorf("reply to %s: %w", conn.RemoteAddr(), err)
	}
	return nil
}

// unauthenticatedAnswer is the error for an answer without a valid seal.
// An unsealed Error is quoted, as the peer's unverified word: it is how a
// peer refuses a request it could not authenticate, and how one without a
// secret answers a sealed request it cannot read.
func unauthenticatedAnswer(addr string, answer []byte, err error) error {
	if msg, derr := Decode(answer); derr == nil {
		if e, ok := msg.(Error); ok {
			hint := " (does it have the same secret?)"
			if strings.Contains(e.Error, "sealed for") {
				hint = "" // the secret is right: the frame went to another process than it named
			}
			return fmt.Errorf("%s answered without authentication%s: %q: %w",
				addr, hint, e.Error, ErrUnauthenticated)
		}
	}
	return fmt.Errorf("answer from %s: %w", addr, err)
}

// SendDatagram sends msg as one UDP datagram.
func (t TCP) SendDatagram(addr string, msg Message) error {
	data, err := Encode(msg)
	if err != nil {
		return err
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return fmt.Errorf("send %s to %s: %w", msg.Type(), addr, err)
	}
	defer conn.Close()
	if t.Auth != nil {
		header, _, err := t.Auth.Seal(purposeDatagram, Dest(RoleMaster, addr, conn.RemoteAddr()), data)
		if err != nil {
			return fmt.Errorf("send %s to %s: %w", msg.Type(), addr, err)
		}
		data = append(header, data...) // a datagram is one write
	}
	if _, err := conn.Write(data); err != nil {
		return fmt.Errorf("send %s to %s: %w", msg.Type(), addr, err)
	}
	return nil
}

type udpListener struct{ net.PacketConn }

func (l udpListener) Addr() string { return l.LocalAddr().String() }

// ListenDatagrams reads UDP datagrams on addr until closed; one that does
// not decode is dropped, and logged at a bounded rate (DropLog).
func (t TCP) ListenDatagrams(addr string, handle func(from string, msg Message)) (Listener, error) {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for datagrams on %s: %w", addr, err)
	}
	go func() {
		buf := make([]byte, maxDatagram)
		var drops DropLog
		for {
			n, from, err := conn.ReadFrom(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				drops.Log(t.Log, "", err, "read datagram")
				continue
			}
			data := buf[:n]
			if t.Auth != nil {
				if data, _, err = t.Auth.Open(purposeDatagram, data, conn.LocalAddr()); err != nil {
					t.Auth.LogDrop(t.Log, from.String(), err)
					continue
				}
			}
			msg, err := Decode(data)
			if err != nil {
				drops.Log(t.Log, from.String(), err, "dropped datagram")
				continue
			}
			handle(from.String(), msg)
		}
	}()
	return udpListener{conn}, nil
}
