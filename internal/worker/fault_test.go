package worker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"mapreduce/internal/group"
	"mapreduce/protocol"
)

// TestFailureFault: a failure is the worker's own when it could not write
// its files, or its disk failed, whatever it was doing; not when the
// program failed, nor when an input is missing (that one is retried).
func TestFailureFault(t *testing.T) {
	out := "/var/mr/job-0/mapper-output/a.txt"
	input := "/in/a.txt"
	pathErr := func(op, path string, errno syscall.Errno) error { return &fs.PathError{Op: op, Path: path, Err: errno} }
	exit := exec.Command("sh", "-c", "exit 3").Run()
	for _, tc := range []struct {
		name  string
		err   error
		fault bool
		retry bool
	}{
		{"read-only output", own(fmt.Errorf("create output: %w", pathErr("open", out, syscall.EROFS))), true, false},
		{"read-only, unmarked", fmt.Errorf("sort: %w", pathErr("open", out, syscall.EROFS)), true, false},
		{"disk full", fmt.Errorf("write output: %w", pathErr("write", out, syscall.ENOSPC)), true, false},
		{"quota", fmt.Errorf("sort: %w", pathErr("write", out, syscall.EDQUOT)), true, false},
		{"i/o error reading input", fmt.Errorf("m < %s: %w", input, pathErr("read", input, syscall.EIO)), true, false},
		{"output directory missing here", own(fmt.Errorf("create output: %w", pathErr("open", out, syscall.ENOENT))), true, false},
		{"output not writable here", own(fmt.Errorf("create output: %w", pathErr("open", out, syscall.EACCES))), true, false},
		{"program exits non-zero", fmt.Errorf("m < %s: %w: its stderr", input, exit), false, false},
		{"program writes a read-only file itself", fmt.Errorf("m < %s: %w: OSError: [Errno 30] Read-only file system", input, exit), false, false},
		{"missing input", fmt.Errorf("open input: %w", pathErr("open", input, syscall.ENOENT)), false, true},
		{"too many open files", fmt.Errorf("open input: %w", pathErr("open", input, syscall.EMFILE)), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := failure(tc.err, []string{input})
			if got := f.Fault == protocol.FaultWorker; got != tc.fault || f.Retry != tc.retry {
				t.Errorf("fault %q, retry %t; want worker's fault %t, retry %t", f.Fault, f.Retry, tc.fault, tc.retry)
			}
			if f.Error != tc.err.Error() {
				t.Errorf("error %q, want %q", f.Error, tc.err.Error())
			}
		})
	}
}

// TestShuffleFailureFault: a reduce task of the shuffle that could not
// write the local copy of a piece is at fault, not the piece's holder;
// one that could not fetch it asks for its run again.
func TestShuffleFailureFault(t *testing.T) {
	job := protocol.NewWorkerJob{ReduceInput: &protocol.ReduceInput{Pieces: []protocol.Piece{{Run: "r0", Holder: "h:1"}}}}
	local := &group.StreamError{Index: 0, Err: own(fmt.Errorf("local copy of run r0: %w", &fs.PathError{Op: "open", Path: "/l", Err: syscall.EROFS}))}
	if f := shuffleFailure(local, job); f.Fault != protocol.FaultWorker || f.Retry {
		t.Errorf("local copy not written: %+v, want the worker's fault", f)
	}
	remote := &group.StreamError{Index: 0, Err: errors.New("fetch run r0 from h:1: connection refused")}
	if f := shuffleFailure(remote, job); f.Fault != "" || !f.Retry || len(f.LostPieces) != 1 {
		t.Errorf("piece not fetched: %+v, want its run made again", f)
	}
}

// TestStartFailedHere: a program the worker cannot find, or may not run,
// is the host's fault; one whose interpreter is missing is the program's.
func TestStartFailedHere(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	if err := exec.Command(missing).Run(); !startFailedHere(missing, err) {
		t.Errorf("missing program %v: not the host's fault", err)
	}
	noInterpreter := filepath.Join(dir, "noint")
	writeScript(t, noInterpreter, "#!/no/such/interpreter\n")
	if err := exec.Command(noInterpreter).Run(); err == nil || startFailedHere(noInterpreter, err) {
		t.Errorf("missing interpreter %v: taken for the host's fault", err)
	}
	exit := exec.Command("sh", "-c", "exit 1").Run()
	if startFailedHere("/bin/sh", exit) {
		t.Errorf("exit status: taken for the host's fault")
	}
	for _, errno := range []syscall.Errno{syscall.EAGAIN, syscall.ENOMEM} {
		if !startFailedHere("/x", &fs.PathError{Op: "fork/exec", Path: "/x", Err: errno}) {
			t.Errorf("fork/exec failing with %v is not the host's", errno)
		}
	}
	if !startFailedHere("/x", &fs.PathError{Op: "fork/exec", Path: "/x", Err: syscall.EACCES}) {
		t.Errorf("exec refused: not the host's fault")
	}
}

func writeScript(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}
