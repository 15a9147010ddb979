package program

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"syscall"
)

// hintSep sets a hint apart from the error it explains.
const hintSep = "; hint: "

// Check reports what keeps the program file path from being run, with a
// hint that names the fix: it is missing, a directory, not executable, or
// its #! line ends in a carriage return. It cannot see a missing #! line:
// a binary has none.
func Check(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("program %s: %w%s", path, err, hintSep+hintNotFound(path))
	}
	if info.IsDir() {
		return fmt.Errorf("program %s is a directory%s", path, hintSep+"name the program file in it")
	}
	if info.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("program %s is not executable (mode %s)%s", path, info.Mode(), hintSep+hintChmod(path))
	}
	if crlf(path) {
		return fmt.Errorf("program %s: its #! line ends in a carriage return (\\r)%s", path, hintSep+hintCRLF(path))
	}
	return nil
}

// Hint explains why program path, run, failed with err, in one line that
// names the fix, or "" when it cannot tell: the program ran and failed on
// its own.
func Hint(path string, err error) string {
	if crlf(path) {
		// Checked first: "python3\r" not found looks like a missing
		// program or interpreter.
		return hintCRLF(path)
	}
	var exit *exec.ExitError
	switch {
	case errors.Is(err, syscall.ENOEXEC):
		return "the program does not start with a #! line (a shebang) naming its interpreter: add one as its first line, such as #!/usr/bin/env python3"
	case errors.Is(err, fs.ErrPermission):
		return hintChmod(path)
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, exec.ErrNotFound):
		if line := shebang(path); line != "" {
			return fmt.Sprintf("the interpreter on its first line (%s) is not on this worker: install it, or fix the line", line)
		}
		return hintNotFound(path)
	case errors.As(err, &exit) && exit.ExitCode() == 127 && shebang(path) != "":
		return fmt.Sprintf("exit status 127 usually means the interpreter on its first line (%s) was not found: install it, or fix the line", shebang(path))
	}
	return ""
}

// WithHint is err with Hint's explanation appended, if there is one.
func WithHint(path string, err error) error {
	if h := Hint(path, err); h != "" {
		return fmt.Errorf("%w%s", err, hintSep+h)
	}
	return err
}

func hintChmod(path string) string { return "make it executable: chmod +x " + path }

func hintCRLF(path string) string {
	return "the program has Windows (CRLF) line endings: convert them with dos2unix " + path + ", or sed -i 's/\\r$//' " + path
}

func hintNotFound(name string) string {
	if Bare(name) {
		return "give the program's path (./" + name + " for one in the job's working directory), or install it on the workers' PATH"
	}
	return "check the path; a relative one is taken from the directory sendjob ran in, which every worker must see at the same path"
}

// firstLine is the start of the file's first line, up to its newline.
func firstLine(path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := io.ReadFull(f, buf)
	buf = buf[:n]
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		return buf[:i+1]
	}
	return buf
}

// shebang is the program's #! line, without its newline, or "".
func shebang(path string) string {
	line := firstLine(path)
	if !bytes.HasPrefix(line, []byte("#!")) {
		return ""
	}
	return string(bytes.TrimRight(line, "\r\n"))
}

// crlf reports whether the program's #! line ends in "\r\n".
func crlf(path string) bool {
	line := firstLine(path)
	return bytes.HasPrefix(line, []byte("#!")) && bytes.HasSuffix(line, []byte("\r\n"))
}
