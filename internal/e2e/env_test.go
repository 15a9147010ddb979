package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProgramEnvironment: map and reduce programs learn their job, task,
// attempt and input through Hadoop Streaming's variables.
func TestProgramEnvironment(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.txt", "b.txt"} {
		if err := os.WriteFile(filepath.Join(in, name), []byte("hello\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mapper := script(t, dir, "map", `cat >/dev/null
printf '%s\t%s %s %s %s %s %s\n' "$(basename "$mapreduce_map_input_file")" "$mapreduce_job_id" "$mapreduce_task_id" \
  "$mapreduce_task_attempt_id" "$mapreduce_task_ismap" "$mapreduce_map_input_start" "$mapreduce_map_input_length"
`, 0o755)
	reducer := script(t, dir, "reduce", `cat
printf 'reduce\t%s %s %s %s\n' "$mapreduce_task_id" "$mapreduce_task_partition" "$mapreduce_task_ismap" "${mapreduce_map_input_file:-none}"
`, 0o755)
	j := job{input: in, mapper: mapper, reducer: reducer, mappers: 2, reducers: 1}
	id, out := c.submit(j)
	if info := c.waitJob(id, 30*time.Second); info.State != "done" {
		t.Fatalf("job ended %s: %v", info.State, info.Errors)
	}
	got := sortedOutput(t, out)
	want := sortLines(strings.Join([]string{
		fmt.Sprintf("a.txt\tjob_%[1]d task_%[1]d_m_000000 attempt_%[1]d_m_000000_0 true 0 6", id),
		fmt.Sprintf("b.txt\tjob_%[1]d task_%[1]d_m_000001 attempt_%[1]d_m_000001_0 true 0 6", id),
		fmt.Sprintf("reduce\ttask_%d_r_000000 0 false none", id),
	}, "\n") + "\n")
	if got != want {
		t.Errorf("programs saw:\n%s\nwant:\n%s", got, want)
	}
}
