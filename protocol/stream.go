package protocol

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Streamed answers, our extension (docs/protocol.md, "Streamed answers"): a
// request (a fetch_run) answered with bytes of any length rather than one
// document. The answer starts with streamMagic, which neither a document
// ('{') nor a sealed frame ("MRAUTH2 ") starts with, so that a reader tells
// a stream from an ordinary answer (an Error: the peer said no). Then come
// chunks, each
//
//	kind (1 byte) | length (4 bytes, big-endian, at most 64 KiB) | [MAC (32 bytes), with Auth] | data
//
// of kind 'd' (data), then one 'e' (the end, no data) or 'x' (the writer
// failed; the data says why). Without the end chunk, a stream cut short is
// an error at the reader, never a silent short read, with or without Auth.
// With Auth each chunk's MAC binds it to the request's nonce and to its
// place in the stream (Auth.chunkMAC): a chunk changed, dropped, moved or
// taken from another stream is refused.

// streamMagic starts a streamed answer; it names the version of the framing.
const streamMagic = "MRSTREAM1\n"

// maxChunk bounds the data of one chunk, and so the reader's buffer.
const maxChunk = 64 << 10

// Chunk kinds.
const (
	chunkData  = 'd'
	chunkEnd   = 'e'
	chunkError = 'x'
)

// StreamWriteTimeout bounds how long the server of a stream waits for its
// reader to take one chunk: a reader that stops reading is dropped after
// it, however long the stream has run.
const StreamWriteTimeout = time.Minute

// Streamer answers a request with a stream: a Handler passes one to reply,
// which calls it with the stream's writer and returns once it has returned
// and the stream is ended. An error it returns ends the stream with that
// error, which the reader gets (as a *RemoteError) instead of io.EOF.
type Streamer func(w io.Writer) error

// Type makes a Streamer something reply takes; it never goes on the wire
// as a document (Encode refuses it).
func (Streamer) Type() string { return "stream" }

// RemoteError is a peer's refusal of a Stream: the Error it answered in
// place of the stream, or the error that ended the stream. A caller tells
// by it "the peer said no" from "the connection failed".
type RemoteError struct {
	Addr string // the peer
	Err  string // what it said
}

func (e *RemoteError) Error() string { return fmt.Sprintf("%s answered: %s", e.Addr, e.Err) }

// ErrTruncated is wrapped by a stream's Read when the stream ends without
// its end chunk.
var ErrTruncated = errors.New("stream truncated: it ended without its end chunk")

// idleConn bounds each read and write on conn rather than the whole
// exchange: a stream may take long, but not stall.
type idleConn struct {
	conn net.Conn
	idle time.Duration
}

// A deadline that cannot be set is on a closed connection, which the read
// or write that follows reports (as io.EOF, for a net.Pipe closed by its
// other end).
func (c idleConn) Read(p []byte) (int, error) {
	c.conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.conn.Read(p)
}

func (c idleConn) Write(p []byte) (int, error) {
	c.conn.SetWriteDeadline(time.Now().Add(c.idle))
	return c.conn.Write(p)
}

// chunkHeader is the length of a chunk's header, with Auth or without.
func chunkHeader(auth *Auth) int {
	if auth != nil {
		return 5 + sha256.Size
	}
	return 5
}

// writeStream writes the stream that s writes to w as the answer to the
// request with nonce: the magic, the chunks, and the end (or the error s
// returned). It returns s's error, or the error writing to w.
func writeStream(w io.Writer, auth *Auth, nonce string, s Streamer) error {
	if _, err := io.WriteString(w, streamMagic); err != nil {
		return err
	}
	c := &chunkWriter{w: w, auth: auth, nonce: nonce, hdr: chunkHeader(auth)}
	c.buf = make([]byte, c.hdr, c.hdr+maxChunk)
	err := s(c)
	if len(c.buf) > c.hdr && c.err == nil {
		c.flush(chunkData) // what was written arrives, even before an error
	}
	if c.err != nil {
		return c.err // the connection failed: nobody to tell
	}
	if err != nil {
		c.buf = append(c.buf, err.Error()[:min(len(err.Error()), maxChunk)]...)
		c.flush(chunkError)
		return err
	}
	return c.flush(chunkEnd)
}

// chunkWriter cuts what is written into chunks of maxChunk bytes.
type chunkWriter struct {
	w     io.Writer
	auth  *Auth
	nonce string
	seq   int64
	hdr   int
	// buf is a chunk being filled: room for the header, then the data.
	buf []byte
	err error
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if c.err != nil {
			return n, c.err
		}
		k := min(len(p), cap(c.buf)-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(c.buf) == cap(c.buf) {
			c.flush(chunkData)
		}
	}
	return n, c.err
}

// flush writes the chunk in buf as kind, in one write.
func (c *chunkWriter) flush(kind byte) error {
	data := c.buf[c.hdr:]
	c.buf[0] = kind
	binary.BigEndian.PutUint32(c.buf[1:5], uint32(len(data)))
	if c.auth != nil {
		copy(c.buf[5:c.hdr], c.auth.chunkMAC(c.nonce, c.seq, kind, data))
	}
	c.seq++
	if _, err := c.w.Write(c.buf); err != nil {
		c.err = err
	}
	c.buf = c.buf[:c.hdr]
	return c.err
}

// openStream reads the answer to a request sent on conn, by nonce with
// Auth: a stream, returned to be read, or an ordinary answer, returned as
// an error (a *RemoteError for an Error). Every read waits at most idle.
// It closes conn unless it returns a stream.
func openStream(conn net.Conn, addr string, auth *Auth, nonce string, idle time.Duration) (io.ReadCloser, error) {
	r := bufio.NewReader(idleConn{conn, idle})
	head := make([]byte, len(streamMagic))
	n, err := io.ReadFull(r, head)
	if err == nil && string(head) == streamMagic {
		return &streamReader{r: r, conn: conn, addr: addr, auth: auth, nonce: nonce,
			hdr: make([]byte, chunkHeader(auth)), buf: make([]byte, 0, maxChunk)}, nil
	}
	defer conn.Close()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("answer from %s: %w", addr, err)
	}
	// Not a stream: an ordinary answer, which can only be a refusal.
	answer, err := readRest(r, head[:n])
	if err != nil {
		return nil, fmt.Errorf("answer from %s: %w", addr, err)
	}
	msg, err := decodeAnswer(addr, answer, auth, nonce)
	if err != nil {
		return nil, err
	}
	if e, ok := msg.(Error); ok {
		return nil, &RemoteError{Addr: addr, Err: e.Error}
	}
	return nil, fmt.Errorf("answer from %s: a %s, not a stream", addr, msg.Type())
}

// streamReader reads a stream's chunks and passes on their data.
type streamReader struct {
	r     *bufio.Reader
	conn  net.Conn
	addr  string
	auth  *Auth
	nonce string
	seq   int64
	hdr   []byte
	// buf holds the current chunk's data, of which off is passed on.
	buf []byte
	off int
	// err ends the stream: io.EOF after the end chunk.
	err error
}

func (s *streamReader) Read(p []byte) (int, error) {
	for s.off == len(s.buf) {
		if s.err != nil {
			return 0, s.err
		}
		s.err = s.next()
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

func (s *streamReader) Close() error { return s.conn.Close() }

// next reads the next chunk into buf; it returns io.EOF after the end.
func (s *streamReader) next() error {
	s.buf, s.off = s.buf[:0], 0
	if _, err := io.ReadFull(s.r, s.hdr); err != nil {
		return s.readErr(err)
	}
	kind, length := s.hdr[0], binary.BigEndian.Uint32(s.hdr[1:5])
	if length > maxChunk {
		return fmt.Errorf("stream from %s: a chunk of %d bytes, over the %d allowed", s.addr, length, maxChunk)
	}
	data := s.buf[:length]
	if _, err := io.ReadFull(s.r, data); err != nil {
		return s.readErr(err)
	}
	if s.auth != nil && !hmac.Equal(s.hdr[5:], s.auth.chunkMAC(s.nonce, s.seq, kind, data)) {
		return fmt.Errorf("stream from %s: chunk %d: %w: wrong MAC (changed, out of place, or from another stream)",
			s.addr, s.seq, ErrUnauthenticated)
	}
	s.seq++
	switch kind {
	case chunkData:
		s.buf = data
		return nil
	case chunkEnd:
		if length != 0 {
			return fmt.Errorf("stream from %s: an end chunk with data", s.addr)
		}
		return io.EOF
	case chunkError:
		return &RemoteError{Addr: s.addr, Err: string(data)}
	default:
		return fmt.Errorf("stream from %s: unknown chunk kind %q", s.addr, kind)
	}
}

// readErr is the error for a failed read of a chunk: a connection closed
// before the end chunk is a truncated stream, not an end.
func (s *streamReader) readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("stream from %s: %w", s.addr, ErrTruncated)
	}
	return fmt.Errorf("stream from %s: %w", s.addr, err)
}

// Stream sends msg as Request does and returns the answer as a stream,
// which the caller must close. Each read waits at most timeout for a byte;
// the stream as a whole may take longer. An Error in place of the stream
// is returned as a *RemoteError. Once ctx is done the connection is
// closed: what waits fails with a closed connection's error (a caller
// that cares asks ctx why).
func (t TCP) Stream(ctx context.Context, addr string, msg Message, timeout time.Duration) (io.ReadCloser, error) {
	data, err := Encode(msg)
	if err != nil {
		return nil, err
	}
	dialer := net.Dialer{Timeout: DialTimeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	watched := closedWith(ctx, conn)
	bufs, nonce, err := t.seal(purposeMessage, t.to(addr, conn), data)
	if err == nil {
		err = conn.SetWriteDeadline(time.Now().Add(timeout))
	}
	if err == nil {
		err = write(conn, bufs)
	}
	if tc, ok := conn.(*net.TCPConn); ok && err == nil {
		err = tc.CloseWrite()
	}
	if err != nil {
		watched.Close()
		return nil, fmt.Errorf("request to %s: %w", addr, err)
	}
	return openStream(watched, addr, t.Auth, nonce, timeout)
}

// closedWith returns conn, closed once ctx is done: a read or a write
// that waits fails at once. Closing it stops the watch.
func closedWith(ctx context.Context, conn net.Conn) net.Conn {
	return ctxConn{conn, context.AfterFunc(ctx, func() { conn.Close() })}
}

type ctxConn struct {
	net.Conn
	stop func() bool
}

func (c ctxConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// answer writes msg on conn as the answer to the request with nonce
// (sealed with Auth): a stream for a Streamer, else one document.
func (t TCP) answer(conn net.Conn, nonce string, msg Message) error {
	if s, ok := msg.(Streamer); ok {
		if err := writeStream(idleConn{conn, StreamWriteTimeout}, t.Auth, nonce, s); err != nil {
			return fmt.Errorf("stream to %s: %w", conn.RemoteAddr(), err)
		}
		return nil
	}
	if t.Auth == nil {
		return Reply(conn, msg)
	}
	return t.reply(conn, nonce, msg)
}
