package program

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHint runs each kind of broken program and checks the hint its
// error gets.
func TestHint(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, text string
		mode       os.FileMode
		hint       string
	}{
		{"noshebang.py", "import sys\nprint(1)\n", 0o755, "add one as its first line, such as #!/usr/bin/env python3"},
		{"crlf.sh", "#!/usr/bin/env sh\r\ncat\r\n", 0o755, "dos2unix"},
		{"crlf-direct.sh", "#!/bin/sh\r\ncat\r\n", 0o755, "dos2unix"},
		{"private.sh", "#!/bin/sh\ncat\n", 0o644, "chmod +x"},
		{"nointerp.sh", "#!/no/such/interpreter\ncat\n", 0o755, "the interpreter on its first line (#!/no/such/interpreter)"},
		{"envnointerp.sh", "#!/usr/bin/env no-such-interpreter-xyz\ncat\n", 0o755, "exit status 127"},
		{"fails.sh", "#!/bin/sh\nexit 3\n", 0o755, ""},
	} {
		path := write(c.name, c.text, c.mode)
		err := exec.Command(path).Run()
		if err == nil {
			t.Errorf("%s ran", c.name)
			continue
		}
		got := Hint(path, err)
		if c.hint == "" && got != "" || c.hint != "" && !strings.Contains(got, c.hint) {
			t.Errorf("%s failed with %v; hint %q, want one with %q", c.name, err, got, c.hint)
		}
	}
	missing := filepath.Join(dir, "missing.py")
	if got := Hint(missing, exec.Command(missing).Run()); !strings.Contains(got, "check the path") {
		t.Errorf("missing program: hint %q", got)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.sh")
	os.WriteFile(ok, []byte("#!/bin/sh\ncat\n"), 0o755)
	private := filepath.Join(dir, "private.sh")
	os.WriteFile(private, []byte("#!/bin/sh\ncat\n"), 0o644)
	crlf := filepath.Join(dir, "crlf.sh")
	os.WriteFile(crlf, []byte("#!/bin/sh\r\ncat\r\n"), 0o755)
	for path, want := range map[string]string{
		ok:                         "",
		private:                    "chmod +x " + private,
		crlf:                       "dos2unix " + crlf,
		dir:                        "is a directory",
		filepath.Join(dir, "nope"): "no such file",
	} {
		err := Check(path)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("Check(%s) = %v, want %q", path, err, want)
		}
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "local.py"), []byte("#!/bin/sh\n"), 0o755)
	for _, c := range []struct{ name, dir, want, err string }{
		{"local.py", dir, filepath.Join(dir, "local.py"), ""},
		{"./local.py", dir, filepath.Join(dir, "local.py"), ""},
		{"sub/x.py", dir, filepath.Join(dir, "sub/x.py"), ""},
		{"/abs/x.py", dir, "/abs/x.py", ""},
		{"sh", dir, "", ""},
		{"no-such-program-xyz", dir, "", "not found in the job's working directory " + dir + " nor on PATH; hint: give the program's path"},
	} {
		got, err := Find(c.name, c.dir)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Find(%s) = %s, %v; want an error with %q", c.name, got, err, c.err)
			}
		case err != nil:
			t.Errorf("Find(%s): %v", c.name, err)
		case c.want != "" && got != c.want:
			t.Errorf("Find(%s) = %s, want %s", c.name, got, c.want)
		}
	}
}
