package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mapreduce/protocol"

	"mapreduce/internal/testutil"
)

// TestReferenceWorkerInterop runs word count on our master with one of our
// workers and one reference-only Python worker.
func TestReferenceWorkerInterop(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	c.startReferenceWorker()
	for _, shape := range shapes {
		j := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py",
			mappers: shape.mappers, reducers: shape.reducers}
		id, out := c.submit(j)
		c.waitDone(j, id, out)
	}
	// Every worker must have had work, or the test proves nothing about
	// the reference worker.
	held := map[int]bool{}
	for _, j := range c.status().Jobs {
		for _, task := range j.Tasks {
			for _, a := range task.Attempts {
				held[a.WorkerPID] = true
			}
		}
	}
	for _, w := range c.workers {
		if !held[w.pid()] {
			t.Errorf("%s (pid %d) was never given a task", w.name, w.pid())
		}
	}
}

// TestWorkerUnderReferenceMaster runs our worker under a reference-only Python master
// that sends one map job and checks the status and the output files.
func TestWorkerUnderReferenceMaster(t *testing.T) {
	c := newScratch(t)
	dir, port := c.dir, c.port
	out := filepath.Join(dir, "mapper-output")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	master := c.start("reference-master", "python3", filepath.Join(repoRoot, "internal/e2e/testdata/reference_master.py"),
		strconv.Itoa(port), filepath.Join(repoRoot, "input"), filepath.Join(repoRoot, "exec/word_count/map.py"), out)
	// The reference master listens before it can take a registration.
	testutil.WaitFor(t, 10*time.Second, "reference master listening", func() bool {
		conn, err := net.Dial("tcp", c.addr())
		if err == nil {
			conn.Close()
		}
		return err == nil || master.exited()
	})
	w := c.start("worker", filepath.Join(binDir, "worker"), "--heartbeat-interval", heartbeat.String(),
		"--log-format", "json", strconv.Itoa(port), strconv.Itoa(freePort(t)))
	for _, p := range []*proc{master, w} {
		select {
		case <-p.done:
			if p.err != nil {
				t.Errorf("%s: %v", p.name, p.err)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("%s still running after 60 s", p.name)
		}
	}
}

// TestBadMessages sends the master and a worker malformed documents and
// checks that both keep serving: the next valid job completes.
func TestBadMessages(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	workerAddr := ""
	for _, w := range c.status().Workers {
		workerAddr = net.JoinHostPort(w.Host, strconv.Itoa(w.Port))
	}
	bad := []string{
		"",
		"not json at all",
		`{"message_type": "new_master_job", "input_directory": "x"`,
		`[1, 2, 3]`,
		`{"message_type": "launch_rockets"}`,
		`{"message_type": "register"}`,
		`{"message_type": "new_master_job", "input_directory": 7}`,
		`{"message_type": "status", "status": "finished", "worker_pid": 1, "output_files": ["/nowhere"]}`,
		`{"no_type": true}`,
		"\x00\xff\xfe garbage \x01",
		// Over the size limit: refused unread, not held in memory.
		`{"message_type": "shutdown", "pad": "` + strings.Repeat("x", protocol.MaxMessageSize) + `"}`,
	}
	for _, addr := range []string{c.addr(), workerAddr} {
		for _, doc := range bad {
			if err := sendRaw(addr, []byte(doc)); err != nil {
				t.Fatalf("send %q to %s: %v", doc, addr, err)
			}
		}
		// A connection that sends half a document and never closes.
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte(`{"message_type": "shutdown"`))
		defer conn.Close()
	}
	// A refused job is answered with the reason.
	reply, err := protocol.Request(c.addr(), protocol.NewMasterJob{InputDirectory: "in", OutputDirectory: "out", MapperExecutable: "m", ReducerExecutable: "r", NumMappers: 0, NumReducers: 1}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := reply.(protocol.Error); !ok || e.Error == "" {
		t.Errorf("bad job answered with %#v, want an error", reply)
	}
	j := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 2, reducers: 2}
	id, out := c.submit(j)
	if id != 0 {
		t.Errorf("first good job got id %d; a refused job must not take an id", id)
	}
	c.waitDone(j, id, out)
	// job-0 is removed once done, and no other was ever made.
	testutil.WaitFor(t, 5*time.Second, "var/ to hold only its marker, lock and journal", func() bool {
		entries, _ := os.ReadDir(filepath.Join(c.dir, "var"))
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return slices.Equal(names, []string{".mapreduce-lock", ".mapreduce-var", "journal"})
	})
}

func sendRaw(addr string, data []byte) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write(data); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return conn.Close()
}
