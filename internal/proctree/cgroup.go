package proctree

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// killTimeout bounds how long Kill waits for a cgroup's processes to die.
const killTimeout = 10 * time.Second

// cgroups is the worker's cgroup, made under the one it runs in, which
// holds a cgroup per program run. No controller is enabled in it: the
// cgroups only group processes, and so the rule that a cgroup with
// controllers enabled for its children holds no processes never applies.
type cgroups struct {
	dir string
	// lock holds an exclusive flock on dir for the worker's life: the
	// kernel drops it when the worker dies, killed with -9 or not, and
	// another worker, in whatever pid namespace, tells a dead worker's
	// cgroup by it (removeStale).
	lock *os.File
	// moved: programs cannot start in their cgroup (clone3 with
	// CLONE_INTO_CGROUP), they are moved in once started.
	moved    bool
	whyMoved error
	// noKill: the kernel has no cgroup.kill (before 5.14); the processes
	// are frozen, then killed one by one.
	noKill bool
	next   atomic.Uint64

	mu sync.Mutex
	// left are the run cgroups Kill could not remove, for close.
	left []*cgroupRun
}

// setupCgroups makes the worker's cgroup, or says why it cannot.
func setupCgroups() (*cgroups, error) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/cgroup: %w", err)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/mountinfo: %w", err)
	}
	parent, err := cgroupDir(string(self), string(mounts))
	if err != nil {
		return nil, err
	}
	removeStale(parent)
	b := make([]byte, 4)
	rand.Read(b) // never fails (crypto/rand)
	// Several workers may run in one process (tests), and a pid may be
	// that of a worker that died, whose cgroup is still there.
	c := &cgroups{dir: filepath.Join(parent, fmt.Sprintf("mapreduce-worker-%d-%s", os.Getpid(), hex.EncodeToString(b)))}
	if err := os.Mkdir(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("make a cgroup: %w", err)
	}
	lock, err := lockDir(c.dir)
	if err != nil {
		os.Remove(c.dir)
		return nil, fmt.Errorf("lock the worker's cgroup: %w", err)
	}
	c.lock = lock
	if err := c.probe(); err != nil {
		os.Remove(c.dir)
		lock.Close()
		return nil, err
	}
	return c, nil
}

// lockDir opens dir and takes an exclusive flock on it, without waiting.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// probe checks that the worker's cgroup can hold processes, and how: it
// starts a process in a run cgroup, one that fails to exec a program that
// cannot exist (a file in cgroupfs), so that it runs nothing.
func (c *cgroups) probe() error {
	if _, err := os.Stat(filepath.Join(c.dir, "cgroup.procs")); err != nil {
		return fmt.Errorf("%s is not a cgroup: %w", c.dir, err)
	}
	_, err := os.Stat(filepath.Join(c.dir, "cgroup.kill"))
	c.noKill = err != nil
	run, err := c.newRun()
	if err != nil {
		return fmt.Errorf("make a cgroup: %w", err)
	}
	defer run.remove()
	_, err = syscall.ForkExec(filepath.Join(run.dir, "no-such-program"), []string{"probe"},
		&syscall.ProcAttr{Sys: &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(run.fd.Fd())}})
	run.closeFD()
	switch {
	case errors.Is(err, syscall.ENOENT):
		// The process started in the cgroup, and failed to exec, as it should.
	case errors.Is(err, syscall.ENOSYS), errors.Is(err, syscall.EINVAL):
		// No clone3 (before Linux 5.3, or a seccomp filter refuses it), or
		// no CLONE_INTO_CGROUP (before 5.7): move each program in.
		c.moved, c.whyMoved = true, err
	default:
		return fmt.Errorf("start a process in a cgroup: %w", err)
	}
	return nil
}

// describe says how programs are tracked, for the worker's start log.
func (c *cgroups) describe() string {
	s := "cgroup v2: each program runs in a cgroup of its own under " + c.dir
	if c.moved {
		s += ", moved in once started (starting it there failed: " + c.whyMoved.Error() + "), and what it started before is found through /proc, by the " + Variable + " in its environment"
	}
	if c.noKill {
		s += "; no cgroup.kill: its processes are frozen, then killed one by one"
	}
	return s
}

// cgroupDir finds the directory of this process's cgroup v2 from the
// contents of /proc/self/cgroup and /proc/self/mountinfo.
func cgroupDir(self, mountinfo string) (string, error) {
	path := ""
	for line := range strings.Lines(self) {
		if p, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "0::"); ok {
			path = p
		}
	}
	if !strings.HasPrefix(path, "/") {
		return "", errors.New("this process is in no cgroup v2 (/proc/self/cgroup has no 0:: line)")
	}
	mounted := false
	for line := range strings.Lines(mountinfo) {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
		before, after, ok := strings.Cut(strings.TrimRight(line, "\n"), " - ")
		fields, fs := strings.Fields(before), strings.Fields(after)
		if !ok || len(fields) < 5 || len(fs) < 1 || fs[0] != "cgroup2" {
			continue
		}
		mounted = true
		root, point := unescape(fields[3]), unescape(fields[4])
		rel, ok := strings.CutPrefix(path, root)
		if root == "/" {
			rel, ok = path, true
		}
		if ok && (rel == "" || strings.HasPrefix(rel, "/")) {
			return filepath.Join(point, rel), nil
		}
	}
	if !mounted {
		return "", errors.New("no cgroup2 file system is mounted")
	}
	return "", fmt.Errorf("this process's cgroup %s is not under a cgroup2 mount", path)
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeStale removes the cgroups in parent of workers that died (killed
// with -9, say), killing what their programs left running in them. A
// worker's cgroup is its own while the worker holds its lock, whatever
// pid namespace it runs in; one whose lock can be taken is a dead
// worker's. (A cgroup made but not locked yet, a moment at a worker's
// start, looks dead: the worker makes it again if it is gone, newRun.)
func removeStale(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, "mapreduce-worker-*"))
	for _, dir := range dirs {
		lock, err := lockDir(dir)
		if err != nil {
			continue // a live worker's, or not ours to touch
		}
		runs, _ := filepath.Glob(filepath.Join(dir, "run-*"))
		for _, run := range runs {
			stale := &cgroupRun{c: &cgroups{noKill: !exists(filepath.Join(run, "cgroup.kill"))}, dir: run}
			if pids, err := stale.procs(); err == nil && len(pids) > 0 {
				stale.killAll()
			}
			stale.remove()
		}
		os.Remove(dir)
		lock.Close()
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// newRun makes the cgroup of one program run.
func (c *cgroups) newRun() (*cgroupRun, error) {
	r := &cgroupRun{c: c, dir: filepath.Join(c.dir, "run-"+strconv.FormatUint(c.next.Add(1), 10))}
	err := os.Mkdir(r.dir, 0o755)
	if errors.Is(err, fs.ErrNotExist) {
		// Another worker that took this one for dead removed its cgroup
		// while it was empty (removeStale).
		if err = os.Mkdir(c.dir, 0o755); err == nil || errors.Is(err, fs.ErrExist) {
			err = os.Mkdir(r.dir, 0o755)
		}
	}
	if err != nil {
		return nil, err
	}
	fd, err := os.Open(r.dir)
	if err != nil {
		os.Remove(r.dir)
		return nil, err
	}
	r.fd = fd
	return r, nil
}

// close kills what is left in the worker's cgroup and removes it.
func (c *cgroups) close() error {
	c.mu.Lock()
	left := c.left
	c.left = nil
	c.mu.Unlock()
	var errs []error
	for _, r := range left {
		if _, err := r.kill(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(c.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove the worker's cgroup: %w", err))
	}
	c.lock.Close()
	return errors.Join(errs...)
}

// cgroupRun is the cgroup of one program run.
type cgroupRun struct {
	c   *cgroups
	dir string
	fd  *os.File // open until the program has started
}

func (r *cgroupRun) closeFD() {
	if r.fd != nil {
		r.fd.Close()
		r.fd = nil
	}
}

// move moves process pid into the cgroup.
func (r *cgroupRun) move(pid int) error {
	err := os.WriteFile(filepath.Join(r.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
	if errors.Is(err, syscall.ESRCH) {
		return nil // it has ended already
	}
	return err
}

// procs lists the processes in the cgroup.
func (r *cgroupRun) procs() ([]int, error) {
	b, err := os.ReadFile(filepath.Join(r.dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for f := range strings.FieldsSeq(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// kill kills every process in the cgroup, waits until they are gone and
// removes it. It returns how many there were. A cgroup it cannot remove is
// kept for close.
func (r *cgroupRun) kill() (int, error) {
	pids, err := r.procs()
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // gone already, and what was in it
	}
	if err == nil && len(pids) > 0 {
		err = r.killAll()
	}
	if err == nil {
		err = r.remove()
	}
	if err != nil {
		r.c.mu.Lock()
		r.c.left = append(r.c.left, r)
		r.c.mu.Unlock()
		return len(pids), fmt.Errorf("kill the processes of cgroup %s: %w", r.dir, err)
	}
	return len(pids), nil
}

// killAll kills every process in the cgroup and waits until none is left.
func (r *cgroupRun) killAll() error {
	deadline := time.Now().Add(killTimeout)
	if !r.c.noKill {
		if err := os.WriteFile(filepath.Join(r.dir, "cgroup.kill"), []byte("1"), 0); err != nil {
			return err
		}
	} else {
		// Frozen, the processes cannot fork while they are killed; a
		// frozen process still dies of SIGKILL. (No cgroup.freeze before
		// 5.2: then the rounds below catch the forks.)
		os.WriteFile(filepath.Join(r.dir, "cgroup.freeze"), []byte("1"), 0)
	}
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		pids, err := r.procs()
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d processes still there after %s", len(pids), killTimeout)
		}
		if r.c.noKill {
			for _, pid := range pids {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(wait)
	}
}

// remove removes the emptied cgroup. A process that has just died may
// hold it a moment longer.
func (r *cgroupRun) remove() error {
	r.closeFD()
	deadline := time.Now().Add(killTimeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		err := os.Remove(r.dir)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
	}
}
