// Package secret finds and reads the cluster's shared secret, which
// authenticates every message (protocol.Auth), and derives the status
// page's token from it. One rule for all three commands: --secret-file,
// else $MAPREDUCE_SECRET_FILE, else .mapreduce-secret in the directory
// above the command's own (the repository that start.sh built bin/ in, and
// made the secret in).
package secret

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"
)

// EnvVar names the secret file when --secret-file is not given.
const EnvVar = "MAPREDUCE_SECRET_FILE"

// DefaultName is the secret file start.sh makes next to bin/.
const DefaultName = ".mapreduce-secret"

// MinSize is the least a secret may hold, in bytes: 128 bits as raw bytes;
// start.sh writes 64 hex digits (256 bits).
const MinSize = 16

// maxSize bounds what is read of a secret file.
const maxSize = 4096

// Flag is the --secret-file flag of a command.
type Flag struct {
	fs   *pflag.FlagSet
	path string
}

// AddFlag adds --secret-file to fs.
func AddFlag(fs *pflag.FlagSet) *Flag {
	f := &Flag{fs: fs}
	fs.StringVar(&f.path, "secret-file", "", "file holding the cluster's shared secret, which authenticates every message (default $"+EnvVar+", else "+DefaultName+" beside the directory of this program, if it exists); --secret-file= for none")
	return f
}

// Load reads the secret the flag names, after parsing; from says where it
// came from. A nil secret means none: the reference protocol, unauthenticated.
func (f *Flag) Load() (secret []byte, from string, err error) {
	path, given := f.path, f.fs.Changed("secret-file")
	if !given {
		path, given = os.LookupEnv(EnvVar)
	}
	if !given {
		path = defaultPath()
		if _, err := os.Stat(path); path == "" || errors.Is(err, fs.ErrNotExist) {
			return nil, "", nil
		}
	}
	if path == "" {
		return nil, "", nil
	}
	secret, err = Read(path)
	return secret, path, err
}

// defaultPath is DefaultName in the parent of the executable's directory,
// or "" if the executable cannot be found.
func defaultPath() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return filepath.Join(filepath.Dir(filepath.Dir(exe)), DefaultName)
}

// Read reads a secret file: its bytes without surrounding white space. It
// refuses a file that others than its owner may read or write, or that
// another user (root aside) owns, as ssh refuses such a private key, and a
// secret shorter than MinSize. It opens without blocking, so that a FIFO
// is refused, not waited on.
func Read(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("secret file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("secret file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("secret file %s has mode %04o: others than its owner may read or change it; chmod 600 %s", path, perm, path)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return nil, fmt.Errorf("secret file %s belongs to user %d, not to this user (%d): its owner may read or change it", path, st.Uid, os.Geteuid())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("secret file %s: %w", path, err)
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("secret file %s is over %d bytes", path, maxSize)
	}
	secret := bytes.TrimSpace(data)
	if len(secret) < MinSize {
		return nil, fmt.Errorf("secret file %s holds %d bytes, fewer than %d: make one with  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > %s", path, len(secret), MinSize, path)
	}
	return secret, nil
}

// StatusToken is the token that opens the status page of a master with
// secret: derived from it, so that a browser holding the token cannot make
// messages.
func StatusToken(secret []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("mapreduce status page token v1"))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}
