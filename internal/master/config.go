package master

import (
	"errors"
	"fmt"
	"net"

	"mapreduce/internal/netaddr"

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
	// Transport carries messages; nil means TCP, authenticated with Secret
	// if it is set.
	Transport protocol.Transport
	// Secret, if set, authenticates every message both ways
	// (protocol.Auth), and the status page by a token derived from it.
	Secret []byte
	// Insecure lets a master without a Secret listen where other machines
	// reach it.
	Insecure bool
	// Fresh empties the journal in VarDir, and the rest of VarDir, before
	// the master starts: the jobs of an earlier master are forgotten (ids
	// still count on from theirs).
	Fresh bool
	// AdvertiseHost is the host others reach the master at, in the
	// addresses it prints: by default Host, or this host's name when Host
	// is every address (netaddr.Advertised).
	AdvertiseHost string
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
	errs = append(errs, c.checkExposure())
	return errors.Join(append(errs, c.Scheduler.Validate())...)
}

// checkExposure refuses to serve other machines without a secret: anyone
// who reaches the port could run programs as this user.
func (c Config) checkExposure() error {
	if c.Secret != nil || c.Insecure {
		return nil
	}
	var errs []error
	if !netaddr.Loopback(c.Host) {
		errs = append(errs, fmt.Errorf("--host %q may be reached from other machines, and without a secret anyone who reaches the port can run programs as this user: give --secret-file (start.sh makes one), or --insecure to allow it", c.Host))
	}
	if c.HTTPAddr != "" {
		host, _, err := net.SplitHostPort(c.HTTPAddr)
		if err != nil {
			errs = append(errs, fmt.Errorf("--http %q: %w", c.HTTPAddr, err))
		} else if !netaddr.Loopback(host) {
			errs = append(errs, fmt.Errorf("--http %q may be reached from other machines, and without a secret the status page has no token: give --secret-file, or --insecure to allow it", c.HTTPAddr))
		}
	}
	return errors.Join(errs...)
}
