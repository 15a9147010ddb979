// Package vardir readies a directory that a process wipes when it starts:
// the master's --var, a worker's --local-dir. It wipes only a directory it
// marked as its own kind's, so that a mistyped flag never wipes someone's
// files, and the two kinds have markers of their own, so that a worker
// never wipes a master's var nor a master a worker's directory.
package vardir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"mapreduce/internal/jobspec"
)

// Owner is the kind of process a directory is for.
type Owner struct {
	Name   string // "master"
	Flag   string // the flag that names the directory: "--var"
	Dir    string // what the directory is called in errors: "var directory"
	Marker string // the file that marks the directory as the owner's
}

// The two owners.
var (
	Master = Owner{Name: "master", Flag: "--var", Dir: "var directory", Marker: ".mapreduce-var"}
	Worker = Owner{Name: "worker", Flag: "--local-dir", Dir: "local directory", Marker: ".mapreduce-worker-local"}
)

// LockFile, in a directory that Open locked, holds the pid of the process
// that holds the lock. Wipes keep it: a lock on a removed file locks
// nothing.
const LockFile = ".mapreduce-lock"

// Prepare readies dir for owner, which wipes it. Only a directory that is
// the owner's is wiped: one that holds owner.Marker is emptied; a missing
// one is made and marked, and so is an empty one. Any other is refused,
// and so is one that holds workDir, the process's working directory
// (`--var .`), marker or not.
func Prepare(dir, workDir string, owner Owner) error {
	if err := claim(dir, workDir, owner); err != nil {
		return err
	}
	return Wipe(dir, owner)
}

// Lock is a directory's lock, held until Release.
type Lock struct{ f *os.File }

// Open claims dir for owner as Prepare does, without wiping it, and locks
// it (flock): a second process that opens it is refused, with the pid of
// the one that holds it, until this one releases it or exits.
func Open(dir, workDir string, owner Owner) (*Lock, error) {
	if err := claim(dir, workDir, owner); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", owner.Dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s %s is in use by %s pid %s (it holds the lock on %s): stop that %s, or give this one another %s",
				owner.Flag, dir, owner.Name, strings.TrimSpace(string(holder)), path, owner.Name, owner.Flag)
		}
		return nil, fmt.Errorf("lock %s: %w", owner.Dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", owner.Dir, err)
		}
	}
	return &Lock{f: f}, nil
}

// Release releases the lock.
func (l *Lock) Release() {
	if l != nil && l.f != nil {
		l.f.Close() // closing the last descriptor releases a flock
		l.f = nil
	}
}

// claim makes dir owner's if it is missing or empty, and refuses it if it
// holds workDir or is not owner's.
func claim(dir, workDir string, owner Owner) error {
	if jobspec.Within(workDir, dir) || jobspec.Within(jobspec.RealPath(workDir), jobspec.RealPath(dir)) {
		return fmt.Errorf("%s %s holds the %s's working directory %s, which the %s would wipe: give it a directory of its own, such as ./var",
			owner.Flag, dir, owner.Name, workDir, owner.Name)
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", owner.Dir, err)
		}
	case err != nil:
		return fmt.Errorf("%s: %w", owner.Dir, err)
	case slices.ContainsFunc(entries, func(e fs.DirEntry) bool { return e.Name() == owner.Marker && e.Type().IsRegular() }):
		return nil
	case len(entries) > 0:
		return fmt.Errorf("%s %s is not empty and was not made by a %s (it holds no %s file): the %s will not wipe it; remove it or choose another directory",
			owner.Flag, dir, owner.Name, owner.Marker, owner.Name)
	}
	marker := fmt.Sprintf("This directory was made by the MapReduce %s, which may remove anything in it.\n", owner.Name)
	if err := os.WriteFile(filepath.Join(dir, owner.Marker), []byte(marker), 0o644); err != nil {
		return fmt.Errorf("mark %s: %w", owner.Dir, err)
	}
	return nil
}

// Wipe removes everything in dir, owner's, but its marker, its lock and
// the names in keep.
func Wipe(dir string, owner Owner, keep ...string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", owner.Dir, err)
	}
	for _, e := range entries {
		if e.Name() == owner.Marker || e.Name() == LockFile || slices.Contains(keep, e.Name()) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("wipe %s: %w", owner.Dir, err)
		}
	}
	return nil
}
