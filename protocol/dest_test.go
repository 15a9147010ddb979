package protocol

import (
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestSelfNames: which destinations a process takes as its own, for the
// address a frame arrived at.
func TestSelfNames(t *testing.T) {
	worker := Self{Role: RoleWorker, Hosts: []string{"W1.example.", "10.0.0.5"}}
	master := Self{Role: RoleMaster}
	at := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 6001}
	loop := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6001}
	loop6 := &net.TCPAddr{IP: net.IPv6loopback, Port: 6001}
	mapped := &net.TCPAddr{IP: net.ParseIP("::ffff:10.0.0.2"), Port: 6001}
	udp := &net.UDPAddr{IP: net.IPv4zero, Port: 5999}
	tests := []struct {
		self Self
		to   string
		at   net.Addr
		want string // "" for taken, else a part of the error
	}{
		{worker, "worker@w1.example:6001", at, ""}, // a name is not case-sensitive, nor its root dot
		{worker, "worker@10.0.0.5:6001", at, ""},   // its --host, though reached at another address (NAT)
		{worker, "worker@10.0.0.2:6001", at, ""},   // the address it was reached at
		{worker, "worker@10.0.0.2:6001", mapped, ""},
		{worker, "worker@localhost:6001", loop, ""},
		{worker, "worker@localhost:6001", loop6, ""},
		{worker, "worker@[::1]:6001", loop6, ""},
		{worker, "worker@127.0.0.1:6001", loop, ""},
		{worker, "worker@localhost:6001", at, "this worker is W1.example. or 10.0.0.5, reached at 10.0.0.2"},
		{worker, "worker@w2.example:6001", at, "this worker is"},
		{worker, "worker@10.0.0.3:6001", at, "this worker is"},
		{worker, "worker@w1.example:6002", at, "arrived at port 6001"},
		{worker, "master@w1.example:6001", at, "this process is a worker"},
		{worker, "w1.example:6001", at, "this process is a worker"},
		{worker, "worker@w1.example", at, "missing port"},
		{master, "master@anything.example:6001", at, ""}, // a master does not check the host
		{master, "master@10.0.0.9:5999", udp, ""},
		{master, "master@10.0.0.9:6000", udp, "arrived at port 5999"},
		{master, "worker@10.0.0.2:6001", at, "this process is a master"},
		{Self{}, "master@localhost:6000", loop, "takes only answers"},
		{master, noDest, at, "no destination"},
	}
	for _, tc := range tests {
		err := tc.self.names(purposeMessage, tc.to, tc.at)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v takes %s at %s: refused: %v", tc.self, tc.to, tc.at, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v takes %s at %s: %v, want refused with %q", tc.self, tc.to, tc.at, err, tc.want)
		}
	}
}

// TestDest: a destination names the host as dialed and the port connected
// to; Seal refuses one that cannot be a field of the header.
func TestDest(t *testing.T) {
	remote := &net.TCPAddr{IP: net.IPv6loopback, Port: 6001}
	for addr, want := range map[string]string{
		"localhost:6001":         "worker@localhost:6001",
		"localhost:http":         "worker@localhost:6001", // the port as connected
		"[::1]:6001":             "worker@[::1]:6001",
		"w1.example:6001":        "worker@w1.example:6001",
		"[fe80::1%eth0]:6001":    "worker@[fe80::1%eth0]:6001",
		"no port, left to check": "worker@no port, left to check",
	} {
		if got := Dest(RoleWorker, addr, remote); got != want {
			t.Errorf("Dest(%q) = %q, want %q", addr, got, want)
		}
	}
	a := NewAuth(testSecret, Self{})
	for _, to := range []string{"", "worker@a b:1", "worker@a\n:1", "worker@" + strings.Repeat("a", maxDest) + ":1"} {
		if _, _, err := a.Seal(purposeMessage, to, nil); err == nil {
			t.Errorf("Seal to %q: no error", to)
		}
	}
	for _, to := range []string{"worker@[" + strings.Repeat("a", 253) + "]:65535", "master@localhost:5999", noDest} {
		header, _, err := a.Seal(purposeMessage, to, nil)
		if err != nil || len(header) > SealedOverhead(to) || SealedOverhead(to) > AuthOverhead {
			t.Errorf("Seal to %q: %d bytes, %v; want at most SealedOverhead, %d, at most AuthOverhead, %d",
				to, len(header), err, SealedOverhead(to), AuthOverhead)
		}
	}
}

// TestTCPAuthDestination: over real sockets, a worker takes frames sealed
// for it however the sender named its address, and refuses, saying why and
// logging at a bounded rate, a frame sealed for another process: a master
// on its port, a worker of another host on its port, a worker of its host
// on another port.
func TestTCPAuthDestination(t *testing.T) {
	var logged lockedBuffer
	server := TCP{Log: zerolog.New(&logged), Auth: NewAuth(testSecret, Self{Role: RoleWorker, Hosts: []string{"w1.example"}})}
	var handled atomic.Int64
	ln, err := server.Listen("127.0.0.1:0", func(_ string, msg Message, reply func(Message) error) {
		handled.Add(1)
		reply(JobAccepted{JobID: 7})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr())
	client := TCP{Auth: NewAuth(testSecret, Self{})}
	for _, addr := range []string{"127.0.0.1:" + port, "localhost:" + port} {
		if answer, err := client.Request(addr, JobStatusRequest{}, 5*time.Second); err != nil || answer != (JobAccepted{JobID: 7}) {
			t.Errorf("request to the worker as %s: %#v, %v", addr, answer, err)
		}
	}

	// Sealed for a master on this port: the worker answers why.
	toMaster := TCP{Auth: client.Auth, Master: ln.Addr()}
	_, err = toMaster.Request(ln.Addr(), JobStatusRequest{}, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "sealed for master@127.0.0.1:"+port+", and this process is a worker") {
		t.Errorf("request sealed for a master: %v, want refused: this process is a worker", err)
	}
	// Captured on their way to others, as many times as a flood: a worker
	// of another host on this port, a worker of this host on another port.
	body, _ := Encode(Shutdown{})
	const flood = 2 * dropBurst
	for i := range flood {
		to := "worker@10.77.0.9:" + port
		if i%2 == 1 {
			other, _ := strconv.Atoi(port)
			to = "worker@127.0.0.1:" + strconv.Itoa(other+1)
		}
		f, _ := frameTo(client.Auth, purposeMessage, to, body)
		conn, err := net.Dial("tcp", ln.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(f)
		conn.(*net.TCPConn).CloseWrite()
		answer, _ := ReadMessage(conn)
		conn.Close()
		if i < 2 && !strings.Contains(string(answer), "sealed for "+to) {
			t.Errorf("frame sealed for %s answered %q, want why it was refused", to, answer)
		}
	}
	if n := handled.Load(); n != 2 {
		t.Errorf("%d messages handled, want the 2 sealed for this worker", n)
	}
	out := logged.String()
	if n := strings.Count(out, "dropped message: not authenticated"); n > dropBurst {
		t.Errorf("%d lines logged for %d refused frames, want at most %d", n, flood+1, dropBurst)
	}
	if !strings.Contains(out, "sealed for worker@10.77.0.9:"+port) || !strings.Contains(out, "and it arrived at port "+port) {
		t.Errorf("the log does not say why the frames were refused:\n%s", out)
	}
}

// TestDatagramDestination: a heartbeat sealed for a master's other port is
// dropped; one for its own arrives.
func TestDatagramDestination(t *testing.T) {
	beats := make(chan Message, 10)
	master := TCP{Log: zerolog.Nop(), Auth: NewAuth(testSecret, Self{Role: RoleMaster})}
	dl, err := master.ListenDatagrams("127.0.0.1:0", func(_ string, msg Message) { beats <- msg })
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	client := TCP{Auth: NewAuth(testSecret, Self{})}
	body, _ := Encode(Heartbeat{WorkerPID: 1})
	f, _ := frameTo(client.Auth, purposeDatagram, "master@127.0.0.1:1", body)
	conn, err := net.Dial("udp", dl.Addr())
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(f)
	conn.Close()
	if err := client.SendDatagram(dl.Addr(), Heartbeat{WorkerPID: 2}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-beats:
		if hb, ok := got.(Heartbeat); !ok || hb.WorkerPID != 2 {
			t.Errorf("datagram %#v passed, want only the heartbeat sealed for this port (pid 2)", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("heartbeat sealed for this port never arrived")
	}
}
