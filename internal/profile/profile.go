// Package profile writes a CPU profile of the whole run of a command, for
// `go tool pprof`.
package profile

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// Start begins a CPU profile into path, if path is not empty; the returned
// function ends it and must be called before the process exits.
func Start(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
