// Package version says which build a binary is, for --version.
package version

import (
	"fmt"
	"runtime/debug"
)

// String is the module's version and the commit the binary was built
// from, as the Go toolchain recorded them.
func String(command string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return command + " (no build information)"
	}
	revision, modified, when := "unknown", "", ""
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value[:min(12, len(s.Value))]
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+changes"
			}
		case "vcs.time":
			when = " " + s.Value
		}
	}
	return fmt.Sprintf("%s %s commit %s%s%s, %s", command, info.Main.Version, revision, modified, when, info.GoVersion)
}
