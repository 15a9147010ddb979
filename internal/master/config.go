package master

import (
	"errors"

	"mapreduce/internal/scheduler"
	"mapreduce/protocol"
)

// Config sets up a master. Start from DefaultConfig.
type Config struct {
	// Host is the address to listen on.
	Host string
	// Port is the TCP port; heartbeats arrive on UDP Port-1.
	Port int
	// HTTPAddr, if set, is where the status page is served.
	HTTPAddr string
	// Scheduler holds the timings and rules of scheduling, and VarDir,
	// which Start wipes if a master made it (it holds the file
	// .mapreduce-var), or makes and marks if it is missing or empty, and
	// refuses otherwise (a relative path is taken from the working
	// directory, and made absolute by Start, which also fills in WorkDir).
	Scheduler scheduler.Config
	// Transport carries messages; nil means TCP.
	Transport protocol.Transport
}

// DefaultConfig returns a master on localhost:port with the reference
// protocol's timings.
func DefaultConfig(port int) Config {
	sc := scheduler.DefaultConfig()
	sc.VarDir = "var"
	return Config{Host: "localhost", Port: port, Scheduler: sc}
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Port < 2 || c.Port > 65535 {
		// Port-1 must be a port too.
		errs = append(errs, errors.New("the port must be from 2 to 65535"))
	}
	if c.Scheduler.VarDir == "" {
		errs = append(errs, errors.New("--var must not be empty"))
	}
	return errors.Join(append(errs, c.Scheduler.Validate())...)
}
