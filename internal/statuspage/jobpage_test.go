package statuspage

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"mapreduce/protocol"
)

// at is now plus d seconds; the job starts at at(0), a minute before now.
func at(d float64) *time.Time {
	t := now.Add(-time.Minute).Add(time.Duration(d * float64(time.Second)))
	return &t
}

func attempt(pid int, start, end float64, outcome string) protocol.AttemptInfo {
	a := protocol.AttemptInfo{WorkerPID: pid, Start: *at(start), Outcome: outcome}
	if end >= 0 {
		a.End = at(end)
	}
	return a
}

func bytesIO(in, out int64) *protocol.TaskIO {
	return &protocol.TaskIO{InputBytes: in, OutputBytes: out, InputRecords: in / 8, OutputRecords: out / 8}
}

// wordCount is a done word count of 4 map tasks and 2 reducers on workers
// 11 and 12: worker 12 died running map-1, whose second attempt ran on
// 11; map-3 ran a speculative copy that lost; reduce-1 read 3× reduce-0.
func wordCount() protocol.JobInfo {
	return protocol.JobInfo{
		ID: 7, State: protocol.JobDone, InputDirectory: "/data/in", OutputDirectory: "/data/out",
		MapperExecutable: "/bin/map.py", ReducerExecutable: "/bin/reduce.py", NumMappers: 4, NumReducers: 2,
		Submitted: *at(-0.5), Started: at(0), Ended: at(10),
		Phases: []protocol.PhaseInfo{{Name: "map", Done: 4, Total: 4}, {Name: "sort"}, {Name: "combine"}, {Name: "reduce", Done: 2, Total: 2}},
		Stages: []protocol.StageInfo{
			{Name: "map", Started: at(0), Ended: at(6)}, {Name: "sort", Started: at(6), Ended: at(6)},
			{Name: "partition", Started: at(6), Ended: at(6.1)}, {Name: "reduce", Started: at(6), Ended: at(9.9)},
			{Name: "commit", Started: at(9.9), Ended: at(10)},
		},
		Tasks: []protocol.TaskInfo{
			{Phase: "map", Index: 0, State: "done", Attempts: []protocol.AttemptInfo{attempt(11, 0, 2, "finished")}, IO: bytesIO(1000, 1600)},
			{Phase: "map", Index: 1, State: "done", Attempts: []protocol.AttemptInfo{attempt(12, 0, 3, "worker_dead"), attempt(11, 3, 5, "finished")}, IO: bytesIO(1000, 1600)},
			{Phase: "map", Index: 2, State: "done", Attempts: []protocol.AttemptInfo{{WorkerPID: 11, Start: *at(2), End: at(4), Outcome: "finished", Log: true}}, IO: bytesIO(1000, 1600)},
			{Phase: "map", Index: 3, State: "done", Attempts: []protocol.AttemptInfo{attempt(11, 4, 6, "finished"), attempt(13, 5, 6, "superseded")}, IO: bytesIO(900, 1500)},
			{Phase: "reduce", Index: 0, State: "done", Attempts: []protocol.AttemptInfo{attempt(11, 6.1, 7, "finished")}, IO: bytesIO(1500, 100)},
			{Phase: "reduce", Index: 1, State: "done", Attempts: []protocol.AttemptInfo{attempt(13, 6.1, 9.9, "finished")}, IO: bytesIO(4500, 300)},
		},
		Counters: protocol.Counters{"mapreduce": {"map_input_records": 487}, "wc": {"words": 3000}},
		Logs:     true,
	}
}

func renderJob(t *testing.T, job protocol.JobInfo) string {
	t.Helper()
	var b bytes.Buffer
	if err := RenderJob(&b, job, now); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// bars returns the timeline's bars, each its <rect ...> start tag.
func bars(html string) []string {
	return regexp.MustCompile(`<rect class="bar [^>]*>`).FindAllString(html, -1)
}

func TestJobPageEndedJob(t *testing.T) {
	html := renderJob(t, wordCount())
	contains(t, "facts", html, "<th>Input directory</th><td>/data/in</td>", "<td>/bin/map.py</td>", "<td>/bin/reduce.py</td>",
		"4 map tasks, 2 reducers", "<th>Took</th><td>10s</td>")
	contains(t, "map stage", row(t, html, "stage-map"), "<td>map</td>", ">0s<", ">6s<", ">4/4<", ">2s / 2s / 2s<", ">900 B / 1000 B / 1000 B<", ">1.5 KiB / 1.6 KiB / 1.6 KiB<")
	contains(t, "partition stage", row(t, html, "stage-partition"), ">6s<", ">6.1s<", ">100ms<")
	contains(t, "reduce detail", row(t, html, "stage-reduce-detail"),
		`<p class="skew skewed">reduce-1 read 1.5× the median bytes (4.4 KiB; median 2.9 KiB)</p>`, "Slowest: reduce-1 3.8s, reduce-0 900ms")
	// One bar per attempt: 8; the dead worker's attempt and the copy that
	// lost are marked, the copy as speculative too.
	if got := bars(html); len(got) != 8 {
		t.Errorf("%d bars, want one per attempt, 8:\n%s", len(got), strings.Join(got, "\n"))
	}
	contains(t, "timeline", html,
		`<rect class="bar map lost" x="130" y="52" width="288" height="10"><title>map-1 attempt 1 on worker 12: 3s from 0s, lost: its worker died</title></rect>`,
		`class="bar map killed spec"`, `<title>map-3 attempt 2 on worker 13: 1s from 5s, killed: another copy finished first, speculative copy</title>`,
		`>worker 11 · 1<`, `>worker 11 · 2<`, `>worker 12 · 1<`, `>worker 13 · 1<`, `>10s<`)
	if strings.Contains(html, "· 3<") || strings.Contains(html, `id="binned"`) {
		t.Errorf("worker 11 ran two attempts at once at most; nothing is binned:\n%s", html)
	}
	contains(t, "map-1 row", row(t, html, "task-map-1"), "<td>2 (1 lost)</td>", ">11<", ">3s<", ">2s<", ">1000 B<", ">1.6 KiB<", ">125<", ">200<", "finished")
	contains(t, "map-2 row", row(t, html, "task-map-2"), `<a href="/logs/7/map-2">log</a>`)
	contains(t, "counters", html, "<td>wc</td><td>words</td><td class=\"num\">3000</td>")
	if strings.Contains(html, "refresh") {
		t.Errorf("the page of an ended job reloads itself")
	}
}

func TestJobPageRunningJob(t *testing.T) {
	j := wordCount()
	j.State, j.Ended = protocol.JobReducing, nil
	j.Stages[3].Ended, j.Stages[4].Started, j.Stages[4].Ended = nil, nil, nil
	j.Tasks[5] = protocol.TaskInfo{Phase: "reduce", Index: 1, State: "running", Attempts: []protocol.AttemptInfo{attempt(13, 6.1, -1, "")}}
	html := renderJob(t, j)
	contains(t, "page", html, `<meta http-equiv="refresh" content="1">`)
	contains(t, "reduce stage", row(t, html, "stage-reduce"), ">6s<", ">–<", ">1/2<")
	contains(t, "reduce-1 row", row(t, html, "task-reduce-1"), "<td>1</td>", ">53.9s<", "<td>running</td>")
	// Running till now, a minute after the start: the bar ends at the
	// axis's end.
	contains(t, "timeline", html, `class="bar reduce running" x="227.6" y="66" width="862.4"`, "reduce-1 attempt 1 on worker 13: 53.9s from 6.1s, running")
	if n := len(bars(html)); n != 8 {
		t.Errorf("%d bars, want 8", n)
	}
}

func TestJobPageFailedJob(t *testing.T) {
	j := wordCount()
	j.State, j.Errors = protocol.JobFailed, []string{`reduce task 1 on worker 13: <boom> & died`}
	j.Stages[3].Ended, j.Stages[4].Started, j.Stages[4].Ended = nil, nil, nil
	j.Tasks[4].State, j.Tasks[4].Attempts[0].Outcome = "cancelled", "cancelled"
	j.Tasks[5].State, j.Tasks[5].Attempts[0].Outcome, j.Tasks[5].IO = "failed", "failed", nil
	html := renderJob(t, j)
	contains(t, "page", html, `<span class="state failed">failed</span>`, `<li>reduce task 1 on worker 13: &lt;boom&gt; &amp; died</li>`,
		`class="bar reduce failed"`, `class="bar reduce killed"`)
	contains(t, "reduce stage", row(t, html, "stage-reduce"), ">0/2<")
	contains(t, "reduce-1 row", row(t, html, "task-reduce-1"), `<td class="state failed">failed</td><td>failed</td>`, ">–<")
	if strings.Contains(html, "refresh") || strings.Contains(html, "<boom>") {
		t.Errorf("failed job's page reloads, or its error is not escaped:\n%s", html)
	}
}

// MaxJobPage bounds the page of a job of 10,000 tasks, as the README says.
const maxJobPage = 512 << 10

// TestJobPageTenThousandTasks: a job of 10,000 map tasks on 4 workers of
// 4 slots, some attempts lost, draws its lanes in bins, lists
// MaxTaskRows tasks, and stays within maxJobPage.
func TestJobPageTenThousandTasks(t *testing.T) {
	j := protocol.JobInfo{ID: 9, State: protocol.JobMapping, Started: at(0),
		Stages: []protocol.StageInfo{{Name: "map", Started: at(0), Ended: at(50)}}}
	attempts := 0
	for i := range 10000 {
		lane := i % 16
		start := float64(i/16) * 0.08
		task := protocol.TaskInfo{Phase: "map", Index: i, State: "done", IO: bytesIO(int64(1000+i%7), 2000)}
		if i%100 == 0 { // lost, then run again at once on the next worker
			task.Attempts = append(task.Attempts, attempt(100+lane/4, start, start+0.03, "worker_dead"))
			start += 0.03
		}
		task.Attempts = append(task.Attempts, attempt(100+(lane/4+i/100)%4, start, start+0.05+float64(i%10)*0.001, "finished"))
		attempts += len(task.Attempts)
		j.Tasks = append(j.Tasks, task)
	}
	html := renderJob(t, j)
	if os.Getenv("JOBPAGE_WRITE") != "" {
		os.WriteFile(os.Getenv("JOBPAGE_WRITE"), []byte(html), 0o644)
	}
	t.Logf("page of %d tasks, %d attempts: %d bytes, %d bars, %d bins", len(j.Tasks), attempts, len(html), len(bars(html)), strings.Count(html, `<rect class="bin `))
	if len(html) > maxJobPage {
		t.Errorf("page of %d bytes, over %d", len(html), maxJobPage)
	}
	contains(t, "page", html, fmt.Sprintf(` of %d attempts are in lanes too full`, attempts),
		fmt.Sprintf(`<p class="note" id="tasks-left">%d of 10000 tasks listed`, MaxTaskRows))
	// Every lost attempt is still drawn, and marked.
	if lost := strings.Count(html, `class="bar map lost"`); lost != 100 {
		t.Errorf("%d lost attempts drawn, want 100", lost)
	}
	// The tasks run again come first in the table.
	// Running, it reloads every 2 s: each reload lists 10,000 tasks.
	contains(t, "page", html, `<meta http-equiv="refresh" content="2">`)
	contains(t, "map-9900 row", row(t, html, "task-map-9900"), "<td>2 (1 lost)</td>")
	if n := strings.Count(html, `<tr id="task-`); n != MaxTaskRows {
		t.Errorf("%d task rows, want %d", n, MaxTaskRows)
	}
}

func TestJobPageQueuedJob(t *testing.T) {
	html := renderJob(t, protocol.JobInfo{ID: 2, State: protocol.JobQueued, Submitted: *at(0),
		Stages: []protocol.StageInfo{{Name: "map"}, {Name: "sort"}, {Name: "merge"}, {Name: "reduce"}, {Name: "commit"}}})
	contains(t, "page", html, `<meta http-equiv="refresh" content="1">`, `<p class="none">No attempt yet.</p>`, `<p class="none">No tasks yet.</p>`)
	contains(t, "merge stage", row(t, html, "stage-merge"), "<td>merge</td><td class=\"num\">–</td><td class=\"num\">–</td>")
	contains(t, "map stage", row(t, html, "stage-map"), ">0/0<")
}
