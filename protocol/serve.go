package protocol

import (
	"errors"
	"net"
	"time"

	"github.com/rs/zerolog"
)

// ReadTimeout bounds how long a peer may take to send its document and close;
// a half-open connection is dropped after it.
const ReadTimeout = 10 * time.Second

// Handler handles one decoded message; conn stays open so that extensions
// can answer on it.
type Handler func(conn net.Conn, msg any)

// Serve accepts connections on ln until it is closed, reads one document from
// each, decodes it and passes it to handle on the connection's own goroutine.
// An empty connection (a port probe) is ignored; a bad document is logged
// with the sender's address and dropped. Temporary accept errors are logged
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
		// A sender that waits for an answer learns why; a seed peer has
		// closed already and never sees it.
		Reply(conn, Error{MessageType: TypeError, Error: err.Error()})
		return
	}
	// The answer, if any, may take a while (the master's loop is busy); the
	// read deadline must not cut it.
	if err := conn.SetDeadline(time.Now().Add(ReadTimeout)); err != nil {
		log.Warn().Err(err).Str("from", from).Msg("set deadline")
		return
	}
	handle(conn, msg)
}
