// Package atomicfile writes files that appear under their name whole or not
// at all: the bytes go to a temporary file beside the target, renamed onto
// it when complete.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// File is a file being written for its target.
type File struct {
	*os.File
	target string
}

// Create opens a new temporary file beside target. It is made with mode
// 0666 less the umask, as a shell redirection would make target, not the
// 0600 of os.CreateTemp: outputs end up in the user's directories.
func Create(target string) (*File, error) {
	prefix := filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".tmp-")
	for range 100 {
		f, err := os.OpenFile(prefix+strconv.FormatUint(rand.Uint64(), 36), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", target, err)
		}
		return &File{File: f, target: target}, nil
	}
	return nil, fmt.Errorf("create %s: no free temporary name", target)
}

// Target is the name the file takes on Commit.
func (f *File) Target() string { return f.target }

// Commit closes the file and renames it onto its target.
func (f *File) Commit() error {
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("close %s: %w", f.target, err)
	}
	if err := os.Rename(f.Name(), f.target); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("rename into %s: %w", f.target, err)
	}
	return nil
}

// Abort closes and removes the temporary file; the target is untouched.
func (f *File) Abort() {
	f.Close()
	os.Remove(f.Name())
}
