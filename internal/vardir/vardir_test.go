package vardir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOwnersApart: a master's var and a worker's local directory are
// each refused by the other kind, untouched; each kind's marker names it.
func TestOwnersApart(t *testing.T) {
	wd := t.TempDir()
	for _, tt := range []struct{ made, by Owner }{{Master, Worker}, {Worker, Master}} {
		dir := filepath.Join(t.TempDir(), "d")
		if err := Prepare(dir, wd, tt.made); err != nil {
			t.Fatal(err)
		}
		marker, err := os.ReadFile(filepath.Join(dir, tt.made.Marker))
		if err != nil || !strings.Contains(string(marker), "MapReduce "+tt.made.Name) {
			t.Errorf("%s's marker: %q, %v", tt.made.Name, marker, err)
		}
		err = Prepare(dir, wd, tt.by)
		if err == nil || !strings.Contains(err.Error(), "not made by a "+tt.by.Name) || !strings.Contains(err.Error(), tt.by.Flag) {
			t.Errorf("a %s's directory prepared by a %s: %v, want refused", tt.made.Name, tt.by.Name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, tt.made.Marker)); err != nil {
			t.Errorf("after the refusal: %v", err)
		}
	}
}
