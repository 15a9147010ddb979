package worker

import (
	"errors"
	"fmt"
	"time"

	"mapreduce/internal/backoff"
	"mapreduce/protocol"
)

// Reports reach the master whatever happens on the way. To a master that
// acknowledges them (it announced protocol.CapAck), a report (a status, or
// the log of a killed attempt) goes as a request, sent again with backoff
// until the master answers status_ack: a master at its connection bound
// resets a connection unread, and a status lost so would leave its task
// running in the master's eyes until its timeout. The master acknowledges
// a report it had recorded already, and ignores it. Meanwhile the task
// stays held, so that heartbeats list it: a master that restarted adopts
// it, and takes its status then. To a reference master a report goes the
// reference way, once, retried only while it cannot be sent.
//
// How a try ends:
//   - status_ack: delivered.
//   - an error answer: the master read the report and did not take it (it
//     is stopping, or does not know this worker yet, after a restart):
//     sent again, up to maxRefusals times in a row.
//   - a reset, a refused connection, no answer in time: sent again.
//   - the connection closed after the report was read, without an answer:
//     our master always answers a report it read, so after
//     maxUnanswered of these in a row the master is taken for one that
//     does not acknowledge (a reference master took the port): the report
//     is delivered, and later ones go the reference way until a
//     register_ack says otherwise.

const (
	// ackTimeout bounds the wait for a status_ack: the master answers once
	// its loop has taken the report, within protocol.ReadTimeout, past
	// which it no longer writes the answer.
	ackTimeout = protocol.ReadTimeout
	// maxRefusals bounds the error answers in a row to one report: at the
	// backoff's 2 s, about a minute.
	maxRefusals = 30
	// maxUnanswered is how many reads without an answer in a row make the
	// master one that does not acknowledge.
	maxUnanswered = 3
)

// errRefused marks a try that the master answered with an error.
var errRefused = errors.New("refused")

// report sends status to the master, for as long as the worker runs to a
// master that acknowledges it, else for RegisterTimeout at most.
func (w *Worker) report(status protocol.Status) {
	if !w.reports.Load() {
		status.Report = protocol.Report{}
	}
	w.deliver(status, "status", w.acks.Load())
}

// deliver sends msg, a report, as the file's comment says; forever: to a
// master that acknowledges reports, until it does; else for
// RegisterTimeout at most. It logs what it could not deliver.
func (w *Worker) deliver(msg protocol.Message, what string, forever bool) {
	tries, refusals, unanswered := 0, 0, 0
	policy := backoff.Policy{
		First:  100 * time.Millisecond,
		Max:    2 * time.Second,
		Jitter: true, // a master back from a restart meets its workers' reports spread out
		GiveUp: func(err error) bool {
			return errors.Is(err, errRefused) && refusals >= maxRefusals
		},
		OnRetry: func(err error) {
			if tries == 1 { // an outage is logged once
				w.log.Warn().Err(err).Str("report", what).Msg(what + " not delivered; trying again")
			}
		},
	}
	if !forever {
		policy.Deadline = time.Now().Add(w.cfg.RegisterTimeout)
	}
	err := backoff.Retry(w.ctx, policy, func() error {
		tries++
		err := w.sendReport(msg)
		refusals, unanswered = count(refusals, errors.Is(err, errRefused)), count(unanswered, readUnanswered(err))
		if unanswered >= maxUnanswered {
			w.log.Warn().Str("master", w.masterAddr()).
				Msg("the master reads reports without acknowledging them: taken for a reference master; reports go the reference way until it registers us again")
			w.acks.Store(false)
			return nil
		}
		return err
	})
	switch {
	case err != nil && w.ctx.Err() == nil:
		w.log.Error().Err(err).Str("report", what).Msg(what + " not delivered")
	case err == nil && tries > 1:
		w.log.Info().Int("tries", tries).Str("report", what).Msg(what + " delivered")
	}
}

// count adds one to n if yes, else starts it over.
func count(n int, yes bool) int {
	if yes {
		return n + 1
	}
	return 0
}

// readUnanswered reports whether err is a request that the master read
// whole and closed without answering.
func readUnanswered(err error) bool {
	return errors.Is(err, protocol.ErrEmpty) && !protocol.Unread(err)
}

// sendReport sends msg once: as a request whose answer must be status_ack
// to a master that announced CapAck (looked at each time: the master may
// have restarted as another kind), else the reference way.
func (w *Worker) sendReport(msg protocol.Message) error {
	if !w.acks.Load() {
		return w.transport.Send(w.masterAddr(), msg)
	}
	answer, err := w.transport.Request(w.masterAddr(), msg, ackTimeout)
	if err != nil {
		return fmt.Errorf("%s to %s: %w", msg.Type(), w.masterAddr(), err)
	}
	switch a := answer.(type) {
	case protocol.StatusAck:
		return nil
	case protocol.Error:
		return fmt.Errorf("%s %w by %s: %s", msg.Type(), errRefused, w.masterAddr(), a.Error)
	default:
		return fmt.Errorf("%s %w: %s answered %s", msg.Type(), errRefused, w.masterAddr(), a.Type())
	}
}
