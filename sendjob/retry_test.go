package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"

	"mapreduce/protocol"
)

// TestRetries: which failures a status, a submit and --wait's polls are
// tried again after.
func TestRetries(t *testing.T) {
	sys := func(err error) error {
		return fmt.Errorf("to x: %w", &net.OpError{Op: "read", Err: os.NewSyscallError("read", err)})
	}
	req := func(stage protocol.RequestStage, answered bool, err error) error {
		return &protocol.RequestError{Stage: stage, Answered: answered, Err: err}
	}
	for _, tt := range []struct {
		name                 string
		err                  error
		want                 failure
		status, submit, wait bool
	}{
		{"the master refuses", answerError{"no such job"}, refused, false, false, false},
		{"the master refuses, wrapped", fmt.Errorf("job 1: %w", answerError{"no such job"}), refused, false, false, false},
		{"a bad answer", fmt.Errorf("answer from x: %w", errors.New("bad json")), badAnswer, false, false, true},
		{"unauthenticated", fmt.Errorf("x answered without authentication: %w", protocol.ErrUnauthenticated), badAnswer, false, false, true},
		{"nothing listens", req(protocol.StageConnect, false, sys(syscall.ECONNREFUSED)), unreachable, false, false, true},
		{"connect timed out", req(protocol.StageConnect, false, sys(os.ErrDeadlineExceeded)), unreachable, false, false, true},
		{"reset while connecting", req(protocol.StageConnect, false, sys(syscall.ECONNRESET)), unread, true, true, true},
		{"reset while sending", req(protocol.StageSend, false, sys(syscall.EPIPE)), unread, true, true, true},
		{"reset before closing our side", req(protocol.StageSend, false, sys(syscall.ENOTCONN)), unread, true, true, true},
		{"reset before the answer", req(protocol.StageAnswer, false, sys(syscall.ECONNRESET)), unread, true, true, true},
		{"reset in the answer", req(protocol.StageAnswer, true, sys(syscall.ECONNRESET)), unanswered, false, false, true},
		{"closed unanswered", req(protocol.StageAnswer, false, fmt.Errorf("x closed: %w", protocol.ErrEmpty)), unanswered, false, false, true},
		{"answer timed out", req(protocol.StageAnswer, false, sys(os.ErrDeadlineExceeded)), unanswered, false, false, true},
	} {
		got := classify(tt.err)
		if got != tt.want {
			t.Errorf("%s: classify(%v) = %s, want %s", tt.name, tt.err, got, tt.want)
		}
		for _, p := range []struct {
			kind    string
			retries []failure
			want    bool
		}{{"status", statusRetries, tt.status}, {"submit", submitRetries, tt.submit}, {"wait", waitRetries, tt.wait}} {
			if slices.Contains(p.retries, got) != p.want {
				t.Errorf("%s: a %s retries %s: %v, want %v", tt.name, p.kind, got, !p.want, p.want)
			}
		}
	}
}
