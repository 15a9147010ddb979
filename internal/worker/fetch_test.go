package worker_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/testutil"
	"mapreduce/internal/worker"
	"mapreduce/protocol"
)

// run0 is a counted run; its last line has no tab, so its key is the line.
const run0 = "1 apple\t1\n1 banana\t2\n2 cherry\t3\n1 cherry\t4\n5 date\n"

// run0Lines is run0's lines, every copy written out: what a reducer reads.
const run0Lines = "apple\t1\nbanana\t2\ncherry\t3\ncherry\t3\ncherry\t4\ndate\ndate\ndate\ndate\ndate\n"

// startPair starts a worker holding run map-0 of job 3 and another.
func startPair(t *testing.T) (m *fakeMaster, holder, other *worker.Worker) {
	t.Helper()
	m = newFakeMaster(t, 0)
	m.listen()
	cfg := m.config()
	cfg.ID = "holder"
	holder = m.start(cfg)
	cfg = m.config()
	cfg.ID, cfg.PID = "other", workerPID+1
	other = m.start(cfg)
	writeInputs(t, mkdir(t, worker.LocalDir(holder), "job-3"), []string{"map-0"}, func(string) string { return run0 })
	return m, holder, other
}

func mkdir(t *testing.T, parts ...string) string {
	t.Helper()
	dir := filepath.Join(parts...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readPiece(t *testing.T, w *worker.Worker, p protocol.Piece, lo, hi string) (string, error) {
	t.Helper()
	bound := func(s string) []byte {
		if s == "" {
			return nil
		}
		return []byte(s)
	}
	r, err := worker.OpenPiece(context.Background(), w, 3, p, bound(lo), bound(hi))
	if err != nil {
		return "", err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	return string(data), err
}

// TestFetchRun: a worker reads a key range of a run from the worker that
// holds it, and the holder reads its own from the file.
func TestFetchRun(t *testing.T) {
	_, holder, other := startPair(t)
	remote := protocol.Piece{Holder: holder.Addr(), HolderID: "holder", Run: "map-0"}
	// The holder never dials: the address is nobody's.
	local := protocol.Piece{Holder: "localhost:1", HolderID: "holder", Run: "map-0"}
	for _, tt := range []struct{ lo, hi, want string }{
		{"", "", run0},
		{"banana", "date", "1 banana\t2\n2 cherry\t3\n1 cherry\t4\n"},
		{"c", "", "2 cherry\t3\n1 cherry\t4\n5 date\n"},
		{"", "b", "1 apple\t1\n"},
		{"b", "banana", ""},
		{"zebra", "", ""},
	} {
		for _, c := range []struct {
			name string
			w    *worker.Worker
			p    protocol.Piece
		}{{"fetched", other, remote}, {"local", holder, local}} {
			got, err := readPiece(t, c.w, c.p, tt.lo, tt.hi)
			if err != nil || got != tt.want {
				t.Errorf("%s [%q, %q): %q, %v; want %q", c.name, tt.lo, tt.hi, got, err, tt.want)
			}
		}
	}
}

// TestFetchRunRefused: a missing run, and a name that is not a plain one,
// are answered with an error naming the run and the job; nothing outside
// the job's directory is served.
func TestFetchRunRefused(t *testing.T) {
	_, holder, other := startPair(t)
	writeInputs(t, worker.LocalDir(holder), []string{"secret"}, func(string) string { return "not a run\n" })
	for _, tt := range []struct{ run, want string }{
		{"nope", "no such run"},
		{"../secret", "plain name"},
		{"..", "plain name"},
		{".", "plain name"},
		{".mapreduce-worker-local", "plain name"},
		{"", "empty"},
		{"job-3/map-0", "plain name"},
	} {
		_, err := readPiece(t, other, protocol.Piece{Holder: holder.Addr(), Run: tt.run}, "", "")
		var remote *protocol.RemoteError
		if !errors.As(err, &remote) || !strings.Contains(remote.Err, tt.want) ||
			!strings.Contains(remote.Err, "job 3") || !strings.Contains(remote.Err, "run \""+tt.run+"\"") {
			t.Errorf("fetch run %q: %v; want a RemoteError naming the run and job 3: %s", tt.run, err, tt.want)
		}
	}
	// A missing job too.
	r, err := worker.OpenPiece(context.Background(), other, 9, protocol.Piece{Holder: holder.Addr(), Run: "map-0"}, nil, nil)
	var remote *protocol.RemoteError
	if !errors.As(err, &remote) || !strings.Contains(remote.Err, "job 9") {
		t.Errorf("fetch from job 9: %v, %v; want a RemoteError", r, err)
	}
}

// TestJobEnded: job_ended removes the job's runs, and only its; with
// KeepIntermediates it removes nothing.
func TestJobEnded(t *testing.T) {
	m, holder, _ := startPair(t)
	local := worker.LocalDir(holder)
	writeInputs(t, mkdir(t, local, "job-4"), []string{"map-0"}, func(string) string { return run0 })
	m.send(t, holder, protocol.JobEnded{JobID: 3})
	testutil.WaitFor(t, 5*time.Second, "job-3 removed", func() bool {
		_, err := os.Stat(filepath.Join(local, "job-3"))
		return errors.Is(err, os.ErrNotExist)
	})
	if got := testutil.ListDir(t, local); !slices.Equal(got, []string{".mapreduce-worker-local", "job-4"}) {
		t.Errorf("local directory holds %v, want job-4 and the marker", got)
	}

	cfg := m.config()
	cfg.ID, cfg.PID, cfg.KeepIntermediates = "keeper", workerPID+2, true
	keeper := m.start(cfg)
	dir := mkdir(t, worker.LocalDir(keeper), "job-3")
	m.send(t, keeper, protocol.JobEnded{JobID: 3})
	time.Sleep(50 * time.Millisecond)
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("with KeepIntermediates, job-3: %v", err)
	}
}

// TestLocalDir: the local directory is made and marked, by default one of
// the worker's own; a worker's is wiped; any other is refused untouched,
// a master's var included.
func TestLocalDir(t *testing.T) {
	m := newFakeMaster(t, 0)
	m.listen()
	marker := ".mapreduce-worker-local"

	t.Setenv("TMPDIR", t.TempDir())
	cfg := m.config()
	cfg.LocalDir = ""
	w := m.start(cfg)
	_, port, _ := strings.Cut(w.Addr(), ":")
	if want := filepath.Join(os.TempDir(), "mapreduce-worker-"+port); worker.LocalDir(w) != want {
		t.Errorf("default local directory %s, want %s", worker.LocalDir(w), want)
	}
	if got := testutil.ListDir(t, worker.LocalDir(w)); !slices.Equal(got, []string{marker}) {
		t.Errorf("new local directory holds %v, want only its marker", got)
	}
	data, _ := os.ReadFile(filepath.Join(worker.LocalDir(w), marker))
	if !strings.Contains(string(data), "worker") {
		t.Errorf("marker says %q, want it to name the worker", data)
	}

	dir := t.TempDir()
	writeInputs(t, mkdir(t, dir, "job-0"), []string{"map-0"}, func(string) string { return run0 })
	writeInputs(t, dir, []string{marker}, func(string) string { return "" })
	cfg = m.config()
	cfg.LocalDir, cfg.PID = dir, workerPID+1
	m.start(cfg)
	if got := testutil.ListDir(t, dir); !slices.Equal(got, []string{marker}) {
		t.Errorf("a worker's local directory holds %v after the start, want it wiped", got)
	}

	for _, tt := range []struct{ name, file string }{
		{"someone's files", "thesis.tex"},
		{"a master's var", ".mapreduce-var"},
	} {
		dir := t.TempDir()
		writeInputs(t, dir, []string{tt.file}, func(string) string { return "keep\n" })
		cfg := m.config()
		cfg.LocalDir = dir
		_, err := worker.Start(cfg, zerolog.Nop())
		if err == nil || !strings.Contains(err.Error(), "not made by a worker") || !strings.Contains(err.Error(), marker) {
			t.Errorf("%s: Start = %v, want a refusal naming the marker", tt.name, err)
		}
		if got := testutil.ListDir(t, dir); !slices.Equal(got, []string{tt.file}) {
			t.Errorf("%s: holds %v after the refusal, want it untouched", tt.name, got)
		}
	}
}

// TestFetchSlots: a worker serves at most 16 fetches at once; another
// waits for a slot, and is refused once it has waited too long.
func TestFetchSlots(t *testing.T) {
	release := make(chan struct{})
	var opened atomic.Int64
	worker.SetFetchHooks(t, func(string, []byte, []byte) (io.ReadCloser, error) {
		opened.Add(1)
		<-release
		return io.NopCloser(strings.NewReader("a\t1\n")), nil
	}, 200*time.Millisecond)
	_, holder, other := startPair(t)
	p := protocol.Piece{Holder: holder.Addr(), Run: "map-0"}
	results := make(chan error, 16)
	for range 16 {
		go func() {
			got, err := readPiece(t, other, p, "", "")
			if err == nil && got != "a\t1\n" {
				err = errors.New("read " + got)
			}
			results <- err
		}()
	}
	testutil.WaitFor(t, 5*time.Second, "16 fetches served", func() bool { return opened.Load() == 16 })
	_, err := readPiece(t, other, p, "", "")
	var remote *protocol.RemoteError
	if !errors.As(err, &remote) || !strings.Contains(remote.Err, "busy") {
		t.Errorf("a 17th fetch: %v, want refused as busy", err)
	}
	close(release)
	for range 16 {
		if err := <-results; err != nil {
			t.Error(err)
		}
	}
	if opened.Load() != 16 {
		t.Errorf("%d runs opened, want 16", opened.Load())
	}
}

// TestStoppedWorkerRemovesItsRuns: once a worker has stopped, its runs are
// gone (no master can have them fetched any more): its default local
// directory whole, a given one but for its marker.
func TestStoppedWorkerRemovesItsRuns(t *testing.T) {
	m := newFakeMaster(t, 0)
	m.listen()
	t.Setenv("TMPDIR", t.TempDir())
	cfg := m.config()
	cfg.LocalDir = ""
	w := m.start(cfg)
	dflt := worker.LocalDir(w)
	mkdir(t, dflt, "job-0")

	given := t.TempDir()
	cfg = m.config()
	cfg.LocalDir, cfg.PID = given, workerPID+1
	v := m.start(cfg)
	mkdir(t, given, "job-0")

	for _, x := range []*worker.Worker{w, v} {
		x.Stop()
		x.Wait()
	}
	if _, err := os.Stat(dflt); !os.IsNotExist(err) {
		t.Errorf("the default local directory %s is still there after the worker stopped (%v)", dflt, err)
	}
	if got := testutil.ListDir(t, given); !slices.Equal(got, []string{".mapreduce-worker-local"}) {
		t.Errorf("the given local directory holds %v after the worker stopped, want only its marker", got)
	}
}

// lockedBuffer is a log that the test reads while a worker writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.WriteString(string(p))
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestReduceWaitsForABusyHolder: a holder whose fetch slots are all taken
// refuses a reduce task's fetch as busy; the reduce task waits and asks
// again instead of reporting the run lost, and finishes once a slot frees.
func TestReduceWaitsForABusyHolder(t *testing.T) {
	release := make(chan struct{})
	var opened atomic.Int64
	worker.SetFetchHooks(t, func(path string, _, _ []byte) (io.ReadCloser, error) {
		if opened.Add(1) <= 16 {
			<-release // the first 16 fetches hold every slot
		}
		return os.Open(path)
	}, 100*time.Millisecond)
	m := newFakeMaster(t, 0)
	m.listen()
	var holderLog lockedBuffer
	cfg := m.config()
	cfg.ID = "holder"
	holder, err := worker.Start(cfg, zerolog.New(&holderLog))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(holder.Stop)
	cfg = m.config()
	cfg.ID, cfg.PID = "reducer", workerPID+1
	reducer := m.start(cfg)
	writeInputs(t, mkdir(t, worker.LocalDir(holder), "job-3"), []string{"map-0"}, func(string) string { return run0 })

	p := protocol.Piece{Holder: holder.Addr(), HolderID: "holder", Run: "map-0"}
	done := make(chan error, 16)
	for range 16 {
		go func() {
			_, err := readPiece(t, reducer, p, "", "")
			done <- err
		}()
	}
	testutil.WaitFor(t, 5*time.Second, "every fetch slot taken", func() bool { return opened.Load() == 16 })

	out := filepath.Join(t.TempDir(), "input_0")
	m.send(t, reducer, protocol.NewWorkerJob{InputFiles: []string{}, Executable: "cat", OutputDirectory: filepath.Dir(out), WorkerPID: workerPID + 1,
		Task:        &protocol.TaskIdentity{JobID: 3, Stage: "reduce", Index: 0, Attempt: 1},
		ReduceInput: &protocol.ReduceInput{Pieces: []protocol.Piece{p}, OutputFile: out}})
	// As many refusals as a fetch has tries: a holder taken for lost would
	// have been reported by now.
	testutil.WaitFor(t, 10*time.Second, "the reduce task's fetch refused as busy, again and again", func() bool {
		return strings.Count(holderLog.String(), protocol.BusyPrefix) >= 4
	})
	close(release)
	st := m.status(t)
	if st.Status != protocol.StatusFinished || len(st.LostPieces) > 0 {
		t.Fatalf("reduce status %+v, want finished: a busy holder is not a lost one", st)
	}
	if got := readFile(t, out); got != run0Lines {
		t.Errorf("reduce output %q, want %q", got, run0Lines)
	}
	for range 16 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
