package worker

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"mapreduce/internal/netaddr"
	"mapreduce/protocol"
)

// Config sets up a worker. Start from DefaultConfig.
type Config struct {
	MasterHost string
	MasterPort int
	// Host is the address the worker listens on.
	Host string
	Port int
	// AdvertiseHost is the host the worker tells the master to reach it
	// at: by default Host, or this host's name when Host is every address
	// (netaddr.Advertised).
	AdvertiseHost string
	// Secret, if set, authenticates every message both ways
	// (protocol.Auth): the master must have the same.
	Secret []byte
	// Insecure lets a worker without a Secret listen where other machines
	// reach it.
	Insecure bool
	// PID is the worker's id in the reference protocol: its process id,
	// unless a test runs several workers in one process.
	PID int
	// ID tells the worker apart from others whose pids repeat (in other
	// pid namespaces or hosts): drawn at random when empty.
	ID string
	// HeartbeatInterval is how often to send a heartbeat. A worker the
	// master declared dead (it was frozen, say) needs nothing else: its next
	// heartbeat makes it ready again.
	HeartbeatInterval time.Duration
	// RegisterTimeout bounds how long to keep trying to register, and to
	// deliver a status.
	RegisterTimeout time.Duration
	// Parallel bounds how many executables run at once (sorts, one at a
	// time, come on top).
	Parallel int
	// SortMemory is about how many bytes of lines the worker's sort holds
	// in memory before it spills sorted runs to disk. Sorts run one at a
	// time, so this bounds the worker, not each sort.
	SortMemory int64
	// LocalDir is the worker's own directory, where it keeps the runs of
	// the shuffle (layout.LocalRun). It is wiped when the worker starts,
	// and refused unless it is missing, empty or marked as a worker's
	// (vardir). Empty means mapreduce-worker-PORT in the system's
	// temporary directory, PORT being the port listened on.
	LocalDir string
	// KeepIntermediates keeps a job's runs after the job ends, for
	// debugging.
	KeepIntermediates bool
	// Shuffle announces protocol.CapShuffle: map outputs stay in LocalDir
	// and reducers fetch them from the workers that made them. On by
	// default; off, the worker takes only the reference path's tasks (and
	// splits).
	Shuffle bool
	// Transport carries messages; nil means TCP, authenticated with Secret
	// if it is set.
	Transport protocol.Transport
	// NoCgroups tracks programs' processes through /proc even where the
	// worker may make cgroups (proctree.New): for tests of that method.
	NoCgroups bool
	// DropTasks is for tests: the worker drops the first DropTasks task
	// messages it receives, as a network that loses them would.
	DropTasks int
}

// The reference protocol's heartbeat interval, and our other defaults.
const (
	DefaultHeartbeatInterval = protocol.HeartbeatInterval
	DefaultRegisterTimeout   = 30 * time.Second
	DefaultSortMemory        = 256 << 20
)

// DefaultConfig returns a worker for a master on localhost:masterPort,
// listening on localhost:port.
func DefaultConfig(masterPort, port int) Config {
	return Config{
		MasterHost:        "localhost",
		MasterPort:        masterPort,
		Host:              "localhost",
		Port:              port,
		HeartbeatInterval: DefaultHeartbeatInterval,
		RegisterTimeout:   DefaultRegisterTimeout,
		Parallel:          runtime.NumCPU(),
		SortMemory:        DefaultSortMemory,
		Shuffle:           true,
	}
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.MasterPort < 2 || c.MasterPort > 65535 {
		// Its heartbeat port, one below, must be a port too.
		errs = append(errs, errors.New("the master's port must be from 2 to 65535"))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, errors.New("the worker's port must be from 0 to 65535"))
	}
	if c.HeartbeatInterval <= 0 {
		errs = append(errs, errors.New("--heartbeat-interval must be positive"))
	}
	if c.RegisterTimeout <= 0 {
		errs = append(errs, errors.New("--register-timeout must be positive"))
	}
	if c.Parallel < 1 {
		errs = append(errs, errors.New("--parallel must be at least 1"))
	}
	if c.SortMemory < 1<<20 {
		errs = append(errs, errors.New("--sort-memory must be at least 1 MiB"))
	}
	if c.Secret == nil && !c.Insecure && !netaddr.Loopback(c.Host) {
		errs = append(errs, fmt.Errorf("--host %q may be reached from other machines, and without a secret anyone who reaches the port can run programs as this user: give --secret-file, or --insecure to allow it", c.Host))
	}
	return errors.Join(errs...)
}
