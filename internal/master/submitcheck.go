package master

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"mapreduce/internal/jobspec"
	"mapreduce/protocol"
)

// checkSubmitted checks a job's files as it is submitted, whether or not a
// worker is up, so that a typo is refused at once rather than found when
// the job starts: the input directory must be a directory the master can
// read, the job's working directory must be one, each program must exist
// and be executable (found as a worker finds it: program.Find), and the output directory must be fit (checkOutputDir)
// and writable, or makeable where it is missing. Nothing is made. The job
// is checked again when it starts (ScanInput): a job queued before it may
// fill the same output directory, and files may change meanwhile.
func checkSubmitted(spec protocol.NewMasterJob, varDir string) error {
	if err := checkInputDir(spec.InputDirectory); err != nil {
		return err
	}
	if err := checkWorkDir(spec.WorkDir); err != nil {
		return err
	}
	for _, exe := range jobspec.Programs(spec) {
		if err := checkExecutable(exe, spec.WorkDir); err != nil {
			return err
		}
	}
	if err := checkOutputDir(spec.InputDirectory, spec.OutputDirectory, varDir); err != nil {
		return err
	}
	return checkMakeable(spec.OutputDirectory)
}

// checkInputDir reports an input directory that is missing, not a
// directory, or not readable. It reads one entry, not the listing: a
// directory may hold many files.
func checkInputDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("input directory: %w", err)
	}
	defer f.Close()
	if _, err := f.ReadDir(1); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("input directory %s: %w", dir, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the path a *fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkMakeable reports an output directory that the master could not
// write into: one that exists and is not writable, or, where it is
// missing, whose nearest existing parent is not a directory it may
// write into.
func checkMakeable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		switch {
		case (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) && d != filepath.Dir(d):
			continue
		case err != nil:
			return fmt.Errorf("output directory: %w", err)
		case !info.IsDir():
			return fmt.Errorf("output directory %s: %s is not a directory", dir, d)
		}
		if err := syscall.Access(d, 0x2|0x1); err != nil { // W_OK | X_OK
			if d == dir {
				return fmt.Errorf("output directory %s: not writable: %w", dir, err)
			}
			return fmt.Errorf("output directory %s: cannot be made in %s: %w", dir, d, err)
		}
		return nil
	}
}
