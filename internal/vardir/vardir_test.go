package vardir

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOwnersApart: a master's var and a worker's local directory are
// each refused by the other kind, untouched; each kind's marker names it.
func TestOwnersApart(t *testing.T) {
	wd := t.TempDir()
	for _, tt := range []struct{ made, by Owner }{{Master, Worker}, {Worker, Master}} {
		dir := filepath.Join(t.TempDir(), "d")
		if err := Prepare(dir, wd, tt.made); err != nil {
			t.Fatal(err)
		}
		marker, err := os.ReadFile(filepath.Join(dir, tt.made.Marker))
		if err != nil || !strings.Contains(string(marker), "MapReduce "+tt.made.Name) {
			t.Errorf("%s's marker: %q, %v", tt.made.Name, marker, err)
		}
		err = Prepare(dir, wd, tt.by)
		if err == nil || !strings.Contains(err.Error(), "not made by a "+tt.by.Name) || !strings.Contains(err.Error(), tt.by.Flag) {
			t.Errorf("a %s's directory prepared by a %s: %v, want refused", tt.made.Name, tt.by.Name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, tt.made.Marker)); err != nil {
			t.Errorf("after the refusal: %v", err)
		}
	}
}

// TestOpenLocks: a second Open of a locked directory is refused and names
// the pid that holds it; a released one opens again; a wipe keeps the lock
// file.
func TestOpenLocks(t *testing.T) {
	wd := t.TempDir()
	dir := filepath.Join(t.TempDir(), "var")
	l, err := Open(dir, wd, Master)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, wd, Master)
	if err == nil || !strings.Contains(err.Error(), "in use by master pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second Open: %v, want refused naming pid %d", err, os.Getpid())
	}
	os.WriteFile(filepath.Join(dir, "job-0"), nil, 0o644)
	if err := Wipe(dir, Master); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, LockFile)); err != nil {
		t.Fatalf("wipe removed the lock file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "job-0")); err == nil {
		t.Fatal("wipe kept job-0")
	}
	l.Release()
	l2, err := Open(dir, wd, Master)
	if err != nil {
		t.Fatalf("Open after Release: %v", err)
	}
	l2.Release()
}
