package e2e

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelpAndUsageErrors: --help prints the synopsis and the flags to
// stdout and exits 0, for every command; a usage error prints the error
// first, then one line pointing at --help, to stderr, and exits 2.
func TestHelpAndUsageErrors(t *testing.T) {
	run := func(name string, args ...string) (stdout, stderr string, code int) {
		cmd := exec.Command(filepath.Join(binDir, name), args...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out.String(), errOut.String(), code
	}
	for _, name := range []string{"master", "worker", "sendjob"} {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := run(name, "--help")
			if code != 0 || !strings.HasPrefix(stdout, "usage: "+name) || !strings.Contains(stdout, "--log-level") && name != "sendjob" || stderr != "" {
				t.Errorf("--help: exit %d, stdout %q, stderr %q; want exit 0 and the usage on stdout", code, stdout, stderr)
			}
			hint := "Run '" + name + " --help' for usage.\n"
			for _, args := range [][]string{{"--bogus", "6000"}, {}, {"6000", "x", "y", "z"}} {
				stdout, stderr, code := run(name, args...)
				if code != 2 || stdout != "" || !strings.HasPrefix(stderr, name+": ") || strings.Count(stderr, "\n") != 2 || !strings.HasSuffix(stderr, hint) {
					t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, the error, then %q", args, code, stdout, stderr, hint)
				}
			}
		})
	}
}
