package master

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"mapreduce/internal/layout"
)

// TestSuccessMarkerWrittenLast watches the output directory with inotify
// while a commit puts the outputs in place: the success marker appears
// after every output, so that a reader who sees it sees them all.
func TestSuccessMarkerWrittenLast(t *testing.T) {
	dir := t.TempDir()
	src, out := filepath.Join(dir, "reducer-output"), filepath.Join(dir, "out")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	names := []string{"input_0", "input_1", "input_2"}
	var files []string
	for _, name := range names {
		files = append(files, filepath.Join(src, name))
		if err := os.WriteFile(files[len(files)-1], []byte(name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	temp := filepath.Join(out, "_temporary-0")
	if err := moveOutputs(files, out, temp); err != nil {
		t.Fatalf("moveOutputs: %v", err)
	}

	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Skipf("no inotify: %v", err)
	}
	defer syscall.Close(fd)
	if _, err := syscall.InotifyAddWatch(fd, out, syscall.IN_CREATE|syscall.IN_MOVED_TO); err != nil {
		t.Fatal(err)
	}
	if _, err := commitOutputs(temp, out, names); err != nil {
		t.Fatalf("commitOutputs: %v", err)
	}
	// The events are queued by the time commitOutputs returns.
	appeared := inotifyNames(t, fd)
	want := append(slices.Clone(names), layout.SuccessMarker)
	if !slices.Equal(appeared, want) {
		t.Errorf("names appeared in the output directory in the order %v, want %v: the marker after every output", appeared, want)
	}
}

// inotifyNames reads the events queued on fd and returns the name each
// carries, in order.
func inotifyNames(t *testing.T, fd int) []string {
	t.Helper()
	var names []string
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.Read(fd, buf)
		if errors.Is(err, syscall.EAGAIN) {
			return names
		}
		if err != nil {
			t.Fatalf("read inotify events: %v", err)
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			// struct inotify_event: wd, mask, cookie, len, then len
			// bytes of name, padded with NULs.
			size := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+size]
			names = append(names, string(bytes.TrimRight(name, "\x00")))
			off += syscall.SizeofInotifyEvent + size
		}
	}
}
