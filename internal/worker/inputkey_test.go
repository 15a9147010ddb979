package worker

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"mapreduce/internal/split"
	"mapreduce/protocol"
)

// TestKeyedReader: every line of a packed split comes with its own file's
// path, whatever the reads' sizes (from the split, or by the program), a
// file without a final newline included.
func TestKeyedReader(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	os.WriteFile(a, []byte("one\ntwo\n"), 0o644)
	os.WriteFile(b, []byte("three\nfour"), 0o644)
	os.WriteFile(c, []byte("five\n"), 0o644)
	ranges := []protocol.InputRange{{File: a, Length: 8}, {File: b, Length: 10}, {File: c, Length: 5}}
	want := a + "\tone\n" + a + "\ttwo\n" + b + "\tthree\n" + b + "\tfour\n" + c + "\tfive\n"
	for _, small := range []string{"", "in", "out"} {
		r := split.NewReader(ranges)
		var src io.Reader = r
		if small == "in" {
			src = iotest.OneByteReader(r)
		}
		var keyed io.Reader = newKeyedReader(src, r.File)
		if small == "out" {
			keyed = iotest.OneByteReader(keyed)
		}
		got, err := io.ReadAll(keyed)
		if err != nil || string(got) != want {
			t.Errorf("one byte at a time %q: read %q, %v; want %q", small, got, err, want)
		}
	}
}
