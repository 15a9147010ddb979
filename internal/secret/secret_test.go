package secret

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string // the secret, or a part of the error
		wantErr bool
	}{
		{"hex with newline", "00112233445566778899aabbccddeeff\n", 0o600, "00112233445566778899aabbccddeeff", false},
		{"owner read-only", "00112233445566778899aabbccddeeff", 0o400, "00112233445566778899aabbccddeeff", false},
		{"group readable", "00112233445566778899aabbccddeeff", 0o640, "chmod 600", true},
		{"world readable", "00112233445566778899aabbccddeeff", 0o604, "chmod 600", true},
		{"too short", "short\n", 0o600, "fewer than 16", true},
		// At the boundary: MinSize bytes are enough, one fewer is not,
		// white space around them not counting.
		{"one byte short", strings.Repeat("k", MinSize-1), 0o600, "holds 15 bytes, fewer than 16", true},
		{"one byte short with white space", " " + strings.Repeat("k", MinSize-1) + "\n", 0o600, "holds 15 bytes, fewer than 16", true},
		{"just long enough", strings.Repeat("k", MinSize), 0o600, strings.Repeat("k", MinSize), false},
		{"just long enough with a newline", strings.Repeat("k", MinSize) + "\n", 0o600, strings.Repeat("k", MinSize), false},
		{"empty", "", 0o600, "fewer than 16", true},
		{"too long", strings.Repeat("x", maxSize+1), 0o600, "over 4096", true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.Repeat("s", i+1))
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			got, err := Read(path)
			switch {
			case tc.wantErr && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Read: %q, %v; want an error with %q", got, err, tc.want)
			case !tc.wantErr && (err != nil || string(got) != tc.want):
				t.Fatalf("Read: %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := Read(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file read without error")
	}
}

// TestReadRefusesFIFOAndOthersFiles: a FIFO is refused, not waited on; a
// file of another user (root aside) is refused, however private its mode.
func TestReadRefusesFIFOAndOthersFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := Read(fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Read(FIFO) = %v, want refused as not a regular file", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read blocked on a FIFO")
	}
	if os.Geteuid() != 0 {
		t.Log("not root: cannot give a file to another user; its check is not tested")
		return
	}
	path := filepath.Join(dir, "theirs")
	if err := os.WriteFile(path, []byte("00112233445566778899aabbccddeeff"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	// Root reads a file another user owns: refused, as that user may read
	// or change it.
	if _, err := Read(path); err == nil || !strings.Contains(err.Error(), "belongs to user 65534") {
		t.Errorf("Read(another user's file) = %v, want refused", err)
	}
}

// TestFlagLoad: --secret-file, else the environment variable, else the
// default file if it exists; --secret-file= turns it off.
func TestFlagLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("00112233445566778899aabbccddeeff"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args     []string
		env      string
		wantFrom string
		wantErr  bool
	}{
		{nil, "", "", false}, // no default file beside the test binary
		{[]string{"--secret-file", file}, "", file, false},
		{nil, file, file, false},
		{[]string{"--secret-file="}, file, "", false},
		{[]string{"--secret-file", filepath.Join(dir, "missing")}, "", "", true},
		{nil, filepath.Join(dir, "missing"), "", true},
	}
	for _, tc := range tests {
		if tc.env != "" {
			t.Setenv(EnvVar, tc.env)
		} else {
			os.Unsetenv(EnvVar)
		}
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		f := AddFlag(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		secret, from, err := f.Load()
		if tc.wantErr {
			if err == nil {
				t.Errorf("%v %s=%q: no error", tc.args, EnvVar, tc.env)
			}
			continue
		}
		if err != nil || from != tc.wantFrom || (from == "") != (secret == nil) {
			t.Errorf("%v %s=%q: secret %q from %q, %v; want from %q", tc.args, EnvVar, tc.env, secret, from, err, tc.wantFrom)
		}
	}
}

func TestStatusToken(t *testing.T) {
	a, b := StatusToken([]byte("00112233445566778899aabbccddeeff")), StatusToken([]byte("00112233445566778899aabbccddeefe"))
	if a == b || len(a) != 32 || strings.Contains(a, "0011") {
		t.Errorf("tokens %q and %q: want 32 hex digits, different for different secrets, not the secret", a, b)
	}
}
