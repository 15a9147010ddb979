package program

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Bare reports whether name is a bare name (no slash), which is looked up
// as Find says, rather than a path.
func Bare(name string) bool { return !strings.Contains(name, "/") }

// Find returns the file that runs as program name for a job whose working
// directory is dir ("" for none): a path is taken relative to dir; a bare
// name is looked up in dir first, as Hadoop Streaming finds a program
// shipped into its task's directory, then on PATH, as a shell would.
func Find(name, dir string) (string, error) {
	if !Bare(name) {
		if !filepath.IsAbs(name) && dir != "" {
			name = filepath.Join(dir, name)
		}
		return name, nil
	}
	if dir != "" {
		local := filepath.Join(dir, name)
		if info, err := os.Stat(local); err == nil && info.Mode().IsRegular() {
			return local, nil
		}
	}
	path, err := exec.LookPath(name)
	if err != nil {
		where := "on PATH"
		if dir != "" {
			where = fmt.Sprintf("in the job's working directory %s nor on PATH", dir)
		}
		return "", fmt.Errorf("program %s: not found %s%s", name, where, hintSep+hintNotFound(name))
	}
	return path, nil
}
