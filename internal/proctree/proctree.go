// Package proctree ends every process a program started, however it left
// the program's process group: a child that called setsid, a daemon that
// forked twice. Each program runs with a token in its environment, which
// its descendants inherit; when the program ends, Kill kills its process
// group and then every process whose environment holds the token, found
// through /proc. (A process that empties its environment escapes; a cgroup
// per task would not, but a worker may not be allowed to make one.)
package proctree

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Variable is the environment variable that holds a program's token.
const Variable = "MAPREDUCE_PROCESS_TREE"

// Method says how process trees are found, for the worker's start log.
const Method = "process group, then /proc: every process whose environment holds the task's " + Variable

// Tree is the processes of one run of a program.
type Tree struct{ token string }

// New returns a tree with a token of its own.
func New() Tree {
	b := make([]byte, 12)
	rand.Read(b) // never fails (crypto/rand)
	return Tree{token: hex.EncodeToString(b)}
}

// Env is the variable that marks the program's environment, and so its
// descendants'.
func (t Tree) Env() string { return Variable + "=" + t.token }

// Kill kills process group pgid (the program's, if it made one) and every
// process that holds the tree's token, until none is left or a few rounds
// have passed (a process may fork while it is found). It returns how many
// processes it killed outside the group.
func (t Tree) Kill(pgid int) int {
	if pgid > 0 {
		syscall.Kill(-pgid, syscall.SIGKILL)
	}
	mark := []byte(t.Env() + "\x00")
	killed := 0
	for range 5 {
		pids := t.find(mark)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed++
			}
		}
	}
	return killed
}

// find lists the live processes whose environment holds mark, but this
// one: their environments are read from /proc (those of other users'
// processes cannot be, and are not ours).
func (t Tree) find(mark []byte) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	self := os.Getpid()
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !bytes.Contains(append(env, 0), mark) {
			continue
		}
		if zombie(d) {
			continue // dead already; its parent reaps it
		}
		pids = append(pids, pid)
	}
	return pids
}

// zombie reports whether the process at /proc dir has ended.
func zombie(dir string) bool {
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses and may
	// hold any byte.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X'
}
