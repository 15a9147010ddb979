package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// loadStats is what the Serve-only child process reports.
type loadStats struct {
	Received  int64 `json:"received"`
	PeakHeap  int64 `json:"peak_heap"`  // highest heap in use seen, sampled every ms
	Heap      int64 `json:"heap"`       // heap in use now
	PeakRSS   int64 `json:"peak_rss"`   // VmHWM
	RSS       int64 `json:"rss"`        // VmRSS now
	HeapAlloc int64 `json:"heap_alloc"` // runtime.MemStats.HeapAlloc
}

// TestServeMemoryUnderLoad measures what 64 concurrent connections, each
// sending a 16 MB document, cost a process that does nothing but Serve: its
// peak RSS and Go heap, and what it holds once the senders are done. It is
// a measurement, not a check; run it with
//
//	MR_LOADTEST=1 go test -run TestServeMemoryUnderLoad -v ./protocol
func TestServeMemoryUnderLoad(t *testing.T) {
	if os.Getenv("MR_LOADTEST") == "" {
		t.Skip("a measurement; set MR_LOADTEST=1 to run it")
	}
	const senders = 64
	child := exec.Command(os.Args[0], "-test.run=^TestServeLoadHelper$")
	child.Env = append(os.Environ(), "MR_LOAD_HELPER=1")
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	lines := bufio.NewScanner(stdout)
	lines.Buffer(nil, 1<<20)
	next := func() string {
		if !lines.Scan() {
			t.Fatalf("child: %v", lines.Err())
		}
		return lines.Text()
	}
	addr := next()
	stats := func() loadStats {
		fmt.Fprintln(stdin, "stats")
		var s loadStats
		if err := json.Unmarshal([]byte(next()), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	idle := stats()

	// A status with a 16 MB error, as a worker that does not cut its
	// program's stderr would send.
	prefix := `{"message_type": "status", "output_files": ["/nowhere/file01.txt"], "status": "failed", "worker_pid": 1, "error": "`
	doc := make([]byte, 0, MaxMessageSize)
	doc = append(doc, prefix...)
	doc = append(doc, bytes.Repeat([]byte("Traceback x "), (MaxMessageSize-len(prefix)-2)/12)...)
	doc = append(doc, `"}`...)
	if _, err := Decode(doc); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range senders {
		wg.Go(func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				failed.Add(1)
				return
			}
			defer conn.Close()
			conn.SetWriteDeadline(time.Now().Add(time.Minute))
			if _, err := conn.Write(doc); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	var during loadStats
	for {
		during = stats()
		if during.Received == senders || time.Since(start) > time.Minute {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(start)
	time.Sleep(time.Second)
	after1 := stats()
	time.Sleep(4 * time.Second)
	after5 := stats()

	mb := func(n int64) string { return fmt.Sprintf("%.0f MB", float64(n)/1e6) }
	t.Logf("%d senders × %d bytes: %d received in %v, %d sends failed", senders, len(doc), during.Received, took.Round(time.Millisecond), failed.Load())
	t.Logf("idle:        RSS %s", mb(idle.RSS))
	t.Logf("during load: peak RSS %s, peak Go heap in use %s", mb(during.PeakRSS), mb(during.PeakHeap))
	t.Logf("1 s after:   RSS %s, heap in use %s, heap alloc %s", mb(after1.RSS), mb(after1.Heap), mb(after1.HeapAlloc))
	t.Logf("5 s after:   RSS %s, heap in use %s, heap alloc %s", mb(after5.RSS), mb(after5.Heap), mb(after5.HeapAlloc))
}

// TestServeLoadHelper is the child of TestServeMemoryUnderLoad: it serves on
// a loopback port with a handler that only counts, prints the address, and
// answers each "stats" line on stdin with a loadStats.
func TestServeLoadHelper(t *testing.T) {
	if os.Getenv("MR_LOAD_HELPER") == "" {
		t.Skip("the child of TestServeMemoryUnderLoad")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var received, peak atomic.Int64
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	heap := func() int64 {
		metrics.Read(sample)
		return int64(sample[0].Value.Uint64() + sample[1].Value.Uint64())
	}
	go func() {
		for {
			if h := heap(); h > peak.Load() {
				peak.Store(h)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	go Serve(ln, zerolog.Nop(), func(_ string, msg Message, _ func(Message) error) {
		if st, ok := msg.(Status); ok && len(st.Error) > 0 {
			received.Add(1)
		}
	})
	fmt.Println(ln.Addr().String())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s := loadStats{
			Received: received.Load(), PeakHeap: peak.Load(), Heap: heap(),
			PeakRSS: procStatus("VmHWM"), RSS: procStatus("VmRSS"), HeapAlloc: int64(ms.HeapAlloc),
		}
		line, _ := json.Marshal(s)
		fmt.Println(string(line))
	}
}

// procStatus returns a kB field of /proc/self/status in bytes, or -1.
func procStatus(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}
