package proctree

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mapreduce/internal/testutil"
)

// alive lists the live processes whose command line holds marker.
func alive(t *testing.T, marker string) []string {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var found []string
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err == nil && strings.Contains(strings.ReplaceAll(string(cmdline), "\x00", " "), marker) && !zombie(d) {
			found = append(found, d)
		}
	}
	return found
}

// TestKillEndsEveryDescendant: a program that leaves children behind in
// its group, in a session of their own (setsid) and reparented to init
// (a double fork) has every one killed, and nothing else.
func TestKillEndsEveryDescendant(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("needs setsid (util-linux)")
	}
	marker := fmt.Sprintf("%d", 2_000_000+time.Now().UnixNano()%1_000_000)
	bystander := exec.Command("sleep", marker)
	if err := bystander.Start(); err != nil {
		t.Fatal(err)
	}
	defer bystander.Process.Kill()
	tree := New()
	script := fmt.Sprintf("sleep %[1]s & setsid sleep %[1]s & (setsid sh -c 'sleep %[1]s & exit 0' &) ; exit 3", marker)
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), tree.Env())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Run(); err == nil {
		t.Fatal("the program exited 0, want 3")
	}
	testutil.WaitFor(t, 5*time.Second, "the three children started", func() bool { return len(alive(t, "sleep "+marker)) >= 4 })
	if n := tree.Kill(cmd.Process.Pid); n < 2 {
		t.Errorf("killed %d processes outside the group, want the 2 that left it", n)
	}
	testutil.WaitFor(t, 5*time.Second, "only the bystander left", func() bool { return len(alive(t, "sleep "+marker)) == 1 })
	if err := bystander.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the bystander, not of the tree, is gone: %v", err)
	}
}

// BenchmarkKill measures what a program's end costs when it left nothing:
// the /proc sweep that finds no process.
func BenchmarkKill(b *testing.B) {
	tree := New()
	for b.Loop() {
		tree.Kill(0)
	}
}
