package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mapreduce/protocol"

	"mapreduce/internal/testutil"
)

// newHTTPCluster starts a cluster whose master serves its status page on a
// free port, and returns the page's base URL.
func newHTTPCluster(t *testing.T) (*cluster, string) {
	t.Helper()
	addr := "localhost:" + strconv.Itoa(freePort(t))
	c := newCluster(t, "--http", addr)
	return c, "http://" + addr
}

// get fetches url and returns its body, failing unless the answer is 200
// with the given content type.
func get(t *testing.T, url, contentType string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, contentType) {
		t.Fatalf("GET %s: Content-Type %q, want %s", url, got, contentType)
	}
	return body
}

// apiStatus reads the master's /api/status.
func apiStatus(t *testing.T, base string) protocol.ClusterStatus {
	t.Helper()
	var status protocol.ClusterStatus
	if err := json.Unmarshal(get(t, base+"/api/status", "application/json"), &status); err != nil {
		t.Fatalf("decode /api/status: %v", err)
	}
	return status
}

// checkJob checks the only job's id, state and each phase's done/total.
func checkJob(t *testing.T, status protocol.ClusterStatus, id int, state string, phases []protocol.PhaseInfo) protocol.JobInfo {
	t.Helper()
	if len(status.Jobs) != 1 {
		t.Fatalf("want 1 job, got %+v", status.Jobs)
	}
	j := status.Jobs[0]
	if j.ID != id || j.State != state {
		t.Errorf("job %d is %s, want job %d %s", j.ID, j.State, id, state)
	}
	if len(j.Phases) != len(phases) {
		t.Fatalf("job phases %+v, want %+v", j.Phases, phases)
	}
	for i, want := range phases {
		if j.Phases[i] != want {
			t.Errorf("phase %d is %+v, want %+v", i, j.Phases[i], want)
		}
	}
	if len(j.Errors) != 0 {
		t.Errorf("job errors: %v", j.Errors)
	}
	if j.Started == nil {
		t.Errorf("job has no start time")
	}
	return j
}

// checkWorkers checks that the workers listed are procs, in pid order, in
// the given state, and returns how many tasks they hold in all.
func checkWorkers(t *testing.T, status protocol.ClusterStatus, state string, procs ...*proc) int {
	t.Helper()
	if len(status.Workers) != len(procs) {
		t.Fatalf("want %d workers, got %+v", len(procs), status.Workers)
	}
	held := 0
	for _, w := range status.Workers {
		found := false
		for _, p := range procs {
			found = found || p.pid() == w.PID
		}
		if !found || w.State != state || w.Host != "localhost" || w.Port == 0 || w.LastHeartbeat.IsZero() {
			t.Errorf("worker %+v: want one of our workers, %s", w, state)
		}
		held += w.Tasks
	}
	if !slices.IsSortedFunc(status.Workers, func(a, b protocol.WorkerInfo) int { return a.PID - b.PID }) {
		t.Errorf("workers not in pid order: %+v", status.Workers)
	}
	return held
}

// TestStatusPageJSON holds a job in its map phase behind a gate, checks
// /api/status field by field, then lets the job finish and checks again.
func TestStatusPageJSON(t *testing.T) {
	c, base := newHTTPCluster(t)
	w1, w2 := c.startWorker(), c.startWorker()
	scratch := t.TempDir()
	gate := filepath.Join(scratch, "open")
	mapper := gatedProgram(t, scratch, "map", gate, c.repoPath("exec/word_count/map.py"))
	j := job{input: "input", mapper: mapper, reducer: "exec/word_count/reduce.py", mappers: 4, reducers: 3}
	id, out := c.submit(j)
	testutil.WaitFor(t, 20*time.Second, "all map tasks running", func() bool { return c.running(id, "map", 4) })

	status := apiStatus(t, base)
	info := checkJob(t, status, id, protocol.JobMapping, []protocol.PhaseInfo{
		{Name: "map", Done: 0, Total: 4}, {Name: "sort"}, {Name: "combine"}, {Name: "reduce"},
	})
	if info.Ended != nil {
		t.Errorf("running job has an end time %v", info.Ended)
	}
	if held := checkWorkers(t, status, "busy", w1, w2); held != 4 {
		t.Errorf("workers hold %d tasks, want the 4 map tasks", held)
	}
	page := string(get(t, base+"/", "text/html"))
	if !strings.Contains(page, `<meta http-equiv="refresh"`) {
		t.Errorf("page of a running job does not refresh itself:\n%s", page)
	}

	openGate(t, gate)
	c.waitJob(id, 30*time.Second)
	status = apiStatus(t, base)
	// Our workers run the shuffle: the map tasks sort their own outputs,
	// so there are no sort tasks; one reduce task per reducer.
	info = checkJob(t, status, id, protocol.JobDone, []protocol.PhaseInfo{
		{Name: "map", Done: 4, Total: 4}, {Name: "sort"}, {Name: "combine"}, {Name: "reduce", Done: 3, Total: 3},
	})
	if info.Ended == nil || info.Started == nil || info.Ended.Before(*info.Started) {
		t.Errorf("done job runs from %v to %v", info.Started, info.Ended)
	}
	if held := checkWorkers(t, status, "ready", w1, w2); held != 0 {
		t.Errorf("idle workers hold %d tasks", held)
	}
	c.checkOutput(j, out)
	// The built-in counters: every input line was read once by a mapper
	// (a file's last line, without a newline, too).
	lines := inputLines(t, c.repoPath("input"))
	if got := info.Counters[protocol.CounterGroup]["map_input_records"]; got != int64(lines) {
		t.Errorf("map_input_records %d, want the input's %d lines (counters %v)", got, lines, info.Counters)
	}
	if text := string(get(t, fmt.Sprintf("%s/logs/%d", base, id), "text/plain")); !strings.Contains(text, "no task's log yet") {
		t.Errorf("/logs/%d of a job whose programs wrote nothing to stderr: %q", id, text)
	}
}

// inputLines counts the lines of the files in dir, a last line without a
// newline included.
func inputLines(t *testing.T, dir string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(string(data), "\n")
		if len(data) > 0 && data[len(data)-1] != '\n' {
			n++
		}
	}
	return n
}

// TestStatusPageBrowser loads the status page in headless Chromium after a
// job, and again after a worker dies, and checks what the browser shows.
func TestStatusPageBrowser(t *testing.T) {
	chromium := findChromium(t)
	c, base := newHTTPCluster(t)
	w1, w2 := c.startWorker(), c.startWorker()
	j := job{input: "input", mapper: "exec/word_count/map.py", reducer: "exec/word_count/reduce.py", mappers: 4, reducers: 2}
	id, _ := c.submit(j)
	if info := c.waitJob(id, 30*time.Second); info.State != protocol.JobDone {
		t.Fatalf("job ended %s: %v", info.State, info.Errors)
	}

	dom := dumpDOM(t, chromium, base+"/")
	checkDoneJob(t, dom, id)
	for _, w := range []*proc{w1, w2} {
		checkRow(t, dom, fmt.Sprintf("worker-%d", w.pid()), `<td class="state ready">ready</td>`, `<td class="num">0</td>`)
	}

	w2.kill()
	testutil.WaitFor(t, 10*time.Second, "the master to declare the killed worker dead", func() bool {
		for _, w := range apiStatus(t, base).Workers {
			if w.PID == w2.pid() {
				return w.State == "dead"
			}
		}
		t.Fatalf("worker %d not listed", w2.pid())
		return false
	})
	dom = dumpDOM(t, chromium, base+"/")
	checkDoneJob(t, dom, id)
	checkRow(t, dom, fmt.Sprintf("worker-%d", w1.pid()), `<td class="state ready">ready</td>`)
	checkRow(t, dom, fmt.Sprintf("worker-%d", w2.pid()), `<td class="state dead">dead</td>`)
}

// findChromium returns the path of Chromium, skipping the test if it is
// not installed, unless CI=true: CI installs it, so there it must be found.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	const msg = "chromium not found (neither chromium nor chromium-browser on PATH, nor /usr/bin/chromium); install it, e.g. apt-get install chromium"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// dumpDOM loads url in headless Chromium with a fresh profile and returns
// the DOM once the page has loaded.
func dumpDOM(t *testing.T, chromium, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--disable-quic", "--user-data-dir="+t.TempDir(), "--dump-dom", url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("chromium --dump-dom %s: timed out; stderr:\n%s", url, stderr.String())
	}
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v; stderr:\n%s", url, err, stderr.String())
	}
	return string(out)
}

// checkDoneJob checks that the page shows job id done with every task done,
// and does not reload itself.
func checkDoneJob(t *testing.T, dom string, id int) {
	t.Helper()
	checkRow(t, dom, fmt.Sprintf("job-%d", id), `<td class="state done">done</td>`, "4/4", "2/2")
	if strings.Contains(dom, `http-equiv="refresh"`) {
		t.Errorf("page reloads itself though no job is active:\n%s", dom)
	}
}

// checkRow checks that the table row with the given id contains each want.
func checkRow(t *testing.T, dom, id string, wants ...string) {
	t.Helper()
	start := strings.Index(dom, `<tr id="`+id+`"`)
	if start < 0 {
		t.Errorf("no row %s in the page:\n%s", id, dom)
		return
	}
	row, _, _ := strings.Cut(dom[start:], "</tr>")
	for _, want := range wants {
		if !strings.Contains(row, want) {
			t.Errorf("row %s lacks %q:\n%s", id, want, row)
		}
	}
}
