package protocol

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestUnread: only a reset before our side was closed, or before any
// byte of the answer, leaves the request certainly unhandled.
func TestUnread(t *testing.T) {
	wrap := func(err error) error {
		return fmt.Errorf("answer from x: %w", &net.OpError{Op: "read", Err: os.NewSyscallError("read", err)})
	}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"refused", &RequestError{Stage: StageConnect, Err: wrap(syscall.ECONNREFUSED)}, false},
		{"reset while connecting", &RequestError{Stage: StageConnect, Err: wrap(syscall.ECONNRESET)}, true},
		{"reset while writing", &RequestError{Stage: StageSend, Err: wrap(syscall.EPIPE)}, true},
		{"reset before our close", &RequestError{Stage: StageSend, Err: wrap(syscall.ENOTCONN)}, true},
		{"reset before the answer", &RequestError{Stage: StageAnswer, Err: wrap(syscall.ECONNRESET)}, true},
		{"reset in the answer", &RequestError{Stage: StageAnswer, Answered: true, Err: wrap(syscall.ECONNRESET)}, false},
		{"closed unanswered", &RequestError{Stage: StageAnswer, Err: emptyAnswer("x")}, false},
		{"timed out", &RequestError{Stage: StageAnswer, Err: wrap(os.ErrDeadlineExceeded)}, false},
		{"wrapped again", fmt.Errorf("submit: %w", &RequestError{Stage: StageAnswer, Err: wrap(syscall.ECONNRESET)}), true},
		{"not a request's", wrap(syscall.ECONNRESET), false},
	} {
		if got := Unread(tt.err); got != tt.want {
			t.Errorf("%s: Unread(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestRequestStages: Request against peers that fail it in each way says
// how far it got, and whether the peer can have handled it.
func TestRequestStages(t *testing.T) {
	for _, tt := range []struct {
		name string
		// serve does what the peer does with one accepted connection.
		serve  func(net.Conn)
		stages []RequestStage
		unread bool
		empty  bool
	}{
		{"closed after reading part", func(c net.Conn) { c.Read(make([]byte, 1)); c.Close() },
			[]RequestStage{StageSend, StageAnswer}, true, false},
		{"closed after reading it whole", func(c net.Conn) { io.ReadAll(c); c.Close() },
			[]RequestStage{StageAnswer}, false, true},
		{"never answers", func(c net.Conn) { io.ReadAll(c); time.Sleep(time.Second); c.Close() },
			[]RequestStage{StageAnswer}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ln := listen(t)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go tt.serve(c)
				}
			}()
			_, err := Request(ln.Addr().String(), JobStatusRequest{Brief: true}, 200*time.Millisecond)
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a RequestError", err)
			}
			if !slices.Contains(tt.stages, re.Stage) || re.Answered || Unread(err) != tt.unread || errors.Is(err, ErrEmpty) != tt.empty {
				t.Errorf("got %v: stage %d, answered %v, Unread %v, empty %v; want a stage of %v, unanswered, Unread %v, empty %v",
					err, re.Stage, re.Answered, Unread(err), errors.Is(err, ErrEmpty), tt.stages, tt.unread, tt.empty)
			}
		})
	}
	t.Run("nothing listens", func(t *testing.T) {
		ln := listen(t)
		addr := ln.Addr().String()
		ln.Close()
		_, err := Request(addr, JobStatusRequest{}, time.Second)
		var re *RequestError
		if !errors.As(err, &re) || re.Stage != StageConnect || Unread(err) || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("got %v, want a refused connect, not Unread", err)
		}
	})
}

// TestRequestAtTheConnectionBound: Serve at maxConns, every connection
// served having sent something, resets a new connection unread, before or after the request arrives; either way the
// request is Unread.
func TestRequestAtTheConnectionBound(t *testing.T) {
	setMaxConns(t, 1)
	ln := listen(t)
	w := watchReads(ln, smallMessage)
	go Serve(w, zerolog.Nop(), func(_ string, _ Message, reply func(Message) error) {
		reply(JobAccepted{JobID: 1})
	})
	// Accepted first (connections are accepted in order), it holds the
	// one slot: it has sent the start of a document (a silent one would
	// give its place to the next), and is served until the read deadline.
	held, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := held.Write([]byte(`{"message_type"`)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the held connection read", func() bool { return w.readBy(held.LocalAddr().String()) > 0 })
	for range 50 {
		_, err := Request(ln.Addr().String(), JobStatusRequest{}, 5*time.Second)
		if !Unread(err) {
			t.Fatalf("at the bound: got %v, want Unread", err)
		}
	}
	held.Close()
	waitUntil(t, "the bound to be left", func() bool {
		_, err := Request(ln.Addr().String(), JobStatusRequest{}, 5*time.Second)
		return err == nil
	})
}
