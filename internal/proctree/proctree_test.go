package proctree

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mapreduce/internal/testutil"
)

// methods are the ways a tracker may work, each made to work so by
// newTracker.
var methods = []string{MethodProc, MethodCgroup, "cgroup, no cgroup.kill", MethodCgroupMoved}

// newTracker returns a tracker that uses method, or skips the test when
// this machine cannot: the cgroup methods need a cgroup v2 the test may
// write to. Its cgroup, if any, must be gone at the end of the test.
func newTracker(t *testing.T, method string) *Tracker {
	t.Helper()
	tr := New(method == MethodProc)
	if method != MethodProc {
		if tr.cgroups == nil {
			t.Skipf("cannot make cgroups here (run as root on a machine with cgroup v2 to test them): %s", tr.Detail())
		}
		// The fallbacks of older kernels, or of a seccomp filter, are
		// taken on a kernel that needs none.
		tr.cgroups.noKill = tr.cgroups.noKill || method == "cgroup, no cgroup.kill"
		tr.cgroups.moved = tr.cgroups.moved || method == MethodCgroupMoved
	}
	t.Cleanup(func() {
		if err := tr.Close(); err != nil {
			t.Error(err)
		}
		if tr.cgroups != nil {
			if _, err := os.Stat(tr.cgroups.dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the worker's cgroup %s is still there after Close (%v)", tr.cgroups.dir, err)
			}
		}
	})
	return tr
}

// alive lists the live processes that run sleep for marker (argv is
// exactly sleep or a path to it, and marker), not those on their way to
// it (setsid, env, sh with it in their command lines).
func alive(t *testing.T, marker string) []string {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var found []string
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		argv := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
		if err == nil && len(argv) == 2 && filepath.Base(argv[0]) == "sleep" && argv[1] == marker && !zombie(d) {
			found = append(found, d)
		}
	}
	return found
}

// uniqueSleep is a sleep duration no other process on the machine uses.
func uniqueSleep() string { return fmt.Sprintf("%d", 2_000_000+time.Now().UnixNano()%1_000_000) }

// run runs script with sh in a tree of tr's, as the worker runs programs,
// and returns the tree once the script has ended.
func run(t *testing.T, tr *Tracker, script string) *Tree {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	tree, err := tr.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	return tree
}

// TestKillEndsEveryDescendant: with each method, a program that leaves
// children behind in its group, in a session of their own (setsid) and
// reparented to init (a double fork) has every one killed, and nothing
// else; the program's cgroup is removed.
func TestKillEndsEveryDescendant(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("needs setsid (util-linux)")
	}
	for _, method := range methods {
		t.Run(method, func(t *testing.T) {
			tr := newTracker(t, method)
			marker := uniqueSleep()
			bystander := exec.Command("sleep", marker)
			if err := bystander.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { bystander.Process.Kill(); bystander.Wait() }()
			tree := run(t, tr, fmt.Sprintf("sleep %[1]s & setsid sleep %[1]s & (setsid sh -c 'sleep %[1]s & exit 0' &) ; exit 3", marker))
			testutil.WaitFor(t, 5*time.Second, "the three children started", func() bool { return len(alive(t, marker)) == 4 })
			n, err := tree.Kill()
			if err != nil {
				t.Error(err)
			}
			// Those in the group are counted only when the cgroup has held
			// them from the start.
			want := 3
			if method == MethodProc || method == MethodCgroupMoved {
				want = 2
			}
			if n < want {
				t.Errorf("Kill found %d processes left running, want at least %d", n, want)
			}
			testutil.WaitFor(t, 5*time.Second, "only the bystander left", func() bool { return len(alive(t, marker)) == 1 })
			if err := bystander.Process.Signal(syscall.Signal(0)); err != nil {
				t.Errorf("the bystander, not of the tree, is gone: %v", err)
			}
			if tree.cgroup != nil {
				if _, err := os.Stat(tree.cgroup.dir); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("the program's cgroup is still there after Kill (%v)", err)
				}
			}
		})
	}
}

// TestEmptiedEnvironment: a child that leaves the program's session and
// empties its environment, and so loses the token, escapes the /proc
// method but not a cgroup.
func TestEmptiedEnvironment(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if _, err2 := exec.LookPath("setsid"); err != nil || err2 != nil {
		t.Skip("needs sleep and setsid")
	}
	for _, method := range []string{MethodProc, MethodCgroup} {
		t.Run(method, func(t *testing.T) {
			tr := newTracker(t, method)
			marker := uniqueSleep()
			tree := run(t, tr, fmt.Sprintf("setsid env -i %s %s &", sleep, marker))
			testutil.WaitFor(t, 5*time.Second, "the child started", func() bool { return len(alive(t, marker)) == 1 })
			if _, err := tree.Kill(); err != nil {
				t.Error(err)
			}
			if method == MethodProc {
				// The known hole: the child is still there. End it.
				left := alive(t, marker)
				if len(left) != 1 {
					t.Fatalf("%d children left, want the 1 that escaped", len(left))
				}
				pid := 0
				fmt.Sscan(filepath.Base(left[0]), &pid)
				syscall.Kill(pid, syscall.SIGKILL)
			}
			testutil.WaitFor(t, 5*time.Second, "the child gone", func() bool { return len(alive(t, marker)) == 0 })
		})
	}
}

// TestNothingLeft: a program that leaves nothing running costs no kill,
// and its cgroup goes.
func TestNothingLeft(t *testing.T) {
	for _, method := range methods {
		t.Run(method, func(t *testing.T) {
			tree := run(t, newTracker(t, method), "exit 0")
			if n, err := tree.Kill(); n != 0 || err != nil {
				t.Errorf("Kill = %d, %v; want 0, nil", n, err)
			}
		})
	}
}

// TestStartFails: a program that cannot start leaves no cgroup behind.
func TestStartFails(t *testing.T) {
	for _, method := range methods {
		t.Run(method, func(t *testing.T) {
			tr := newTracker(t, method)
			if _, err := tr.Start(exec.Command(filepath.Join(t.TempDir(), "missing"))); err == nil {
				t.Fatal("a missing program started")
			}
		})
	}
}

// TestEnvironment: the token joins the environment given, or this
// process's, and the caller's attributes are kept.
func TestEnvironment(t *testing.T) {
	tr := newTracker(t, MethodProc)
	cmd := exec.Command("sh", "-c", `test "$A" = 1 && test -n "$`+Variable+`" && test -z "$HOME"`)
	cmd.Env = []string{"A=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	tree, err := tr.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("the program did not see the environment it was given: %v", err)
	}
	tree.Kill()
	if !cmd.SysProcAttr.Setpgid {
		t.Error("Setpgid was dropped")
	}
}

// TestNoCgroupForTheRun: a program whose cgroup cannot be made runs all
// the same, tracked through /proc, and Kill says so.
func TestNoCgroupForTheRun(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("needs setsid (util-linux)")
	}
	tr := newTracker(t, MethodCgroup)
	dir := tr.cgroups.dir
	tr.cgroups.dir = filepath.Join(t.TempDir(), "gone", "cgroup")
	defer func() { tr.cgroups.dir = dir }()
	marker := uniqueSleep()
	tree := run(t, tr, fmt.Sprintf("setsid sleep %s & exit 0", marker))
	testutil.WaitFor(t, 5*time.Second, "the child started", func() bool { return len(alive(t, marker)) == 1 })
	if n, err := tree.Kill(); n != 1 || err == nil || !strings.Contains(err.Error(), "only /proc tracked it") {
		t.Errorf("Kill = %d, %v; want 1 and an error saying only /proc tracked the program", n, err)
	}
	testutil.WaitFor(t, 5*time.Second, "the child gone", func() bool { return len(alive(t, marker)) == 0 })
}

// TestStaleCgroupsRemoved: the cgroups of a worker that died (whose lock
// nobody holds) are removed by the next one, and what its programs left
// running in them killed; a live worker's, locked, are kept, whatever its
// pid says (it may run in another pid namespace), and one whose cgroup
// was removed makes it again.
func TestStaleCgroupsRemoved(t *testing.T) {
	live := newTracker(t, MethodCgroup)
	stale := filepath.Join(filepath.Dir(live.cgroups.dir), "mapreduce-worker-1-test")
	if err := os.MkdirAll(filepath.Join(stale, "run-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(stale)
	defer os.Remove(filepath.Join(stale, "run-1"))
	left := exec.Command("sleep", "1000")
	if err := left.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- left.Wait() }()
	defer left.Process.Kill()
	if err := os.WriteFile(filepath.Join(stale, "run-1", "cgroup.procs"), []byte(strconv.Itoa(left.Process.Pid)), 0); err != nil {
		t.Fatal(err)
	}
	newTracker(t, MethodCgroup)
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the dead worker's cgroup %s is still there (%v)", stale, err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Error("what the dead worker's program left running was not killed")
	}
	if _, err := os.Stat(live.cgroups.dir); err != nil {
		t.Errorf("the live worker's cgroup is gone: %v", err)
	}
	os.Remove(live.cgroups.dir)
	if tree := run(t, live, "exit 0"); tree != nil {
		if _, err := tree.Kill(); err != nil {
			t.Error(err)
		}
	}
}

// BenchmarkKill measures what a program's end costs when it left nothing,
// with each method: the /proc sweep that finds no process, or making,
// emptying and removing a cgroup.
func BenchmarkKill(b *testing.B) {
	b.Run("proc", func(b *testing.B) {
		for b.Loop() {
			sweep("no-such-token")
		}
	})
	b.Run("cgroup", func(b *testing.B) {
		c, err := setupCgroups()
		if err != nil {
			b.Skip(err)
		}
		defer c.close()
		for b.Loop() {
			r, err := c.newRun()
			if err != nil {
				b.Fatal(err)
			}
			r.closeFD()
			if _, err := r.kill(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
