package protocol

import "time"

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
// waits for an answer. A reply to a sender that did not wait (a reference
// peer closes at once) fails, and that is not worth more than a debug line.
type Handler func(from string, msg Message, reply func(Message) error)

// Listener is an address a Transport serves until Close.
type Listener interface {
	// Addr is the address bound, with the port chosen when it was 0.
	Addr() string
	Close() error
}
