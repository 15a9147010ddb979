package protocol

import (
	"context"
	"io"
	"time"
)

// Transport moves messages between peers named by address ("host:port"),
// as hashicorp/raft's Transport does: TCP between processes, Inmem between
// peers of one process in tests. The master and the workers reach each
// other only through it (the master's status page is plain net/http).
type Transport interface {
	// Send delivers msg to addr as a reference peer expects: a connection,
	// one document, close. It returns once the peer has the bytes, not once
	// the peer has acted on them.
	Send(addr string, msg Message) error
	// Request sends msg and returns the peer's answer on the same
	// connection. It is for our extensions: a reference peer never answers.
	Request(addr string, msg Message, timeout time.Duration) (Message, error)
	// Stream sends msg as Request does and returns the answer as a stream
	// of bytes of any length (stream.go), which the caller must close: a
	// Handler answers with a Streamer. Each read waits at most timeout for
	// a byte. An Error in place of the stream, or one that ends it, is a
	// *RemoteError; a stream cut short is an error, never io.EOF. Once ctx
	// is done the connection is closed: a read that waits on a silent peer
	// fails at once, not after timeout, with a closed connection's error.
	Stream(ctx context.Context, addr string, msg Message, timeout time.Duration) (io.ReadCloser, error)
	// Listen passes each message sent to addr to handle, on a goroutine of
	// its own, until the Listener is closed. A document that does not
	// decode is logged and answered with an Error, never passed on.
	Listen(addr string, handle Handler) (Listener, error)
	// SendDatagram sends msg as one datagram: a heartbeat, over UDP.
	SendDatagram(addr string, msg Message) error
	// ListenDatagrams passes each datagram sent to addr to handle, on the
	// listener's one goroutine, in order.
	ListenDatagrams(addr string, handle func(from string, msg Message)) (Listener, error)
}

// Handler handles one message that arrived from the address from; reply
// answers on the message's own connection, for extensions whose sender
// waits for an answer: with one message, or with a Streamer for a sender
// that called Stream. A reply to a sender that did not wait (a reference
// peer closes at once) fails, and that is not worth more than a debug line.
type Handler func(from string, msg Message, reply func(Message) error)

// Listener is an address a Transport serves until Close.
type Listener interface {
	// Addr is the address bound, with the port chosen when it was 0.
	Addr() string
	Close() error
}
