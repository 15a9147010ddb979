package scheduler

import (
	"errors"
	"time"

	"mapreduce/protocol"
)

// Config sets a Scheduler's paths, timings and rules. Start from
// DefaultConfig.
type Config struct {
	// VarDir is the absolute directory holding every job's files.
	VarDir string
	// KeepIntermediates leaves an ended job's directory under VarDir, for
	// debugging; by default it is removed when the job ends (RemoveJobDir).
	KeepIntermediates bool
	// WorkDir resolves relative paths that workers report.
	WorkDir string
	// HeartbeatInterval is how often workers send heartbeats.
	HeartbeatInterval time.Duration
	// MissedHeartbeats is how many intervals may pass without a heartbeat
	// before a worker is dead.
	MissedHeartbeats int
	// AckRetry is how long to keep trying to deliver register_ack: a worker
	// may register before its port listens.
	AckRetry time.Duration
	// Speculate turns on speculative execution: once every task of a stage
	// is handed out, an idle worker runs a copy of the longest-running task
	// that has run longer than SpeculateAfter and 1.5 times the median of
	// the stage's finished tasks. The first copy to finish wins.
	Speculate      bool
	SpeculateAfter time.Duration
	// TaskTimeout ends an attempt that shows no progress for this long
	// (Hadoop's mapreduce.task.timeout): on a worker that reports progress,
	// since its count last grew; on a reference worker, since assignment.
	// Each further attempt of a task gets twice the time of the one
	// before.
	TaskTimeout time.Duration
	// MaxAttempts is how many attempts of a task may time out, or fail
	// for a fault of their worker's own, before its job fails.
	MaxAttempts int
	// KeepLogs is how many ended jobs keep their tasks' logs, the newest;
	// a running job always keeps them.
	KeepLogs int
	// ForgetDeadAfter is how long a dead worker stays listed (as dead)
	// before it is forgotten.
	ForgetDeadAfter time.Duration
	// ExcludeAfter failures of a worker's own (protocol.FaultWorker)
	// within ExcludeWindow exclude it for ExcludeFor: it takes no task
	// meanwhile (health.go).
	ExcludeAfter  int
	ExcludeWindow time.Duration
	ExcludeFor    time.Duration
	// MasterHost and MasterPort are where the master listens (its
	// heartbeats on MasterPort-1): a worker that registers there is
	// refused. Zero: not checked.
	MasterHost string
	MasterPort int
}

// The reference protocol's timings (a heartbeat every 2 s, dead after 5
// missed), and our other defaults.
const (
	DefaultHeartbeatInterval = protocol.HeartbeatInterval
	DefaultMissedHeartbeats  = protocol.MissedHeartbeats
	DefaultAckRetry          = 5 * time.Second
	DefaultSpeculateAfter    = 3 * time.Second
	DefaultTaskTimeout       = 10 * time.Minute
	DefaultMaxAttempts       = 4
	DefaultKeepLogs          = 10
	DefaultForgetDeadAfter   = 10 * time.Minute
	DefaultExcludeAfter      = 3
	DefaultExcludeWindow     = 5 * time.Minute
	DefaultExcludeFor        = 5 * time.Minute
)

// DefaultConfig returns the reference protocol's timings, without
// speculation.
func DefaultConfig() Config {
	return Config{
		HeartbeatInterval: DefaultHeartbeatInterval,
		MissedHeartbeats:  DefaultMissedHeartbeats,
		AckRetry:          DefaultAckRetry,
		SpeculateAfter:    DefaultSpeculateAfter,
		TaskTimeout:       DefaultTaskTimeout,
		MaxAttempts:       DefaultMaxAttempts,
		KeepLogs:          DefaultKeepLogs,
		ForgetDeadAfter:   DefaultForgetDeadAfter,
		ExcludeAfter:      DefaultExcludeAfter,
		ExcludeWindow:     DefaultExcludeWindow,
		ExcludeFor:        DefaultExcludeFor,
	}
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.HeartbeatInterval <= 0 {
		errs = append(errs, errors.New("--heartbeat-interval must be positive"))
	}
	if c.MissedHeartbeats < 1 {
		errs = append(errs, errors.New("--missed-heartbeats must be at least 1"))
	}
	if c.TaskTimeout <= 0 {
		errs = append(errs, errors.New("--task-timeout must be positive"))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, errors.New("--max-attempts must be at least 1"))
	}
	if c.KeepLogs < 0 {
		errs = append(errs, errors.New("--keep-logs must not be negative"))
	}
	if c.ForgetDeadAfter <= 0 {
		errs = append(errs, errors.New("--forget-dead-after must be positive"))
	}
	if c.ExcludeAfter < 1 {
		errs = append(errs, errors.New("--exclude-after must be at least 1"))
	}
	if c.ExcludeWindow <= 0 || c.ExcludeFor <= 0 {
		errs = append(errs, errors.New("--exclude-window and --exclude-for must be positive"))
	}
	if c.AckRetry < 0 || c.SpeculateAfter < 0 {
		errs = append(errs, errors.New("--ack-retry and --speculate-after must not be negative"))
	}
	return errors.Join(errs...)
}

// DeadAfter is how long a worker may go without a heartbeat before it is
// dead: more than MissedHeartbeats intervals.
func (c Config) DeadAfter() time.Duration {
	return time.Duration(c.MissedHeartbeats) * c.HeartbeatInterval
}
