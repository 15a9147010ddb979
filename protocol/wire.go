package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// MaxMessageSize bounds one TCP document; a larger one is refused unread.
const MaxMessageSize = 16 << 20

// DialTimeout bounds connecting to a peer.
const DialTimeout = 3 * time.Second

// ErrTooLarge is returned by ReadMessage for a document over MaxMessageSize.
var ErrTooLarge = errors.New("message too large")

// Encode marshals msg as one JSON document.
func Encode(msg any) ([]byte, error) {
	data, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", msg, err)
	}
	return data, nil
}

// Send delivers msg to addr as the seed's peers expect: a new connection, the
// whole document in one write, then close.
func Send(addr string, msg any) error {
	data, err := Encode(msg)
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout("tcp", addr, DialTimeout)
	if err != nil {
		return fmt.Errorf("send %T to %s: %w", msg, addr, err)
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(DialTimeout)); err != nil {
		return fmt.Errorf("send %T to %s: %w", msg, addr, err)
	}
	if _, err := conn.Write(data); err != nil {
		return fmt.Errorf("send %T to %s: %w", msg, addr, err)
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("send %T to %s: %w", msg, addr, err)
	}
	return nil
}

// Request sends msg, half-closes the connection so that the peer sees EOF,
// and decodes the peer's one-document answer. It is for our extensions: a
// seed peer never answers on the same connection.
func Request(addr string, msg any, timeout time.Duration) (any, error) {
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

// Reply writes msg on conn, the connection its request came on. A client
// that has already gone away (the seed's send_job.py closes right after
// sending) makes this fail; callers log that at debug level at most.
func Reply(conn net.Conn, msg any) error {
	data, err := Encode(msg)
	if err != nil {
		return err
	}
	if _, err := conn.Write(data); err != nil {
		return fmt.Errorf("reply to %s: %w", conn.RemoteAddr(), err)
	}
	return nil
}
