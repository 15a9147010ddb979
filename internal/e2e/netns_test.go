package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"mapreduce/protocol"
)

// lab is a set of network namespaces, one per host, joined by a bridge in
// a namespace of its own: hosts on 10.77.0.0/24, no default route, nothing
// in the test's own namespace touched. Everything is removed at cleanup.
type lab struct {
	t      *testing.T
	prefix string
	bridge string            // the switch's namespace
	hosts  map[string]string // host name → its namespace
	ports  map[string]string // host name → its port on the switch
	addrs  map[string]string // host name → its address
}

// labPrefix starts every namespace a test makes: mrauth-PID-.
const labPrefix = "mrauth-"

// newLab makes a namespace per host, host i getting 10.77.0.(i+1). It skips
// the test, saying why, unless it runs as root with ip(8).
func newLab(t *testing.T, hosts ...string) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: the multi-host test makes network namespaces, which needs root (run the tests as root, as CI does)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("SKIPPED: the multi-host test needs ip(8) (Debian's iproute2) for network namespaces")
	}
	removeStaleNamespaces(t)
	l := &lab{t: t, prefix: fmt.Sprintf("%s%d-", labPrefix, os.Getpid()), hosts: map[string]string{}, ports: map[string]string{}, addrs: map[string]string{}}
	l.bridge = l.prefix + "switch"
	t.Cleanup(l.remove)
	// A container may deny namespaces even to root: say so, loudly, and
	// skip rather than fail on what the machine cannot do.
	if out, err := exec.Command("ip", "netns", "add", l.bridge).CombinedOutput(); err != nil {
		if strings.Contains(string(out), "Operation not permitted") || strings.Contains(string(out), "Permission denied") {
			t.Skipf("SKIPPED: this machine refuses network namespaces even to root: ip netns add: %v: %s", err, out)
		}
		t.Fatalf("ip netns add %s: %v\n%s", l.bridge, err, out)
	}
	l.ip("-n", l.bridge, "link", "add", "br0", "type", "bridge")
	l.ip("-n", l.bridge, "link", "set", "br0", "up")
	for i, host := range hosts {
		ns := l.prefix + host
		port := fmt.Sprintf("p%d", i)
		l.ip("netns", "add", ns)
		l.hosts[host], l.ports[host], l.addrs[host] = ns, port, fmt.Sprintf("10.77.0.%d", i+1)
		l.ip("-n", l.bridge, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
		l.ip("-n", l.bridge, "link", "set", port, "master", "br0", "up")
		l.ip("-n", ns, "addr", "add", l.addrs[host]+"/24", "dev", "eth0")
		l.ip("-n", ns, "link", "set", "eth0", "up")
		l.ip("-n", ns, "link", "set", "lo", "up")
	}
	return l
}

// cut takes host off the switch, as a pulled cable does; restore puts it
// back.
func (l *lab) cut(host string)     { l.ip("-n", l.bridge, "link", "set", l.ports[host], "down") }
func (l *lab) restore(host string) { l.ip("-n", l.bridge, "link", "set", l.ports[host], "up") }

// command runs name with args in host's namespace: ip netns exec replaces
// itself with the program, so the process is the program's.
func (l *lab) command(host string, name string, args ...string) []string {
	return append([]string{"ip", "netns", "exec", l.hosts[host], name}, args...)
}

func (l *lab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// remove deletes every namespace of the lab; their interfaces go with them.
func (l *lab) remove() {
	for _, ns := range append([]string{l.bridge}, mapValues(l.hosts)...) {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil && !strings.Contains(string(out), "No such file") {
			l.t.Errorf("remove namespace %s: %v\n%s", ns, err, out)
		}
	}
}

func mapValues(m map[string]string) []string {
	var vs []string
	for _, v := range m {
		vs = append(vs, v)
	}
	return vs
}

// removeStaleNamespaces deletes namespaces left by a test process that
// was killed before its cleanup ran (mrauth-PID-, PID no longer running).
func removeStaleNamespaces(t *testing.T) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, labPrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || syscall.Kill(pid, 0) == nil {
			continue
		}
		if err := exec.Command("ip", "netns", "del", name).Run(); err == nil {
			t.Logf("removed the stale namespace %s", name)
		}
	}
}

// inNamespace runs f on a thread of its own moved into namespace ns: the
// sockets f opens are ns's. The thread is never unlocked, so it ends with
// f's goroutine rather than return to the pool in another namespace.
func inNamespace(ns string, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- fmt.Errorf("open namespace %s: %w", ns, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("enter namespace %s: %w", ns, err)
			return
		}
		done <- f()
	}()
	return <-done
}

// nsClient is a protocol.TCP whose sockets are in a namespace: the test
// talks to the lab from one of its hosts.
type nsClient struct {
	ns  string
	tcp protocol.TCP
}

func (c nsClient) Request(addr string, msg protocol.Message, timeout time.Duration) (reply protocol.Message, err error) {
	nerr := inNamespace(c.ns, func() error {
		reply, err = c.tcp.Request(addr, msg, timeout)
		return nil
	})
	if nerr != nil {
		return nil, nerr
	}
	return reply, err
}

func (c nsClient) Send(addr string, msg protocol.Message) error {
	return inNamespace(c.ns, func() error { return c.tcp.Send(addr, msg) })
}

func (c nsClient) SendDatagram(addr string, msg protocol.Message) error {
	return inNamespace(c.ns, func() error { return c.tcp.SendDatagram(addr, msg) })
}
