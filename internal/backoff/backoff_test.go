package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRetry(t *testing.T) {
	boom := errors.New("boom")
	final := errors.New("final")
	tests := []struct {
		name      string
		results   []error // what op returns, call by call; nil past the end
		policy    Policy
		want      error
		wantCalls int
	}{
		{"succeeds at once", nil, Policy{First: time.Millisecond}, nil, 1},
		{"succeeds on the third call", []error{boom, boom}, Policy{First: time.Millisecond, Max: 2 * time.Millisecond}, nil, 3},
		{"gives up on a final error", []error{boom, final, boom}, Policy{First: time.Millisecond,
			GiveUp: func(err error) bool { return errors.Is(err, final) }}, final, 2},
		{"with jitter", []error{boom, boom}, Policy{First: time.Millisecond, Max: 2 * time.Millisecond, Jitter: true}, nil, 3},
		{"past the deadline returns the last error", []error{boom, boom, boom}, Policy{First: time.Millisecond,
			Deadline: time.Now().Add(-time.Second)}, boom, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := Retry(context.Background(), tt.policy, func() error {
				calls++
				if calls <= len(tt.results) {
					return tt.results[calls-1]
				}
				return nil
			})
			if err != tt.want || calls != tt.wantCalls {
				t.Errorf("Retry = %v after %d calls, want %v after %d", err, calls, tt.want, tt.wantCalls)
			}
		})
	}
}

func TestRetryStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Retry(ctx, Policy{First: time.Hour}, func() error {
		calls++
		cancel()
		return errors.New("boom")
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("Retry = %v after %d calls, want context.Canceled after 1", err, calls)
	}
}

// TestRetryNeverStartsOnAnEndedContext: an outbox closed while a message
// waited must not send it.
func TestRetryNeverStartsOnAnEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := Retry(ctx, Policy{First: time.Millisecond}, func() error { called = true; return nil })
	if !errors.Is(err, context.Canceled) || called {
		t.Errorf("Retry = %v, op called %v; want context.Canceled without a call", err, called)
	}
}
