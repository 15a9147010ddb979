// Package backoff retries an operation with growing pauses: the one retry
// loop of the master's sends, the worker's registration and its status
// reports.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy says how to retry. Pauses start at First and double up to Max;
// with a Deadline, the last failure past it is returned.
type Policy struct {
	First    time.Duration
	Max      time.Duration
	Deadline time.Time
	// GiveUp, if set, ends the retries early on an error it judges final.
	GiveUp func(err error) bool
	// OnRetry, if set, hears each failure that will be retried.
	OnRetry func(err error)
	// Jitter spreads each pause over [pause/2, pause): many processes that
	// failed together (workers whose master restarted) do not retry in
	// step.
	Jitter bool
}

// Retry calls op until it returns nil, the policy gives up (op's last
// error is returned) or ctx ends (ctx's error is returned).
func Retry(ctx context.Context, p Policy, op func() error) error {
	pause := p.First
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := op()
		if err == nil {
			return nil
		}
		if p.GiveUp != nil && p.GiveUp(err) || !p.Deadline.IsZero() && time.Now().After(p.Deadline) {
			return err
		}
		if p.OnRetry != nil {
			p.OnRetry(err)
		}
		wait := pause
		if p.Jitter && pause > 1 {
			wait = pause/2 + rand.N(pause/2)
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		}
		pause = min(2*pause, max(p.Max, p.First))
	}
}
