package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mapreduce/internal/layout"
	"mapreduce/internal/testutil"
	"mapreduce/protocol"
)

// TestJobPageBrowser runs a word count, kills a worker while it runs map
// tasks, and opens the job's page in headless Chromium: the timeline has
// one bar per attempt, the killed worker's attempts are marked lost, and
// the reduce stage's skew line names the partition that read the most.
// sendjob --status PORT ID prints the same summary. With
// JOBPAGE_SCREENSHOT=FILE.png, it saves a screenshot of the page there
// (the README's).
func TestJobPageBrowser(t *testing.T) {
	chromium := findChromium(t)
	c, base := newHTTPCluster(t)
	c.startWorker()
	w2 := c.startWorker()
	scratch := t.TempDir()
	gate := filepath.Join(scratch, "open")
	mapper := gatedProgram(t, scratch, "map", gate, c.repoPath("exec/word_count/map.py"))
	j := job{input: "input", mapper: mapper, reducer: "exec/word_count/reduce.py", mappers: 6, reducers: 4}
	id, out := c.submit(j)
	testutil.WaitFor(t, 20*time.Second, "worker 2 running a map task", func() bool { return c.holds(id, "map", w2) })
	w2.kill()
	c.waitDeadAndReassigned(id, w2)
	openGate(t, gate)
	if info := c.waitJob(id, 60*time.Second); info.State != protocol.JobDone {
		t.Fatalf("job ended %s: %v", info.State, info.Errors)
	}
	c.checkOutput(j, out)
	info := c.jobInfo(id)

	attempts, lost, largest := 0, 0, ""
	var most int64 = -1
	for _, task := range info.Tasks {
		attempts += len(task.Attempts)
		for _, a := range task.Attempts {
			if a.Outcome == "worker_dead" && a.WorkerPID == w2.pid() {
				lost++
			}
		}
		if task.Phase == "reduce" {
			if task.IO == nil {
				t.Fatalf("reduce task %d has no bytes: %+v", task.Index, task)
			}
			if task.IO.InputBytes > most {
				most, largest = task.IO.InputBytes, layout.TaskName(task.Phase, task.Index)
			}
		}
	}
	if lost == 0 {
		t.Fatalf("no attempt on the killed worker %d ended worker_dead: %+v", w2.pid(), info.Tasks)
	}

	dom := dumpDOM(t, chromium, fmt.Sprintf("%s/jobs/%d", base, id))
	bars := regexp.MustCompile(`<rect class="bar [^"]*"`).FindAllString(dom, -1)
	if len(bars) != attempts {
		t.Errorf("timeline has %d bars, want one per attempt, %d:\n%s", len(bars), attempts, strings.Join(bars, "\n"))
	}
	marked := regexp.MustCompile(`<rect class="bar map lost"[^>]*><title>map-\d+ attempt \d+ on worker ` + strconv.Itoa(w2.pid()) + `: [^<]*lost: its worker died</title>`)
	if n := len(marked.FindAllString(dom, -1)); n != lost {
		t.Errorf("%d bars of the killed worker marked lost, want %d:\n%s", n, lost, dom)
	}
	skew := regexp.MustCompile(`<p class="skew[^"]*">` + largest + ` read [0-9.]+× the median bytes`)
	if !skew.MatchString(dom) {
		t.Errorf("reduce stage's skew line does not name %s, the largest partition (%d bytes):\n%s", largest, most, dom)
	}
	checkRow(t, dom, "stage-map", "<td>map</td>", "6/6")
	checkRow(t, dom, "stage-reduce", "<td>reduce</td>", "4/4")
	if strings.Contains(dom, `http-equiv="refresh"`) {
		t.Errorf("the page of an ended job reloads itself")
	}
	if shot := os.Getenv("JOBPAGE_SCREENSHOT"); shot != "" {
		screenshot(t, chromium, fmt.Sprintf("%s/jobs/%d", base, id), shot)
	}

	text, err := exec.Command(filepath.Join(binDir, "sendjob"), "--status", strconv.Itoa(c.port), strconv.Itoa(id)).CombinedOutput()
	if err != nil {
		t.Fatalf("sendjob --status: %v\n%s", err, text)
	}
	t.Logf("sendjob --status %d:\n%s", id, text)
	for _, want := range []string{"STAGE", "DURATION min/median/max", "\nmap ", "6/6", "\nreduce ", "4/4",
		"reduce skew: " + largest + " read ", "reduce slowest: ", "map slowest: "} {
		if !strings.Contains(string(text), want) {
			t.Errorf("sendjob --status %d lacks %q:\n%s", id, want, text)
		}
	}
}

// screenshot saves a PNG of url as headless Chromium draws it.
func screenshot(t *testing.T, chromium, url, file string) {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--window-size=1200,1500", "--screenshot="+abs, url)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	t.Logf("screenshot of %s in %s", url, abs)
}
