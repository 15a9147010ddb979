// Package usage parses a command's flags alike for master, worker and
// sendjob: --help prints the synopsis and the flags to stdout and exits 0;
// a usage error prints the error, then one line pointing at --help, to
// stderr and exits 2, so that the error is what the user sees.
package usage

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
)

// Parse parses the process's arguments into pflag.CommandLine for the
// command name, whose synopsis (lines such as "usage: master [flags] PORT")
// --help prints before the flags. It returns only if they parse.
func Parse(name, synopsis string) {
	if code, exit := parse(pflag.CommandLine, name, synopsis, os.Args[1:], os.Stdout, os.Stderr); exit {
		os.Exit(code)
	}
}

// Fail reports a usage error that the command found itself (a missing or
// bad argument) as Parse reports one, and exits 2.
func Fail(name, format string, args ...any) {
	fail(os.Stderr, name, fmt.Errorf(format, args...))
	os.Exit(2)
}

// parse parses args into fs and says whether the command must exit now,
// and with what code, having printed what it must.
func parse(fs *pflag.FlagSet, name, synopsis string, args []string, stdout, stderr io.Writer) (code int, exit bool) {
	fs.Init(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// pflag prints the usage for --help before returning ErrHelp; it is
	// printed here instead, to stdout.
	fs.Usage = func() {}
	if fs == pflag.CommandLine {
		pflag.Usage = func() {}
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		fmt.Fprintln(stdout, synopsis)
		fmt.Fprintf(stdout, "\nflags:\n%s", fs.FlagUsages())
		return 0, true
	case err != nil:
		fail(stderr, name, err)
		return 2, true
	}
	return 0, false
}

func fail(stderr io.Writer, name string, err error) {
	fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", name, err, name)
}
