package proctree

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// sweep kills every process whose environment holds token, until none is
// left or a few rounds have passed (a process may fork while it is found).
// It returns how many it killed (one still dying is found again, but
// counted once).
func sweep(token string) int {
	mark := []byte(Variable + "=" + token + "\x00")
	killed := map[int]bool{}
	for range 5 {
		pids := find(mark)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed[pid] = true
			}
		}
	}
	return len(killed)
}

// find lists the live processes whose environment holds mark, but this
// one: their environments are read from /proc (those of other users'
// processes cannot be, and are not ours).
func find(mark []byte) []int {
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
