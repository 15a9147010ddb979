package master

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"mapreduce/internal/testutil"
)

// otherFileSystem returns a fresh directory on another file system than
// dir's, or skips the test: /dev/shm is a tmpfs on most Linux machines.
func otherFileSystem(t *testing.T, dir string) string {
	t.Helper()
	var a, b syscall.Stat_t
	if syscall.Stat(dir, &a) != nil || syscall.Stat("/dev/shm", &b) != nil || a.Dev == b.Dev {
		t.Skip("no /dev/shm on another file system than " + dir)
	}
	other, err := os.MkdirTemp("/dev/shm", "mapreduce-commit-test-")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { os.RemoveAll(other) })
	return other
}

// TestCommitAcrossFileSystems: reducer outputs on another file system than
// the output directory are copied into the commit directory, then renamed
// into place within the output directory; a move that fails midway leaves
// neither the commit directory nor a partial file behind.
func TestCommitAcrossFileSystems(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	src := otherFileSystem(t, filepath.Dir(out))
	contents := map[string]string{"input_0": "a\t1\n", "input_1": "b\t2\n"}
	var files []string
	for name, text := range contents {
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.Join(src, name))
	}
	slices.Sort(files)

	t.Run("a missing output fails the move", func(t *testing.T) {
		temp := filepath.Join(out, "_temporary-0")
		err := moveOutputs([]string{files[0], filepath.Join(src, "missing")}, out, temp)
		if err == nil {
			t.Fatal("move of a missing file succeeded")
		}
		// Gone, as the move made it, or empty.
		if got, err := os.ReadDir(out); err == nil && len(got) != 0 {
			t.Errorf("output directory holds %v after a failed move, want nothing", got)
		}
		// The copied output is gone with the commit directory; put it back.
		if err := os.WriteFile(files[0], []byte(contents["input_0"]), 0o644); err != nil {
			t.Fatal(err)
		}
	})

	temp := filepath.Join(out, "_temporary-1")
	if err := moveOutputs(files, out, temp); err != nil {
		t.Fatalf("moveOutputs: %v", err)
	}
	if got := testutil.ListDir(t, temp); !slices.Equal(got, []string{"input_0", "input_1"}) {
		t.Errorf("commit directory holds %v", got)
	}
	if got := testutil.ListDir(t, src); len(got) != 0 {
		t.Errorf("the outputs' old directory still holds %v after the copy", got)
	}
	if _, err := commitOutputs(temp, out, []string{"input_0", "input_1"}); err != nil {
		t.Fatalf("commitOutputs: %v", err)
	}
	if got := testutil.ListDir(t, out); !slices.Equal(got, []string{"_SUCCESS", "input_0", "input_1"}) {
		t.Errorf("output directory holds %v", got)
	}
	for name, text := range contents {
		if data, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(data) != text {
			t.Errorf("%s holds %q (%v), want %q", name, data, err, text)
		}
	}
}

// TestCommitLeftover: a commit directory that cannot be removed once every
// output is in place (a writer nobody can stop keeps adding to it) does
// not undo the commit: the outputs and the marker stay, and the error
// comes back as the leftover, to be logged. Once as the master commits,
// once as a master started again finishes the commit.
func TestCommitLeftover(t *testing.T) {
	old := removeTemp
	removeTemp = func(string) error { return syscall.ENOTEMPTY }
	t.Cleanup(func() { removeTemp = old })
	for _, redo := range []bool{false, true} {
		out := t.TempDir()
		temp := filepath.Join(out, "_temporary-0")
		if err := os.MkdirAll(filepath.Join(temp, ".map-1.attempt-1-2"), 0o755); err != nil {
			t.Fatal(err)
		}
		names := []string{"part-0", ".map-1.attempt-1-2/part-1"}
		for _, name := range names {
			if err := os.WriteFile(filepath.Join(temp, name), []byte(name), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var leftover, err error
		if redo {
			leftover, err = redoCommit(temp, out, names)
		} else {
			leftover, err = commitOutputs(temp, out, names)
		}
		if err != nil || leftover == nil {
			t.Fatalf("redo %v: err %v, leftover %v; want no error and the leftover", redo, err, leftover)
		}
		if got := testutil.ListDir(t, out); !slices.Equal(got, []string{"_SUCCESS", "_temporary-0", "part-0", "part-1"}) {
			t.Errorf("redo %v: output directory holds %v, want the outputs, the marker and what was left", redo, got)
		}
	}
}
