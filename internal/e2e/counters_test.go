package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// TestCountersAfterAWorkerKilledMidMap: a mapper's reporter:counter: lines
// total exactly in the job's status although a worker was lost while its
// map tasks had counted half their lines: killed, or frozen until taken for
// dead, then back while its tasks run again elsewhere and finish. The
// built-in counters total exactly too. The status line comes through
// heartbeats, and the tasks' logs through sendjob --logs.
func TestCountersAfterAWorkerKilledMidMap(t *testing.T) {
	t.Run("killed", func(t *testing.T) { testCountersAfterLoss(t, false) })
	t.Run("frozen then back", func(t *testing.T) { testCountersAfterLoss(t, true) })
}

func testCountersAfterLoss(t *testing.T, freeze bool) {
	c := newCluster(t)
	victim := c.startWorker()
	c.startWorker()
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	lines := 0
	counts := map[string]int{}
	for i := range 6 {
		var b strings.Builder
		for k := range 40 + 7*i {
			fmt.Fprintf(&b, "word%d\n", (i*k)%23)
			counts[fmt.Sprintf("word%d", (i*k)%23)]++
			lines++
		}
		if err := os.WriteFile(filepath.Join(in, fmt.Sprintf("f%d.txt", i)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gate := filepath.Join(dir, "gate")
	// Each line is counted as it is read; after 10 lines (a task has 40
	// or more) the mapper says so in its status line and waits for the
	// gate.
	mapper := script(t, dir, "map", fmt.Sprintf(`n=0
while IFS= read -r line; do
  n=$((n+1))
  printf '%%s\t1\n' "$line"
  echo "reporter:counter:wc,lines,1" >&2
  if [ $n -eq 10 ]; then
    echo "reporter:status:half way" >&2
    while [ ! -e %q ]; do sleep 0.02; done
  fi
done
echo "mapped $n lines" >&2
`, gate), 0o755)
	j := job{input: in, mapper: mapper, reducer: "exec/word_count/reduce.py", mappers: 6, reducers: 2}
	id, out := c.submit(j)

	// Wait until a map task on the victim has said it is half way (the
	// status line, sent in a heartbeat), then kill the victim.
	testutil.WaitFor(t, 20*time.Second, "a map task half way on the victim", func() bool {
		for _, task := range c.status().Jobs[0].Tasks {
			for _, a := range task.Attempts {
				if task.Phase == protocol.PhaseMap && a.WorkerPID == victim.pid() && a.StatusLine == "half way" {
					return true
				}
			}
		}
		return false
	})
	if !freeze {
		victim.kill()
	} else {
		// The victim's programs wait at the gate; the victim itself is
		// frozen until the master has run its tasks again elsewhere, then
		// it goes on, and its programs finish as the copies do.
		victim.signal(syscall.SIGSTOP)
		testutil.WaitFor(t, 20*time.Second, "the victim's tasks given to the other worker", func() bool {
			for _, task := range c.status().Jobs[0].Tasks {
				for _, a := range task.Attempts {
					if a.Outcome == "worker_dead" {
						return true
					}
				}
			}
			return false
		})
		victim.signal(syscall.SIGCONT)
	}
	openGate(t, gate)
	info := c.waitJob(id, 60*time.Second)
	if info.State != protocol.JobDone {
		t.Fatalf("job ended %s: %v", info.State, info.Errors)
	}
	var wantOut []string
	for w, n := range counts {
		wantOut = append(wantOut, fmt.Sprintf("%s\t%d", w, n))
	}
	if got, want := sortedOutput(t, out), sortLines(strings.Join(wantOut, "\n")); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	dead := 0
	for _, task := range info.Tasks {
		for _, a := range task.Attempts {
			if a.Outcome == "worker_dead" {
				dead++
			}
		}
	}
	if dead == 0 {
		t.Fatal("no attempt ended with the killed worker: the test did not test anything")
	}
	want := map[string]int64{
		"wc/lines":                        int64(lines),
		"mapreduce/map_input_records":     int64(lines),
		"mapreduce/map_output_records":    int64(lines),
		"mapreduce/reduce_input_records":  int64(lines),
		"mapreduce/reduce_output_records": int64(len(counts)),
	}
	for k, v := range want {
		g, n, _ := strings.Cut(k, "/")
		if got := info.Counters[g][n]; got != v {
			t.Errorf("counter %s = %d, want %d (all counters: %v)", k, got, v, info.Counters)
		}
	}

	// sendjob prints the counters and the logs.
	sendjob := func(args ...string) string {
		cmd := exec.Command(filepath.Join(binDir, "sendjob"), args...)
		text, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sendjob %v: %v\n%s", args, err, text)
		}
		return string(text)
	}
	port, job := strconv.Itoa(c.port), strconv.Itoa(id)
	if text := sendjob("--status", port, job); !strings.Contains(text, "wc") || !strings.Contains(text, strconv.Itoa(lines)) {
		t.Errorf("sendjob --status %s %s printed no counter wc/lines = %d:\n%s", port, job, lines, text)
	}
	var reply protocol.ClusterStatus
	if text := sendjob("--status", "--json", port, job); json.Unmarshal([]byte(text), &reply) != nil ||
		len(reply.Jobs) != 1 || reply.Jobs[0].Counters["wc"]["lines"] != int64(lines) || len(reply.Jobs[0].Tasks) == 0 {
		t.Errorf("sendjob --status --json %s %s printed no job with its tasks and wc/lines = %d:\n%s", port, job, lines, text)
	}
	logs := sendjob("--logs", port, job)
	// Every map task has a log that says it finished. A killed victim sends
	// nothing more; a frozen one, once back, may finish a program before the
	// master's cancel_task reaches it, and that late attempt keeps its log
	// too (TestLateStatusKeepsItsLog), so a task may show two.
	finished := map[string]bool{}
	for _, section := range strings.Split(logs, "==> ")[1:] {
		if strings.Contains(section, "mapped ") {
			task, _, _ := strings.Cut(strings.TrimPrefix(section, "job "+job+" "), " attempt")
			finished[task] = true
		}
	}
	if got := strings.Count(logs, "mapped "); len(finished) != 6 || (!freeze && got != 6) {
		t.Errorf("sendjob --logs shows %d map logs of %d tasks, want every map task that finished (6), once each unless the victim came back:\n%s", got, len(finished), logs)
	}
	if strings.Contains(logs, "reporter:") {
		t.Errorf("the logs hold reporter lines:\n%s", logs)
	}
	if text := sendjob("--logs", port, job, "map-0"); !strings.Contains(text, "map-0 attempt") || strings.Contains(text, "map-1 ") {
		t.Errorf("sendjob --logs for map-0 printed:\n%s", text)
	}
}
