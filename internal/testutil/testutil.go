// Package testutil holds the helpers that the tests of several packages
// share.
package testutil

import (
	"os"
	"testing"
	"time"
)

// WaitFor polls cond until it holds, or fails the test after timeout. Polls
// start a millisecond apart and slow to 20 ms, so that a quick condition is
// seen at once and a slow one (a status over TCP) does not load the system.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 20*time.Millisecond)
	}
}

// ListDir returns the names in dir, hidden ones included, sorted.
func ListDir(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
