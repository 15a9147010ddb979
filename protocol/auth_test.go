package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/testutil"
)

var (
	testSecret  = []byte("0123456789abcdef0123456789abcdef")
	otherSecret = []byte("fedcba9876543210fedcba9876543210")
)

// testWorker is the receiver of most tests: a worker known as localhost.
var testWorker = Self{Role: RoleWorker, Hosts: []string{"localhost"}}

// Where TestAuthOpen's frames arrive, and the destination they name.
var (
	testAt   = &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 6001}
	testSelf = Self{Role: RoleWorker, Hosts: []string{"w2.example"}}
	testTo   = "worker@w2.example:6001"
)

// clock is a settable clock for Auth.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// frame seals body for purpose: an answer to no destination, anything else
// to testTo.
func frame(a *Auth, purpose string, body []byte) ([]byte, string) {
	to := testTo
	if strings.HasPrefix(purpose, replyPrefix) {
		to = noDest
	}
	return frameTo(a, purpose, to, body)
}

func frameTo(a *Auth, purpose, to string, body []byte) ([]byte, string) {
	header, nonce, err := a.Seal(purpose, to, body)
	if err != nil {
		panic(err)
	}
	return append(header, body...), nonce
}

// open opens f as TestAuthOpen's receiver does: at testAt, but an answer.
func open(a *Auth, purpose string, f []byte) ([]byte, string, error) {
	if strings.HasPrefix(purpose, replyPrefix) {
		return a.Open(purpose, f, nil)
	}
	return a.Open(purpose, f, testAt)
}

// TestAuthOpen: a frame opens only with the secret it was sealed with, for
// the purpose it was sealed for, once, unchanged, and in time.
func TestAuthOpen(t *testing.T) {
	body := []byte(`{"message_type":"shutdown"}`)
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		// make returns the frame to open and the purpose to open it for,
		// with the receiver's clock at c (set to start before).
		make func(send, recv *Auth, c *clock) ([]byte, string)
		want string // "" for accepted, else a part of the error
	}{
		{"valid", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frame(send, purposeMessage, body)
			return f, purposeMessage
		}, ""},
		{"valid reply", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frame(send, purposeReply("00112233445566778899aabbccddeeff"), body)
			return f, purposeReply("00112233445566778899aabbccddeeff")
		}, ""},
		{"empty document", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frame(send, purposeMessage, nil)
			return f, purposeMessage
		}, ""},
		{"tampered body", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frame(send, purposeMessage, body)
			return bytes.Replace(f, []byte("shutdown"), []byte("shutdowN"), 1), purposeMessage
		}, "wrong MAC"},
		{"body appended to", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frame(send, purposeMessage, body)
			return append(f, ' '), purposeMessage
		}, "wrong MAC"},
		{"tampered timestamp", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frame(send, purposeMessage, body)
			ts := fmt.Sprint(start.UnixMilli())
			return bytes.Replace(f, []byte(ts), []byte(fmt.Sprint(start.UnixMilli()+1)), 1), purposeMessage
		}, "wrong MAC"},
		{"wrong secret", func(_, _ *Auth, c *clock) ([]byte, string) {
			f, _ := frame(newAuth(otherSecret, testSelf, c.now), purposeMessage, body)
			return f, purposeMessage
		}, "wrong MAC"},
		{"datagram as message", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frame(send, purposeDatagram, body)
			return f, purposeMessage
		}, "wrong MAC"},
		{"reply to another request", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frame(send, purposeReply("00112233445566778899aabbccddeeff"), body)
			return f, purposeReply("ffeeddccbbaa99887766554433221100")
		}, "wrong MAC"},
		{"replayed", func(send, recv *Auth, _ *clock) ([]byte, string) {
			f, _ := frame(send, purposeMessage, body)
			if _, _, err := open(recv, purposeMessage, f); err != nil {
				t.Fatalf("first open: %v", err)
			}
			return f, purposeMessage
		}, "replay"},
		{"replayed late in the window", func(send, recv *Auth, c *clock) ([]byte, string) {
			f, _ := frame(send, purposeMessage, body)
			if _, _, err := open(recv, purposeMessage, f); err != nil {
				t.Fatalf("first open: %v", err)
			}
			c.t = start.Add(AuthWindow)
			return f, purposeMessage
		}, "replay"},
		{"stale", func(send, _ *Auth, c *clock) ([]byte, string) {
			f, _ := frame(send, purposeMessage, body)
			c.t = start.Add(AuthWindow + time.Millisecond)
			return f, purposeMessage
		}, "off this host's clock"},
		{"from the future", func(_, _ *Auth, c *clock) ([]byte, string) {
			ahead := &clock{start.Add(AuthWindow + time.Second)}
			f, _ := frame(newAuth(testSecret, testSelf, ahead.now), purposeMessage, body)
			return f, purposeMessage
		}, "off this host's clock"},
		{"stamped before the receiver started", func(send, _ *Auth, c *clock) ([]byte, string) {
			c.t = start.Add(-5 * time.Second)
			f, _ := frame(newAuth(testSecret, testSelf, c.now), purposeMessage, body)
			c.t = start
			return f, purposeMessage
		}, "before this process started"},
		{"reply from a host whose clock is behind the new receiver's start", func(_, _ *Auth, c *clock) ([]byte, string) {
			// sendjob, a new process, asks a master whose clock is 5 s
			// behind: the answer, bound to the request, is taken.
			behind := &clock{start.Add(-5 * time.Second)}
			f, _ := frame(newAuth(testSecret, testSelf, behind.now), purposeReply("00112233445566778899aabbccddeeff"), body)
			return f, purposeReply("00112233445566778899aabbccddeeff")
		}, ""},
		{"no header", func(_, _ *Auth, _ *clock) ([]byte, string) { return body, purposeMessage }, "no authentication header"},
		{"oversized header", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frame(send, purposeMessage, body)
			return bytes.Replace(f, []byte(" "), []byte(strings.Repeat(" ", AuthOverhead)), 1), purposeMessage
		}, "header too long"},
		{"truncated header", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frame(send, purposeMessage, body)
			return f[:40], purposeMessage
		}, "header too long or unterminated"},
		{"short MAC", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frame(send, purposeMessage, body)
			i := bytes.IndexByte(f, '\n')
			return append(append([]byte{}, f[:i-2]...), f[i:]...), purposeMessage
		}, "64 hex digits"},
		{"empty MAC", func(send, _ *Auth, _ *clock) ([]byte, string) {
			// The header ends "nonce \n": its MAC field is there, empty.
			// A receiver that compared as many bytes as were sent would
			// take it, and any document with it.
			f, _ := frame(send, purposeMessage, body)
			i := bytes.IndexByte(f, '\n')
			mac := bytes.LastIndexByte(f[:i], ' ') + 1
			return append(append([]byte{}, f[:mac]...), f[i:]...), purposeMessage
		}, "64 hex digits"},
		{"no MAC field", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frame(send, purposeMessage, body)
			i := bytes.IndexByte(f, '\n')
			mac := bytes.LastIndexByte(f[:i], ' ')
			return append(append([]byte{}, f[:mac]...), f[i:]...), purposeMessage
		}, "want timestamp, nonce, destination and MAC"},
		{"the framing's last version", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frame(send, purposeMessage, body)
			return bytes.Replace(f, []byte(authMagic), []byte("MRAUTH1"), 1), purposeMessage
		}, "another version"},
		{"destination changed", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frameTo(send, purposeMessage, "worker@w3.example:6001", body)
			return bytes.Replace(f, []byte("w3.example"), []byte("w2.example"), 1), purposeMessage
		}, "wrong MAC"},
		{"for a worker by its IP address", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frameTo(send, purposeMessage, "worker@10.0.0.2:6001", body)
			return f, purposeMessage
		}, ""},
		{"for a worker of another host", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frameTo(send, purposeMessage, "worker@w3.example:6001", body)
			return f, purposeMessage
		}, "sealed for worker@w3.example:6001, and this worker is w2.example, reached at 10.0.0.2"},
		{"for a worker at another IP address", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frameTo(send, purposeMessage, "worker@10.0.0.3:6001", body)
			return f, purposeMessage
		}, "and this worker is w2.example"},
		{"for another port", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frameTo(send, purposeMessage, "worker@w2.example:6002", body)
			return f, purposeMessage
		}, "sealed for worker@w2.example:6002, and it arrived at port 6001"},
		{"for the master", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frameTo(send, purposeMessage, "master@w2.example:6001", body)
			return f, purposeMessage
		}, "sealed for master@w2.example:6001, and this process is a worker"},
		{"message to no destination", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frameTo(send, purposeMessage, noDest, body)
			return f, purposeMessage
		}, "no destination"},
		{"reply that names a destination", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, _ := frameTo(send, purposeReply("00112233445566778899aabbccddeeff"), testTo, body)
			return f, purposeReply("00112233445566778899aabbccddeeff")
		}, "an answer that names a destination"},
		{"bad nonce", func(send, _ *Auth, _ *clock) ([]byte, string) {
			f, nonce := frame(send, purposeMessage, body)
			return bytes.Replace(f, []byte(nonce), []byte(strings.Repeat("z", 32)), 1), purposeMessage
		}, "bad nonce"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{start}
			send, recv := newAuth(testSecret, Self{}, c.now), newAuth(testSecret, testSelf, c.now)
			f, purpose := tc.make(send, recv, c)
			got, _, err := open(recv, purpose, f)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "" && !bytes.HasSuffix(f, got):
				t.Fatalf("document %q is not the frame's end", got)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted; want refused with %q", tc.want)
			case tc.want != "" && (!strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrUnauthenticated)):
				t.Fatalf("error %q, want ErrUnauthenticated with %q", err, tc.want)
			}
		})
	}
}

// TestAuthReplayCacheBounded: nonces are forgotten once their window has
// passed, so the cache holds one window's frames, not all.
func TestAuthReplayCacheBounded(t *testing.T) {
	c := &clock{time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	send, recv := newAuth(testSecret, Self{}, c.now), newAuth(testSecret, testSelf, c.now)
	for range 100 {
		f, _ := frame(send, purposeMessage, nil)
		if _, _, err := open(recv, purposeMessage, f); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(AuthWindow / 10)
	}
	if n := len(recv.seen); n > 25 {
		t.Errorf("%d nonces remembered after 10 windows, want at most about 2 windows' (20)", n)
	}
}

// TestAuthLogDropRateLimited: a flood of refused frames logs a bounded
// number of lines, and says how many it left out.
func TestAuthLogDropRateLimited(t *testing.T) {
	c := &clock{time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	a := newAuth(testSecret, testSelf, c.now)
	var out bytes.Buffer
	log := zerolog.New(&out)
	for range 1000 {
		a.LogDrop(log, "10.0.0.9:1", ErrUnauthenticated)
	}
	if n := strings.Count(out.String(), "\n"); n != dropBurst {
		t.Errorf("%d lines for 1000 drops, want %d", n, dropBurst)
	}
	out.Reset()
	c.t = c.t.Add(dropPeriod)
	a.LogDrop(log, "10.0.0.9:1", ErrUnauthenticated)
	if !strings.Contains(out.String(), fmt.Sprintf(`"suppressed":%d`, 1000-dropBurst)) {
		t.Errorf("next period's line %q does not count the %d left out", out.String(), 1000-dropBurst)
	}
}

// TestTCPAuth: over real sockets, a listener with a secret acts on sealed
// messages and datagrams only; a request's answer is sealed and checked;
// an unsealed or wrongly sealed message gets an unsealed Error and is not
// handled.
func TestTCPAuth(t *testing.T) {
	server := TCP{Log: zerolog.Nop(), Auth: NewAuth(testSecret, testWorker)}
	var handled atomic.Int64
	ln, err := server.Listen("127.0.0.1:0", func(_ string, msg Message, reply func(Message) error) {
		handled.Add(1)
		if _, ok := msg.(JobStatusRequest); ok {
			reply(JobAccepted{JobID: 7})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr()

	client := TCP{Auth: NewAuth(testSecret, Self{})}
	answer, err := client.Request(addr, JobStatusRequest{}, 5*time.Second)
	if err != nil || answer != (JobAccepted{JobID: 7}) {
		t.Fatalf("sealed request: answer %#v, %v", answer, err)
	}
	if err := client.Send(addr, Shutdown{}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "2 sealed messages handled", func() bool { return handled.Load() == 2 })

	// Refused: unsealed, and with another secret, each answered why,
	// unsealed.
	answer, err = TCP{}.Request(addr, JobStatusRequest{}, 5*time.Second)
	if e, ok := answer.(Error); err != nil || !ok || !strings.Contains(e.Error, "no authentication header") {
		t.Errorf("unsealed request: answer %#v, %v; want an Error: no authentication header", answer, err)
	}
	_, err = TCP{Auth: NewAuth(otherSecret, Self{})}.Request(addr, JobStatusRequest{}, 5*time.Second)
	if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "wrong MAC") {
		t.Errorf("request with another secret: %v, want refused with wrong MAC", err)
	}
	// A captured frame sent again.
	body, _ := Encode(Shutdown{})
	f, _ := frameTo(client.Auth, purposeMessage, "worker@"+addr, body)
	for range 2 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(f)
		conn.(*net.TCPConn).CloseWrite()
		ReadMessage(conn)
		conn.Close()
	}
	// A sealed client refuses an unsealed answer, and a sealed one for
	// another request.
	for _, answer := range [][]byte{[]byte(`{"message_type":"job_accepted","job_id":1}`), func() []byte {
		f, _ := frame(server.Auth, purposeReply("00112233445566778899aabbccddeeff"), []byte(`{"message_type":"job_accepted","job_id":1}`))
		return f
	}()} {
		fake, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			conn, err := fake.Accept()
			if err == nil {
				ReadMessage(conn)
				conn.Write(answer)
				conn.Close()
			}
		}()
		if got, err := client.Request(fake.Addr().String(), JobStatusRequest{}, 5*time.Second); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("answer %q taken: %v, %v", answer, got, err)
		}
		fake.Close()
	}

	// Datagrams, to a master: only the sealed one arrives.
	beats := make(chan Message, 10)
	master := TCP{Log: zerolog.Nop(), Auth: NewAuth(testSecret, Self{Role: RoleMaster})}
	dl, err := master.ListenDatagrams("127.0.0.1:0", func(_ string, msg Message) { beats <- msg })
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	for _, c := range []TCP{{}, {Auth: NewAuth(otherSecret, Self{})}} {
		if err := c.SendDatagram(dl.Addr(), Heartbeat{WorkerPID: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.SendDatagram(dl.Addr(), Heartbeat{WorkerPID: 2}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-beats:
		if hb, ok := got.(Heartbeat); !ok || hb.WorkerPID != 2 {
			t.Errorf("datagram %#v passed, want only the sealed heartbeat of pid 2", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sealed heartbeat never arrived")
	}

	// Everything refused above: one sealed request answered with a valid
	// frame afterwards shows the listener has handled all before it.
	if _, err := client.Request(addr, JobStatusRequest{}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := handled.Load(); n != 4 {
		t.Errorf("%d messages handled, want 4: the 3 sealed and the first copy of the captured one", n)
	}
}

// FuzzAuthOpen: no frame makes Open panic, and what it accepts is the end
// of the frame.
func FuzzAuthOpen(f *testing.F) {
	a := NewAuth(testSecret, Self{})
	valid, _ := frame(a, purposeMessage, []byte(`{"message_type":"shutdown"}`))
	f.Add(valid)
	misdirected, _ := frameTo(a, purposeMessage, "master@w2.example:6001", []byte(`{"message_type":"shutdown"}`))
	f.Add(misdirected)
	f.Add([]byte(`{"message_type":"shutdown"}`))
	f.Add([]byte("MRAUTH1 1 00112233445566778899aabbccddeeff 00\n{}"))
	f.Add([]byte("MRAUTH2 1 00112233445566778899aabbccddeeff worker@[::1]:1 00\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		body, _, err := NewAuth(testSecret, testSelf).Open(purposeMessage, data, testAt)
		if err == nil && !bytes.HasSuffix(data, body) {
			t.Fatalf("accepted %q with document %q", data, body)
		}
	})
}
