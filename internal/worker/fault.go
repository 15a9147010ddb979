package worker

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"mapreduce/internal/program"
)

// A task's failure is the worker's own, not its program's, when the worker
// could not do its part on this host: write its files, read its disk,
// start a program that the master found when the job was submitted. Such a
// failure says so (protocol.FaultWorker): the master runs the task on
// another worker and counts the failure against this one, rather than
// failing the job, as it does when the program fails (a non-zero exit, a
// signal).

// ownFault marks an error as the worker's own.
type ownFault struct{ error }

func (f ownFault) Unwrap() error { return f.error }

// own marks err, if any, as the worker's own fault.
func own(err error) error {
	if err == nil {
		return nil
	}
	return ownFault{err}
}

// hostErrnos are the errors of a host's disk and of its limits, whatever
// the worker was doing when it met them: no program causes them on
// another host. (A program's own are not in the worker's errors: it exits
// non-zero, or dies of a signal.)
var hostErrnos = []error{syscall.EROFS, syscall.ENOSPC, syscall.EDQUOT, syscall.EIO,
	syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM}

// isOwnFault reports whether err is the worker's own fault: marked so
// where the worker met it, or one of hostErrnos anywhere in its chain.
func isOwnFault(err error) bool {
	var f ownFault
	if errors.As(err, &f) {
		return true
	}
	for _, e := range hostErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// startFailedHere reports whether err, from running program exe, is a
// failure to start it that this host is to blame for: exec was refused
// (EACCES: a noexec mount, a user that may not run it; EAGAIN, ENOMEM:
// the host's process or memory limit), or exe is missing
// here though the master found it. A missing interpreter (exe is here,
// its #! line names what is not) is the program's: a typo there is the
// job's on every worker, and must not exclude them all.
func startFailedHere(exe string, err error) bool {
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Op != "fork/exec" {
		return false
	}
	switch {
	case errors.Is(pe.Err, syscall.EACCES), errors.Is(pe.Err, syscall.EAGAIN), errors.Is(pe.Err, syscall.ENOMEM):
		// Refused, or the host's process or memory limit.
		return true
	case errors.Is(pe.Err, syscall.ENOENT):
		return program.Check(exe) != nil
	}
	return false
}

// diskFull reports whether the file system that holds path has no space
// left for it: a program whose output write failed on a full disk exits
// non-zero, and its failure is the disk's.
func diskFull(path string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
		return false
	}
	free := st.Bavail
	if os.Geteuid() == 0 {
		free = st.Bfree // root may write into the reserved blocks
	}
	return free == 0 || st.Files > 0 && st.Ffree == 0
}
