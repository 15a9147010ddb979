package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestScriptsRefuseABusyPort: with its master port held by another
// process, start.sh and wordcount.sh exit non-zero at once, naming the
// port, and send nothing to whoever holds it (a job or a shutdown would
// reach someone else's cluster).
func TestScriptsRefuseABusyPort(t *testing.T) {
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	contacted := make(chan struct{}, 1)
	go func() {
		for {
			conn, err := other.Accept()
			if err != nil {
				return
			}
			conn.Close()
			select {
			case contacted <- struct{}{}:
			default:
			}
		}
	}()
	port := other.Addr().(*net.TCPAddr).Port
	for _, script := range []string{"start.sh", "scripts/wordcount.sh"} {
		t.Run(filepath.Base(script), func(t *testing.T) {
			cmd := exec.Command(filepath.Join(repoRoot, script))
			cmd.Env = append(os.Environ(), "MASTER_PORT="+strconv.Itoa(port),
				"WORKER_PORTS="+strconv.Itoa(freePort(t))+" "+strconv.Itoa(freePort(t)),
				"HTTP_PORT="+strconv.Itoa(freePort(t)), "LOG_DIR="+t.TempDir())
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("%s exited 0 with port %d in use:\n%s", script, port, out)
			}
			if !strings.Contains(string(out), "port "+strconv.Itoa(port)) {
				t.Errorf("%s did not name port %d:\n%s", script, port, out)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("%s took %s to refuse", script, took)
			}
		})
	}
	select {
	case <-contacted:
		t.Error("the process holding the port was contacted")
	default:
	}
}
