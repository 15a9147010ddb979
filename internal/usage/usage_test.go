package usage

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func newFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("x", pflag.ExitOnError)
	fs.Bool("wait", false, "wait for the job")
	fs.Int("num-reducers", 2, "number of reduce tasks")
	return fs
}

func TestHelpGoesToStdout(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		var stdout, stderr bytes.Buffer
		code, exit := parse(newFlags(), "cmd", "usage: cmd [flags] PORT", []string{arg}, &stdout, &stderr)
		if !exit || code != 0 {
			t.Errorf("%s: exit %v code %d, want exit 0", arg, exit, code)
		}
		if out := stdout.String(); !strings.HasPrefix(out, "usage: cmd [flags] PORT\n") || !strings.Contains(out, "--num-reducers") {
			t.Errorf("%s printed %q to stdout, want the synopsis and the flags", arg, out)
		}
		if stderr.Len() > 0 {
			t.Errorf("%s printed %q to stderr", arg, stderr.String())
		}
	}
}

func TestUsageErrorFirst(t *testing.T) {
	for _, args := range [][]string{{"--bogus"}, {"--num-reducers", "two"}, {"--num-reducers"}} {
		var stdout, stderr bytes.Buffer
		code, exit := parse(newFlags(), "cmd", "usage: cmd [flags] PORT", args, &stdout, &stderr)
		if !exit || code != 2 {
			t.Errorf("%q: exit %v code %d, want exit 2", args, exit, code)
		}
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "cmd: ") || lines[1] != "Run 'cmd --help' for usage." {
			t.Errorf("%q printed %q, want the error, then one line pointing at --help", args, stderr.String())
		}
		if stdout.Len() > 0 {
			t.Errorf("%q printed %q to stdout", args, stdout.String())
		}
	}
}

func TestGoodArguments(t *testing.T) {
	fs := newFlags()
	var stdout, stderr bytes.Buffer
	if _, exit := parse(fs, "cmd", "", []string{"--wait", "6000"}, &stdout, &stderr); exit {
		t.Fatalf("good arguments: exit, printed %q %q", stdout.String(), stderr.String())
	}
	if fs.NArg() != 1 || fs.Arg(0) != "6000" {
		t.Errorf("args %q, want [6000]", fs.Args())
	}
}
