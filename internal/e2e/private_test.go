package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mapreduce/internal/layout"
	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// privateMount is the wrapper that runs a program in a mount namespace of
// its own with an empty tmpfs over the directory $0: unshare(1) and sh
// replace themselves with the program, so its pid is the process's. What
// the program writes under $0 no other process sees, and the namespace
// and its tmpfs go when the program ends, killed or not: nothing is left
// to unmount.
const privateMount = `mount -t tmpfs -o mode=0755 mapreduce-private "$0" && exec "$@"`

// privateCommand is binary with args run by privateMount over dir.
func privateCommand(dir, binary string, args ...string) []string {
	return append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", privateMount, dir, binary}, args...)
}

var (
	privateOnce sync.Once
	privateWhy  string // why mount namespaces cannot be used here, or ""
)

// privateMounts reports why this machine cannot run a program in a mount
// namespace of its own with a tmpfs of its own, or "" when it can. It
// probes once per test binary.
func privateMounts() string {
	privateOnce.Do(func() {
		if os.Geteuid() != 0 {
			privateWhy = "mount namespaces and tmpfs mounts need root (run the tests as root, as CI does)"
			return
		}
		if _, err := exec.LookPath("unshare"); err != nil {
			privateWhy = "unshare(1) (util-linux) is not installed"
			return
		}
		dir, err := os.MkdirTemp("", "mapreduce-e2e-probe-")
		if err != nil {
			privateWhy = err.Error()
			return
		}
		defer os.RemoveAll(dir)
		cmd := privateCommand(dir, "sh", "-c", `touch "$0/probe"`, dir)
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			privateWhy = fmt.Sprintf("this machine refuses a mount namespace with a tmpfs even to root: %v: %s", err, strings.TrimSpace(string(out)))
			return
		}
		if _, err := os.Stat(filepath.Join(dir, "probe")); err == nil {
			privateWhy = "a file written in a private mount namespace's tmpfs showed outside it"
		}
	})
	return privateWhy
}

// requirePrivateMounts skips the test, saying why, unless processes can
// have private mounts here.
func requirePrivateMounts(t *testing.T) {
	t.Helper()
	if why := privateMounts(); why != "" {
		t.Skip("SKIPPED: " + why)
	}
}

// privateCluster is a cluster whose master and workers each run in a mount
// namespace of their own, with an empty tmpfs over the directory private:
// the master keeps its --var there, each worker its --local-dir. They share
// only the rest of the file system: the inputs, the outputs and the
// programs.
type privateCluster struct {
	*cluster
	private string
}

func (c *privateCluster) masterVar() string { return filepath.Join(c.private, "var") }
func (c *privateCluster) localDir() string  { return filepath.Join(c.private, "local") }

// newPrivateCluster starts the master in a namespace of its own and waits
// for it to listen.
func newPrivateCluster(t *testing.T) *privateCluster {
	t.Helper()
	requirePrivateMounts(t)
	c := &privateCluster{cluster: newScratch(t)}
	c.private = filepath.Join(c.dir, "private")
	if err := os.Mkdir(c.private, 0o755); err != nil {
		t.Fatal(err)
	}
	// The tmpfs mounts go with their namespaces when the processes are
	// killed at cleanup; none may ever show in the test's namespace.
	t.Cleanup(func() { unmountLeaked(t, c.private) })
	cmd := privateCommand(c.private, filepath.Join(binDir, "master"),
		"--heartbeat-interval", heartbeat.String(), "--missed-heartbeats", strconv.Itoa(missed),
		"--log-format", "json", "--log-level", "debug", "--var", c.masterVar(), strconv.Itoa(c.port))
	c.master = c.start("master", cmd[0], cmd[1:]...)
	testutil.WaitFor(t, 10*time.Second, "master listening", func() bool {
		conn, err := net.Dial("tcp", c.addr())
		if err == nil {
			conn.Close()
		}
		return err == nil || c.master.exited()
	})
	if c.master.exited() {
		t.Fatalf("master exited: %v", c.master.err)
	}
	return c
}

// startWorker starts a --shuffle worker in a namespace of its own and waits
// until the master lists it as alive.
func (c *privateCluster) startWorker() *proc {
	c.t.Helper()
	cmd := privateCommand(c.private, filepath.Join(binDir, "worker"),
		"--shuffle", "--heartbeat-interval", heartbeat.String(), "--log-format", "json", "--log-level", "debug",
		"--local-dir", c.localDir(), strconv.Itoa(c.port), strconv.Itoa(freePort(c.t)))
	p := c.start("worker", cmd[0], cmd[1:]...)
	c.waitRegistered(p)
	c.workers = append(c.workers, p)
	return p
}

// unmountLeaked fails the test, and unmounts it, if anything is mounted
// at dir in the test's own mount namespace.
func unmountLeaked(t *testing.T, dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Error(err)
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		// ID PARENT MAJOR:MINOR ROOT MOUNTPOINT ...
		if fields := strings.Fields(line); len(fields) > 4 && fields[4] == dir {
			t.Errorf("a private mount showed in the test's namespace: %s", line)
			if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", dir, err)
			}
		}
	}
}

// seen is path as process p sees it, through its root in its own mount
// namespace.
func seen(p *proc, path string) string {
	return filepath.Join("/proc", strconv.Itoa(p.pid()), "root", path)
}

// checkPrivate asserts what the namespaces promise: each live process has
// a file system of its own at c.private, unlike the test's and every other
// process's; the master's var is there for the master alone, and no worker
// sees a var at its path; each worker's local directory is its own; the
// test sees neither.
func (c *privateCluster) checkPrivate() {
	c.t.Helper()
	devs := map[uint64]string{}
	device := func(who, path string) {
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil {
			c.t.Fatalf("%s: %v", who, err)
		}
		if other, ok := devs[st.Dev]; ok {
			c.t.Errorf("%s and %s share the file system at %s", who, other, c.private)
		}
		devs[st.Dev] = who
	}
	device("the test", c.private)
	if names := testutil.ListDir(c.t, c.private); len(names) > 0 {
		c.t.Errorf("the test sees %v in %s, which only the cluster's processes write", names, c.private)
	}
	if _, err := os.Stat(filepath.Join(c.dir, "var")); !os.IsNotExist(err) {
		c.t.Errorf("a var directory was made in the shared directory: %v", err)
	}
	device("the master", seen(c.master, c.private))
	if _, err := os.Stat(seen(c.master, filepath.Join(c.masterVar(), ".mapreduce-var"))); err != nil {
		c.t.Errorf("the master's var is not where the master sees it: %v", err)
	}
	for _, w := range c.workers {
		if w.exited() {
			continue
		}
		who := fmt.Sprintf("worker %d", w.pid())
		device(who, seen(w, c.private))
		if _, err := os.Stat(seen(w, c.masterVar())); !os.IsNotExist(err) {
			c.t.Errorf("%s sees something at the master's var %s: %v", who, c.masterVar(), err)
		}
		if _, err := os.Stat(seen(w, filepath.Join(c.localDir(), ".mapreduce-worker-local"))); err != nil {
			c.t.Errorf("%s's local directory is not where it sees it: %v", who, err)
		}
	}
}

// runs lists the runs of job id that worker p keeps.
func (c *privateCluster) runs(p *proc, id int) []string {
	entries, err := os.ReadDir(seen(p, layout.LocalJob(c.localDir(), id)))
	if err != nil && !os.IsNotExist(err) {
		c.t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") { // not a task's scratch directory
			names = append(names, e.Name())
		}
	}
	return names
}

// TestShuffleSharesOnlyInputAndOutput: with --shuffle workers, a cluster
// needs to share only the inputs, the outputs and the programs. The master
// and three workers each run in a mount namespace of their own, with a
// tmpfs of their own over the directory that holds the master's var and
// the workers' local directories, so that nothing one writes there
// another sees, and no worker sees the master's var at all. Word count
// comes out as the truth pipeline's. Then a worker that holds runs is
// killed with -9 once the map stage is over, while the reducers wait at a
// gate, and a fresh worker joins in a namespace of its own: the lost runs
// are made again and the output is still right.
func TestShuffleSharesOnlyInputAndOutput(t *testing.T) {
	c := newPrivateCluster(t)
	for range 3 {
		c.startWorker()
	}
	c.checkPrivate()
	j := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 6, reducers: 3}
	id, out := c.submit(j)
	c.waitDone(j, id, out)
	if !c.logged(c.master, "map tasks planned", fmt.Sprintf(`"job":%d,`, id), `"shuffle":true`) {
		t.Fatalf("job %d did not run the shuffle", id)
	}
	c.checkPrivate()

	dir := t.TempDir() // shared, as programs are
	gate := filepath.Join(dir, "gate")
	reducer := filepath.Join(dir, "reduce.sh")
	body := "#!/bin/sh\nwhile [ ! -e " + gate + " ]; do sleep 0.02; done\nexec " + c.repoPath("exec/word_count/reduce.py") + "\n"
	if err := os.WriteFile(reducer, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	j.reducer = reducer
	id, out = c.submit(j)
	c.waitLog(c.master, "reducers' key ranges chosen", fmt.Sprintf(`"job":%d,`, id))
	// The victim is a worker that holds runs, as its own namespace shows.
	var victim *proc
	held := map[int][]string{}
	for _, w := range c.workers {
		held[w.pid()] = c.runs(w, id)
		if victim == nil && len(held[w.pid()]) > 0 {
			victim = w
		}
	}
	if victim == nil {
		t.Fatalf("no worker holds a run of job %d after its map stage: %v", id, held)
	}
	t.Logf("runs of job %d by worker: %v; killing %d", id, held, victim.pid())
	victim.kill()
	c.startWorker()
	c.checkPrivate()
	testutil.WaitFor(t, 30*time.Second, "the victim's runs to be made again", func() bool {
		return c.logged(c.master, "run lost: the map task runs again", fmt.Sprintf(`"job":%d,`, id))
	})
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	j.reducer = "exec/word_count/reduce.py" // the truth pipeline's, which the gated one runs
	c.waitDone(j, id, out)
	c.checkPrivate()
}

// startShuffler starts a --shuffle worker on host of lab l with flags
// common and args, its local directory on a tmpfs of its own when mount
// namespaces are allowed, so that the other hosts reach its runs only
// through it.
func (c *cluster) startShuffler(l *lab, host string, common []string, args ...string) *proc {
	c.t.Helper()
	args = append(append(slices.Clone(common), "--shuffle"), args...)
	binary := filepath.Join(binDir, "worker")
	if why := privateMounts(); why != "" {
		c.t.Logf("the %s worker's local directory is on the shared file system: %s", host, why)
		cmd := l.command(host, binary, append([]string{"--local-dir", filepath.Join(c.t.TempDir(), "local")}, args...)...)
		return c.start(host, cmd[0], cmd[1:]...)
	}
	private := filepath.Join(c.dir, "private-"+host)
	if err := os.Mkdir(private, 0o755); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { unmountLeaked(c.t, private) })
	cmd := l.command(host, "unshare", privateCommand(private, binary, append([]string{"--local-dir", filepath.Join(private, "local")}, args...)...)[1:]...)
	return c.start(host, cmd[0], cmd[1:]...)
}

// checkShuffledAcross asserts that job info ran the shuffle with its map
// tasks' runs kept on every one of workers, so that each reduce task read
// a run of another worker, and that no fetch was refused or failed.
func (c *cluster) checkShuffledAcross(info protocol.JobInfo, workers ...*proc) {
	c.t.Helper()
	if !c.logged(c.master, "map tasks planned", fmt.Sprintf(`"job":%d,`, info.ID), `"shuffle":true`) {
		c.t.Fatalf("job %d did not run the shuffle", info.ID)
	}
	holders, reducers := map[int]bool{}, 0
	for _, task := range info.Tasks {
		for _, a := range task.Attempts {
			if a.Outcome == "finished" && task.Phase == "map" {
				holders[a.WorkerPID] = true
			}
			if a.Outcome == "finished" && task.Phase == "reduce" {
				reducers++
			}
		}
	}
	for _, w := range workers {
		if !holders[w.pid()] {
			c.t.Errorf("job %d: worker %d made no run (runs made on %v), so no reducer had to fetch one of its", info.ID, w.pid(), holders)
		}
	}
	if reducers == 0 {
		c.t.Errorf("job %d: no reduce task finished: %+v", info.ID, info.Tasks)
	}
	for _, w := range workers {
		for _, what := range []string{"fetch refused", "fetch failed"} {
			if c.logged(w, what) {
				c.t.Errorf("worker %d logged %q", w.pid(), what)
			}
		}
	}
}
