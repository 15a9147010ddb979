package protocol

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// setReadLimits sets Serve's bounds for one test.
func setReadLimits(t *testing.T, small, large int, timeout time.Duration) {
	oldSmall, oldLarge, oldTimeout := smallMessage, largeReads, readTimeout
	smallMessage, largeReads, readTimeout = small, large, timeout
	t.Cleanup(func() { smallMessage, largeReads, readTimeout = oldSmall, oldLarge, oldTimeout })
}

// setMaxConns sets Serve's connection bound for one test.
func setMaxConns(t *testing.T, n int) {
	old := maxConns
	maxConns = n
	t.Cleanup(func() { maxConns = old })
}

// readWatch wraps a listener so that a test sees how much Serve read from
// each connection, and how many connections were reading past
// smallMessage (and not yet at EOF) at once.
type readWatch struct {
	net.Listener
	small int

	mu      sync.Mutex
	read    map[string]int // by the sender's address
	large   map[string]bool
	active  int // connections reading past small, not at EOF yet
	maxSeen int
}

func watchReads(ln net.Listener, small int) *readWatch {
	return &readWatch{Listener: ln, small: small, read: map[string]int{}, large: map[string]bool{}}
}

func (w *readWatch) Accept() (net.Conn, error) {
	conn, err := w.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &watchedConn{Conn: conn, w: w}, nil
}

// readBy returns how much was read from the sender at addr.
func (w *readWatch) readBy(addr string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.read[addr]
}

func (w *readWatch) most() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxSeen
}

type watchedConn struct {
	net.Conn
	w    *readWatch
	done bool
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	w, from := c.w, c.RemoteAddr().String()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.read[from] += n
	if w.read[from] > w.small && !w.large[from] {
		w.large[from] = true
		w.active++
		w.maxSeen = max(w.maxSeen, w.active)
	}
	if err != nil && w.large[from] && !c.done {
		c.done = true
		w.active--
	}
	return n, err
}

func (c *watchedConn) Close() error {
	w, from := c.w, c.RemoteAddr().String()
	w.mu.Lock()
	if w.large[from] && !c.done {
		c.done = true
		w.active--
	}
	w.mu.Unlock()
	return c.Conn.Close()
}

// statusDoc is a status document of about size bytes whose error is tag
// and padding.
func statusDoc(tag string, size int) []byte {
	prefix := `{"message_type": "status", "output_files": ["/x"], "status": "failed", "worker_pid": 1, "error": "` + tag
	return []byte(prefix + strings.Repeat("x", max(0, size-len(prefix)-2)) + `"}`)
}

// dialAndSend connects, writes data and returns the connection, open.
func dialAndSend(t *testing.T, addr string, data []byte) *net.TCPConn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.Write(data); err != nil {
		t.Fatal(err)
	}
	return conn.(*net.TCPConn)
}

// finish sends the rest of a document and closes the sending side.
func finish(t *testing.T, conn *net.TCPConn, rest []byte) {
	t.Helper()
	if _, err := conn.Write(rest); err != nil {
		t.Fatal(err)
	}
	conn.CloseWrite()
}

// serveWatched serves ln through a readWatch; handled gets each status's
// error tag (up to the first "x").
func serveWatched(t *testing.T, small int) (*readWatch, string, chan string) {
	ln := listen(t)
	w := watchReads(ln, small)
	handled := make(chan string, 16)
	go Serve(w, zerolog.Nop(), func(_ string, msg Message, _ func(Message) error) {
		if st, ok := msg.(Status); ok {
			tag, _, _ := strings.Cut(st.Error, "x")
			handled <- tag
		}
	})
	return w, ln.Addr().String(), handled
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func expectHandled(t *testing.T, handled chan string, want string) {
	t.Helper()
	select {
	case got := <-handled:
		if got != want {
			t.Fatalf("handled %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%q not handled within 5 s", want)
	}
}

// TestServeBoundsLargeReads: with room for 2 large documents, 3 senders of
// large documents that stall before their last bytes are read 2 at a time;
// the third is read once one of the first two is done.
func TestServeBoundsLargeReads(t *testing.T) {
	const small, slots = 1 << 10, 2
	setReadLimits(t, small, slots, 10*time.Second)
	w, addr, handled := serveWatched(t, small)

	type sender struct {
		tag  string
		conn *net.TCPConn
		rest []byte
	}
	var senders []sender
	for i := range slots + 1 {
		tag := fmt.Sprintf("doc%d-", i)
		doc := statusDoc(tag, 4*small)
		conn := dialAndSend(t, addr, doc[:len(doc)-10])
		senders = append(senders, sender{tag, conn, doc[len(doc)-10:]})
	}
	// Every connection reads its first small bytes at once; then two of
	// them read all they were sent so far, and the third waits.
	reading := func() (past []sender, waiting []sender) {
		for _, s := range senders {
			switch n := w.readBy(s.conn.LocalAddr().String()); {
			case n > small:
				past = append(past, s)
			case n == small:
				waiting = append(waiting, s)
			}
		}
		return past, waiting
	}
	waitUntil(t, "two large documents read past their start, one waiting", func() bool {
		past, waiting := reading()
		return len(past) == slots && len(waiting) == 1
	})
	time.Sleep(100 * time.Millisecond)
	past, waiting := reading()
	if len(past) != slots || len(waiting) != 1 {
		t.Fatalf("%d connections read past %d bytes, %d waiting; want %d and 1", len(past), small, len(waiting), slots)
	}
	// One ends: the waiting one is read, and every document is handled.
	finish(t, past[0].conn, past[0].rest)
	expectHandled(t, handled, past[0].tag)
	waitUntil(t, "the waiting document to be read", func() bool {
		return w.readBy(waiting[0].conn.LocalAddr().String()) > small
	})
	finish(t, past[1].conn, past[1].rest)
	finish(t, waiting[0].conn, waiting[0].rest)
	got := map[string]bool{}
	for range 2 {
		select {
		case tag := <-handled:
			got[tag] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("handled only %v", got)
		}
	}
	if !got[past[1].tag] || !got[waiting[0].tag] {
		t.Errorf("handled %v, want %s and %s", got, past[1].tag, waiting[0].tag)
	}
	if m := w.most(); m > slots {
		t.Errorf("%d large documents were read at once, want at most %d", m, slots)
	}
}

// TestServeSmallDocumentsDoNotWait: while every slot is held by a large
// document that stalls, a small one is read and handled at once.
func TestServeSmallDocumentsDoNotWait(t *testing.T) {
	const small = 1 << 10
	setReadLimits(t, small, 1, 10*time.Second)
	w, addr, handled := serveWatched(t, small)
	big := statusDoc("big-", 4*small)
	stalled := dialAndSend(t, addr, big[:len(big)-10])
	waitUntil(t, "the large document to hold the slot", func() bool { return w.readBy(stalled.LocalAddr().String()) > small })
	finish(t, dialAndSend(t, addr, statusDoc("small-", small/2)), nil)
	expectHandled(t, handled, "small-")
	finish(t, stalled, big[len(big)-10:])
	expectHandled(t, handled, "big-")
}

// TestServeSlowSenderLosesItsSlot: the read deadline covers a large read,
// so a sender that stalls holds its slot only that long, and a document
// waiting for the slot is read after it.
func TestServeSlowSenderLosesItsSlot(t *testing.T) {
	const small, timeout = 1 << 10, time.Second
	setReadLimits(t, small, 1, timeout)
	w, addr, handled := serveWatched(t, small)
	slow := statusDoc("slow-", 4*small)
	stalled := dialAndSend(t, addr, slow[:len(slow)-10])
	waitUntil(t, "the slow document to hold the slot", func() bool { return w.readBy(stalled.LocalAddr().String()) > small })
	time.Sleep(timeout / 3)
	// Sent whole, it waits for the slot, which it gets when the slow one's
	// deadline passes: before its own.
	finish(t, dialAndSend(t, addr, statusDoc("patient-", 4*small)), nil)
	expectHandled(t, handled, "patient-")
	select {
	case tag := <-handled:
		t.Errorf("handled %q, the document whose sender stalled past the deadline", tag)
	default:
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLargeDocumentCopies: reading a large document allocates about twice
// its size (a buffer that doubles as the bytes arrive), and decoding it
// about twice (the parsed fields, then the message), not several times.
func TestLargeDocumentCopies(t *testing.T) {
	doc := statusDoc("big-", 8<<20)
	var data []byte
	read := allocated(func() {
		var err error
		if data, err = ReadMessage(bytes.NewReader(doc)); err != nil {
			t.Fatal(err)
		}
	})
	var msg Message
	decoded := allocated(func() {
		var err error
		if msg, err = Decode(data); err != nil {
			t.Fatal(err)
		}
	})
	if st, ok := msg.(Status); !ok || len(st.Error) < 8<<20-200 {
		t.Fatalf("decoded %T with %d bytes of error", msg, len(msg.(Status).Error))
	}
	size := float64(len(doc))
	t.Logf("a %d-byte document: read allocates %.1f×, decode %.1f× its size", len(doc), float64(read)/size, float64(decoded)/size)
	if float64(read) > 2.2*size {
		t.Errorf("reading allocated %.1f× the document's size, want at most 2.2×", float64(read)/size)
	}
	if float64(decoded) > 2.2*size {
		t.Errorf("decoding allocated %.1f× the document's size, want at most 2.2×", float64(decoded)/size)
	}
}

// TestServeBoundsConnections: past maxConns connections being served,
// each of which has sent something, a new one is closed unread; once one
// ends, new ones are served again.
func TestServeBoundsConnections(t *testing.T) {
	setMaxConns(t, 2)
	const small = 1 << 10
	setReadLimits(t, small, 1, 10*time.Second)
	w, addr, handled := serveWatched(t, small)
	held := []*net.TCPConn{dialAndSend(t, addr, []byte(`{"message_type"`)), dialAndSend(t, addr, []byte(`{"message_type"`))}
	waitUntil(t, "the held connections read", func() bool {
		return w.readBy(held[0].LocalAddr().String()) > 0 && w.readBy(held[1].LocalAddr().String()) > 0
	})
	// Each further connection is closed at once: a read sees EOF (or a
	// reset), never the deadline.
	for range 3 * dropBurst {
		conn := dialAndSend(t, addr, statusDoc("refused-", 100))
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err != nil && strings.Contains(err.Error(), "timeout") {
			t.Fatal("a connection past maxConns was held open")
		}
		conn.Close()
	}
	select {
	case tag := <-handled:
		t.Fatalf("handled %q past maxConns", tag)
	default:
	}
	finish(t, held[0], []byte(`: "shutdown"}`))
	waitUntil(t, "a connection to be served again", func() bool {
		// Until held[0]'s place is freed, a new connection may still be
		// reset: try again.
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		defer conn.Close()
		if _, err := conn.Write(statusDoc("served-", 100)); err != nil {
			return false
		}
		conn.(*net.TCPConn).CloseWrite()
		select {
		case tag := <-handled:
			return tag == "served-"
		case <-time.After(200 * time.Millisecond):
			return false
		}
	})
	held[1].Close()
}

// TestServeEvictsSilentConnections: at maxConns, a new connection takes
// the place of the oldest one that has sent nothing, which is closed; so
// idle connections cannot keep a message out.
func TestServeEvictsSilentConnections(t *testing.T) {
	setMaxConns(t, 2)
	const small = 1 << 10
	setReadLimits(t, small, 1, 10*time.Second)
	w, addr, handled := serveWatched(t, small)
	silent := dialAndSend(t, addr, nil)
	spoke := dialAndSend(t, addr, []byte(`{"message_type"`))
	waitUntil(t, "the speaking connection read", func() bool { return w.readBy(spoke.LocalAddr().String()) > 0 })
	// Both places are taken: the new one takes the silent one's.
	finish(t, dialAndSend(t, addr, statusDoc("served-", 100)), nil)
	expectHandled(t, handled, "served-")
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err != nil && strings.Contains(err.Error(), "timeout") {
		t.Fatal("the silent connection was held open")
	}
	// The one that spoke is still served.
	finish(t, spoke, []byte(`: "status", "output_files": [], "status": "failed", "worker_pid": 1, "error": "spokex"}`))
	expectHandled(t, handled, "spoke")
}
