package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"mapreduce/internal/testutil"
)

func TestCommit(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "out")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(target)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("new"); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(target); string(data) != "old" {
		t.Errorf("target reads %q before Commit, want the old content", data)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(target); string(data) != "new" {
		t.Errorf("target reads %q after Commit, want %q", data, "new")
	}
	if got := testutil.ListDir(t, dir); !slices.Equal(got, []string{"out"}) {
		t.Errorf("directory holds %q, want the target alone", got)
	}
}

// TestMode: a committed file has the mode a shell redirection gives a new
// file (0666 less the umask), not os.CreateTemp's 0600.
func TestMode(t *testing.T) {
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	want, err := os.Stat(probe)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := os.Stat(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Mode() != want.Mode() {
		t.Errorf("mode %v, want %v", got.Mode(), want.Mode())
	}
}

func TestAbort(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("partial")
	f.Abort()
	if got := testutil.ListDir(t, dir); len(got) != 0 {
		t.Errorf("directory holds %q after Abort, want nothing", got)
	}
}

func TestCreateMissingDirectory(t *testing.T) {
	_, err := Create(filepath.Join(t.TempDir(), "missing", "out"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Create in a missing directory: %v, want an fs.ErrNotExist", err)
	}
}
