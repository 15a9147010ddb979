package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mapreduce/internal/group"
	"mapreduce/internal/partition"
	"mapreduce/protocol"
)

// TestStatusWithLongSampleKeysFits: a map task's run of 15 MiB of lines
// whose keys are 14 KiB each, sampled 1024 times (the most a master asks
// for): the keys are cut to partition.MaxKey, and the status with its
// samples stays within protocol.MaxMessageSize (whole keys made it 19.6 MB:
// refused unread, sent again for ever, and the task timed out).
func TestStatusWithLongSampleKeysFits(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	var b strings.Builder
	for i := range 1100 {
		fmt.Fprintf(&b, "%05d%s\t1\n", i, strings.Repeat("k", 14<<10))
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := group.SortRun([]string{in}, filepath.Join(dir, "run"), 64<<20, 1024)
	if err != nil {
		t.Fatal(err)
	}
	info := &protocol.RunInfo{Run: "map-0", Size: r.Size}
	for _, s := range r.Samples {
		if len(s.Key) > partition.MaxKey {
			t.Fatalf("a sample key of %d bytes, want at most %d", len(s.Key), partition.MaxKey)
		}
		info.Samples = append(info.Samples, protocol.Sample{Key: s.Key, Bytes: s.Bytes})
	}
	data, err := protocol.Encode(protocol.Status{Run: info})
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > protocol.MaxMessageSize/4 {
		t.Errorf("a status with %d samples is %d bytes, want far below MaxMessageSize (%d)", len(info.Samples), len(data), protocol.MaxMessageSize)
	}
}
