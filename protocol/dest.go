package protocol

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// The destination of an authenticated frame (auth.go): the process it is
// for, so that a frame captured on its way to one process is refused by
// every other that holds the secret. It is
//
//	ROLE@HOST:PORT
//
// or "-" for an answer, which is bound to its request's nonce instead.
//
//   - ROLE is what the sender takes the receiver for, RoleMaster or
//     RoleWorker: a frame for a worker never passes at a master, nor the
//     reverse, whatever their hosts and ports.
//   - PORT is the port the sender's socket is connected to, which must be
//     the one the frame arrives at: two processes of one host never share
//     one. The master's heartbeats, on its UDP port PORT-1, name that port.
//     So a port that NAT forwards to another port refuses every frame: the
//     reference protocol's PORT-1 already wants the ports as they are.
//   - HOST is the host as the sender dialed it, which a worker checks
//     (Self.Hosts): it must be one of the names the worker has for itself
//     (its --advertise-host, which is what it registers and so what the
//     master and the other workers dial, and its --host), or the IP
//     address the connection arrived at, or "localhost" for a loopback one.
//     So two workers on one port of two hosts do not take each other's
//     frames, behind NAT too. A master does not check HOST: it is reached
//     by names it cannot know (a worker's --master-host, sendjob's --host,
//     an address NAT forwards), and resolving them would put DNS in the
//     way of every frame. So two masters on one port of two hosts, with
//     one secret, can take each other's frames within AuthWindow: clusters
//     that must not touch each other need secrets of their own.
//
// A frame to 127.0.0.1 or localhost names a loopback address, which every
// host has: one captured on one host's loopback (which takes its root)
// would pass at a worker on the same port of another host's loopback, if
// one could send it there.

// Roles a destination names.
const (
	RoleMaster = "master"
	RoleWorker = "worker"
)

// Self is the process an Auth opens frames for: a frame is taken only if
// its destination names it.
type Self struct {
	// Role is RoleMaster or RoleWorker; "" for a process that listens for
	// nothing (sendjob), which takes only answers.
	Role string
	// Hosts are the names this process has for itself; empty, the host a
	// frame names is not checked (a master's, see above).
	Hosts []string
}

// Dest is the destination of a frame sent to role at addr ("host:port"
// as dialed) over a socket connected to remote, whose port it takes.
func Dest(role, addr string, remote net.Addr) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return role + "@" + addr // dialed, so it splits; the receiver says why if not
	}
	if _, p, ok := ipPort(remote); ok {
		port = strconv.Itoa(p)
	}
	return role + "@" + net.JoinHostPort(host, port)
}

// checkDest refuses a destination that cannot be one field of the header.
func checkDest(to string) error {
	if len(to) == 0 || len(to) > maxDest {
		return fmt.Errorf("destination of %d bytes, want 1 to %d", len(to), maxDest)
	}
	for i := range len(to) {
		if to[i] <= ' ' || to[i] > '~' {
			return fmt.Errorf("destination %q: only printable ASCII without spaces", to)
		}
	}
	return nil
}

// names checks that to, the destination of a frame for purpose that
// arrived at at, names s; it says why not.
func (s Self) names(purpose, to string, at net.Addr) error {
	if strings.HasPrefix(purpose, replyPrefix) {
		if to != noDest {
			return fmt.Errorf("an answer that names a destination (%s)", to)
		}
		return nil
	}
	if to == noDest {
		return errors.New("no destination: an answer cannot pass for a message")
	}
	role, addr, _ := strings.Cut(to, "@")
	if s.Role == "" {
		return fmt.Errorf("sealed for %s, and this process takes only answers", to)
	}
	if role != s.Role {
		return fmt.Errorf("sealed for %s, and %s%s (a frame captured on its way to another process)", to, roleRefusal, s.Role)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("destination %q: %w", to, err)
	}
	ip, atPort, ok := ipPort(at)
	if !ok || port != strconv.Itoa(atPort) {
		return fmt.Errorf("sealed for %s, and it arrived at port %d (a frame captured on its way to another process, or a port forwarded to another)", to, atPort)
	}
	if len(s.Hosts) > 0 && !s.isSelf(host, ip) {
		return fmt.Errorf("sealed for %s, and this %s is %s, reached at %s (a frame captured on its way to another process, or the sender dialed a name this process does not know for itself)",
			to, s.Role, strings.Join(s.Hosts, " or "), ip)
	}
	return nil
}

// isSelf reports whether host, dialed by a sender whose connection
// arrived at ip, names this process.
func (s Self) isSelf(host string, ip net.IP) bool {
	host = strings.TrimSuffix(host, ".")
	for _, h := range s.Hosts {
		if strings.EqualFold(host, strings.TrimSuffix(strings.Trim(h, "[]"), ".")) {
			return true
		}
	}
	if ip == nil || ip.IsUnspecified() {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return ip.IsLoopback()
	}
	literal, _, _ := strings.Cut(host, "%") // an IPv6 zone names the interface, not the address
	return ip.Equal(net.ParseIP(literal))
}

// ipPort is the IP address and port of a TCP or UDP address.
func ipPort(a net.Addr) (net.IP, int, bool) {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP, a.Port, true
	case *net.UDPAddr:
		return a.IP, a.Port, true
	}
	return nil, 0, false
}

// roleRefusal begins the role a process names when it refuses a frame
// sealed for the other role.
const roleRefusal = "this process is a "

// RefusedBy reports whether err, the answer to a request, says that the
// peer refused it because it is a process of role (RoleWorker,
// RoleMaster), not the one the frame was sealed for: a client pointed at
// the wrong port. The refusal comes unsealed, as text.
func RefusedBy(err error, role string) bool {
	return err != nil && strings.Contains(err.Error(), roleRefusal+role)
}
