package protocol

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// lockedBuffer is a bytes.Buffer safe for the listener's goroutine and
// the test's.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) lines() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Count(b.buf.Bytes(), []byte("\n"))
}

// TestDroppedDatagramsLoggedAtABoundedRate: without a secret, 1000
// datagrams that do not decode write at most a burst of log lines (issue
// #20: 100k wrote 5.4 MB); a heartbeat after them still gets through.
func TestDroppedDatagramsLoggedAtABoundedRate(t *testing.T) {
	var logged lockedBuffer
	got := make(chan Message, 1)
	ln, err := TCP{Log: zerolog.New(&logged)}.ListenDatagrams("127.0.0.1:0", func(from string, msg Message) {
		select {
		case got <- msg:
		default: // a heartbeat sent again
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("udp", ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range 1000 {
		conn.Write([]byte("not a message"))
	}
	beat, err := Encode(Heartbeat{WorkerPID: 7})
	if err != nil {
		t.Fatal(err)
	}
	// The kernel may drop datagrams the listener is slow to read (under
	// the race detector): the heartbeat goes again until it arrives.
	deadline := time.After(10 * time.Second)
	for done := false; !done; {
		conn.Write(beat)
		select {
		case msg := <-got:
			if hb, ok := msg.(Heartbeat); !ok || hb.WorkerPID != 7 {
				t.Fatalf("got %#v, want the heartbeat", msg)
			}
			done = true
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("the heartbeat after the garbage never came")
		}
	}
	if n := logged.lines(); n > dropBurst || n == 0 {
		t.Errorf("%d log lines for 1000 dropped datagrams, want 1 to %d", n, dropBurst)
	}
}
