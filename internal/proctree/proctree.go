// Package proctree ends every process a program started, however it left
// the program's process group: a child that called setsid, a daemon that
// forked twice, one that emptied its environment.
//
// Where the worker may make cgroups (cgroup v2, a directory it can write),
// each program starts in a cgroup of its own, and Kill kills the cgroup
// whole: nothing a program starts can leave it. Otherwise each program runs
// with a token in its environment, which its descendants inherit, and Kill
// kills its process group and then every process whose environment holds
// the token, found through /proc; a process that empties its environment
// escapes that. A Tracker makes the choice, once per worker.
package proctree

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// Variable is the environment variable that holds a program's token, with
// either method: programs see the same environment wherever they run.
const Variable = "MAPREDUCE_PROCESS_TREE"

// Methods, as Tracker.Method names them in the worker's start log.
const (
	// MethodCgroup: each program starts in a cgroup of its own.
	MethodCgroup = "cgroup"
	// MethodCgroupMoved: each program is moved into a cgroup of its own
	// as soon as it has started (the kernel, or a seccomp filter, refuses
	// to start it there); the /proc sweep catches what it started before.
	MethodCgroupMoved = "cgroup, moved after start, and /proc"
	// MethodProc: process group, then the /proc sweep for the token.
	MethodProc = "/proc"
)

// Tracker starts a worker's programs so that Kill can end each one's
// processes. It is safe for concurrent use.
type Tracker struct {
	cgroups *cgroups // nil: the /proc method
	detail  string
}

// New chooses how to track programs' processes: in cgroups, unless
// procOnly or the worker may not make them (the reason is in Detail).
func New(procOnly bool) *Tracker {
	if procOnly {
		return &Tracker{detail: procDetail("not tried (--no-cgroups)")}
	}
	c, err := setupCgroups()
	if err != nil {
		return &Tracker{detail: procDetail(err.Error())}
	}
	return &Tracker{cgroups: c, detail: c.describe()}
}

func procDetail(why string) string {
	return "process group, then /proc: every process whose environment holds the program's " + Variable + "; no cgroup: " + why
}

// Method names the method in use: MethodCgroup, MethodCgroupMoved or
// MethodProc.
func (t *Tracker) Method() string {
	switch {
	case t.cgroups == nil:
		return MethodProc
	case t.cgroups.moved:
		return MethodCgroupMoved
	}
	return MethodCgroup
}

// Detail says how, and why not cgroups when they are not used.
func (t *Tracker) Detail() string { return t.detail }

// Close removes the worker's cgroup, killing what is left in it; call it
// once every program has been killed.
func (t *Tracker) Close() error {
	if t.cgroups == nil {
		return nil
	}
	return t.cgroups.close()
}

// Tree is the processes of one run of a program.
type Tree struct {
	token string
	// pgid is the program's process group, if it made one.
	pgid   int
	cgroup *cgroupRun
	// sweep: the /proc sweep is needed (no cgroup, or one the program
	// entered after it started).
	sweep bool
	// cgroupErr says why the program is not in a cgroup, where it should be.
	cgroupErr error
}

// Start starts cmd as Cmd.Start does, in a tree of its own: it adds the
// token to cmd's environment (cmd.Env, or this process's) and, with
// cgroups, the cgroup to cmd.SysProcAttr, whose other attributes (Setpgid,
// Pdeathsig) it keeps. Once cmd has been waited for, Kill the tree.
func (t *Tracker) Start(cmd *exec.Cmd) (*Tree, error) {
	b := make([]byte, 12)
	rand.Read(b) // never fails (crypto/rand)
	tree := &Tree{token: hex.EncodeToString(b), sweep: t.cgroups == nil}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, Variable+"="+tree.token)
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if t.cgroups != nil {
		// A program without its cgroup still runs, tracked through /proc.
		run, err := t.cgroups.newRun()
		tree.cgroup, tree.cgroupErr, tree.sweep = run, err, err != nil || t.cgroups.moved
		if err == nil && !t.cgroups.moved {
			cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(run.fd.Fd())
		}
	}
	err := cmd.Start()
	if tree.cgroup != nil {
		tree.cgroup.closeFD()
	}
	if err != nil {
		if tree.cgroup != nil {
			tree.cgroup.remove()
		}
		return nil, err
	}
	if cmd.SysProcAttr.Setpgid {
		tree.pgid = cmd.Process.Pid
	}
	if tree.cgroup != nil && t.cgroups.moved {
		tree.cgroupErr = tree.cgroup.move(cmd.Process.Pid)
	}
	return tree, nil
}

// Kill kills every process of the tree that is left, and removes its
// cgroup. It returns how many processes it found left running: those in the
// cgroup, or, without one, those outside the program's process group. An
// error says what may have escaped.
func (tr *Tree) Kill() (int, error) {
	killed := 0
	var errs []error
	if tr.cgroup != nil {
		n, err := tr.cgroup.kill()
		killed += n
		errs = append(errs, err)
	}
	if tr.sweep {
		if tr.pgid > 0 {
			syscall.Kill(-tr.pgid, syscall.SIGKILL)
		}
		killed += sweep(tr.token)
	}
	if tr.cgroupErr != nil {
		errs = append(errs, fmt.Errorf("the program ran in no cgroup of its own, only /proc tracked it: %w", tr.cgroupErr))
	}
	return killed, errors.Join(errs...)
}
