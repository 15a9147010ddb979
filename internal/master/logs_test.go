package master

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mapreduce/internal/layout"
	"mapreduce/protocol"
)

// TestReadLogs: logs come in stage, task and attempt order; one task's
// alone when asked; and within the budget as JSON, where a byte such as
// '<' takes six.
func TestReadLogs(t *testing.T) {
	varDir := t.TempDir()
	write := func(task string, attempt int, text string) {
		path := layout.TaskLog(varDir, 2, task, attempt)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("reduce-0", 1, "r0")
	write("map-10", 1, "m10")
	write("map-2", 2, "m2b")
	write("map-2", 1, "m2a")
	write("combine-1", 1, "c1")
	os.WriteFile(filepath.Join(layout.Logs(varDir, 2), ".tmp-x"), nil, 0o644) // not a log

	logs, omitted, err := readLogs(varDir, 2, "", 1<<20)
	if err != nil || omitted != 0 {
		t.Fatalf("readLogs: %v, %d omitted", err, omitted)
	}
	var got []string
	for _, l := range logs {
		got = append(got, l.Text)
	}
	if want := "m2a m2b m10 c1 r0"; strings.Join(got, " ") != want {
		t.Errorf("logs in order %q, want %q", strings.Join(got, " "), want)
	}
	if logs, _, _ := readLogs(varDir, 2, "map-2", 1<<20); len(logs) != 2 || logs[1].Attempt != 2 {
		t.Errorf("map-2's logs: %+v", logs)
	}
	if logs, _, err := readLogs(varDir, 3, "", 1<<20); err != nil || len(logs) != 0 {
		t.Errorf("a job without logs: %+v, %v", logs, err)
	}

	for i := range 20 {
		write("map-"+string(rune('a'+i)), 1, strings.Repeat("<", 1000))
	}
	const budget = 30000
	logs, omitted, err = readLogs(varDir, 2, "", budget)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(protocol.TaskLogs{JobID: 2, Logs: logs})
	if len(data) > budget+2000 || omitted == 0 {
		t.Errorf("%d logs in %d bytes of JSON, %d omitted; want at most about %d bytes", len(logs), len(data), omitted, budget)
	}
}
