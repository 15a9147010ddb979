package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"mapreduce/internal/backoff"
	"mapreduce/protocol"
)

// failure is what a failed request says about asking again.
type failure int

const (
	// refused: the master answered, refusing the request (answerError):
	// asking again does not help.
	refused failure = iota
	// badAnswer: what came back is no answer of ours: not a document,
	// cut short, or unauthenticated (another secret). A peer that is no
	// master of ours, or a master killed while it answered.
	badAnswer
	// unreachable: no connection. Nothing listens on the port (a wrong
	// port, no master, or one restarting), or the host is unreachable.
	unreachable
	// unread: the master accepted the connection and reset it before
	// reading our request whole, as it does at its connection bound: the
	// request was certainly not handled (protocol.Unread).
	unread
	// unanswered: the request went whole, and no answer came (the
	// connection closed, or the answer timed out): the master may have
	// handled it.
	unanswered
)

func (f failure) String() string {
	return [...]string{"refused", "bad answer", "unreachable", "unread", "unanswered"}[f]
}

func classify(err error) failure {
	var re *protocol.RequestError
	switch {
	case errors.As(err, new(answerError)):
		return refused
	case !errors.As(err, &re):
		return badAnswer
	case protocol.Unread(err):
		return unread // a reset while connecting too: the master at its bound
	case re.Stage == protocol.StageConnect:
		return unreachable
	}
	return unanswered
}

// Which failures each kind of request is tried again after, for at most
// --reconnect-for. A status and a submit only after a drop by a master
// that is there but busy, at its connection bound, which closes the
// connection unread: that left the request certainly unhandled, so that a
// job is not submitted twice. Not when nothing listens: a wrong port fails
// at once, and scripts that wait for a master to come up ask it again
// themselves. Nor when the request went whole and no answer came: the
// peer may have handled it (a master killed meanwhile), or it is no master
// of ours (a worker's port, a reference master, which never answer). The
// polls of --wait after any failure but a refusal: the job is queued, and
// the master that has it may be restarting (it keeps its jobs: its
// journal), or killed while it answered.
var (
	statusRetries = []failure{unread}
	submitRetries = []failure{unread}
	waitRetries   = []failure{badAnswer, unreachable, unread, unanswered}
)

// retrying calls op until it succeeds, fails with a failure not in
// retries, or o.reconnect has passed, with growing pauses. The first retry
// is told on stderr, and so is success after it.
func (o *options) retrying(retries []failure, op func() error) error {
	told := false
	deadline := time.Now().Add(o.reconnect)
	if !o.until.IsZero() && o.until.Before(deadline) {
		deadline = o.until // --wait --timeout bounds the whole wait
	}
	err := backoff.Retry(context.Background(), backoff.Policy{
		First: 100 * time.Millisecond, Max: 2 * time.Second, Deadline: deadline,
		GiveUp: func(err error) bool { return !slices.Contains(retries, classify(err)) },
		OnRetry: func(err error) {
			if told {
				return
			}
			told = true
			why := map[failure]string{
				unreachable: "cannot reach the master",
				unread:      "the master dropped the connection unread (busy: at its connection bound?)",
				unanswered:  "no answer from the master",
				badAnswer:   "no answer of the master's",
			}[classify(err)]
			if o.wait && o.terminal {
				fmt.Fprintln(os.Stderr) // off the progress line
			}
			fmt.Fprintf(os.Stderr, "sendjob: %s: %v; trying again for up to %s\n", why, err, o.reconnect)
		},
	}, op)
	if err == nil && told {
		fmt.Fprintln(os.Stderr, "sendjob: the master answers again")
	}
	return err
}
