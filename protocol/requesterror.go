package protocol

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"
)

// RequestError is a Request that failed on the way: how far it got says
// whether the peer can have handled it, which decides whether sending it
// again is safe. Its text is Err's.
type RequestError struct {
	Stage RequestStage
	// Answered: some bytes of an answer had arrived before the failure.
	Answered bool
	Err      error
}

func (e *RequestError) Error() string { return e.Err.Error() }
func (e *RequestError) Unwrap() error { return e.Err }

// RequestStage is where a Request failed.
type RequestStage int

const (
	// StageConnect: no connection, nothing sent.
	StageConnect RequestStage = iota
	// StageSend: writing the request, or closing our side after it,
	// failed: the peer never saw its end.
	StageSend
	// StageAnswer: the request was sent whole, and reading the answer
	// failed (a reset, a timeout), or the peer closed without one.
	StageAnswer
)

// Unread reports whether err is a Request that the peer certainly did not
// handle although it accepted the connection: it reset it while we
// connected (StageConnect), before our side was closed (StageSend), or
// before any byte of its answer (StageAnswer).
// A peer of the protocol handles a document only once it has read it to
// its end (EOF), and TCP resets a connection closed with bytes unread, or
// one that bytes reach after its close, while one closed after reading
// them all is closed (EOF), not reset: so a reset before the answer means
// that the peer closed the connection without reading the whole request.
// That is what a master at its connection bound does: it closes the
// connection unread, before or after our bytes arrive. If before, its EOF
// comes first and the reset a round trip later: Request waits that long
// for it (resetAfterEOF). An EOF alone is not Unread: the peer read the
// request and may have handled it (a master killed before it answered, a
// reference peer, which never answers). This holds as long as resets come
// from the peer's kernel, not from something on the way.
func Unread(err error) bool {
	var re *RequestError
	if !errors.As(err, &re) {
		return false
	}
	switch re.Stage {
	case StageConnect:
		// Nothing was sent. A reset while connecting is a peer that
		// accepted the connection and reset it at once (its bound); a
		// refused one is a port where nothing listens, not unread.
		return isReset(re.Err)
	case StageSend:
		return true
	case StageAnswer:
		return !re.Answered && isReset(re.Err)
	}
	return false
}

// isReset reports whether err is the peer's reset of the connection.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// resetAfterEOF returns the reset of conn, which gave EOF without an
// answer, if one comes within about a round trip (twice what connecting
// took, plus 20 ms, at most a second), else nil. A peer that closes the
// connection before our request arrives sends EOF, and a reset once the
// request arrives, a round trip after our write at most. One that read
// the request whole and closed sends no reset.
func resetAfterEOF(conn net.Conn, connecting time.Duration) error {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	deadline := time.Now().Add(min(2*connecting+20*time.Millisecond, time.Second))
	for {
		var soErr int
		var err error
		if cerr := raw.Control(func(fd uintptr) {
			soErr, err = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		}); cerr != nil || err != nil {
			return nil
		}
		if e := syscall.Errno(soErr); soErr != 0 && isReset(e) {
			return e
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
}
