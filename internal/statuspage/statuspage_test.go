package statuspage

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"mapreduce/protocol"
)

var now = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

func ago(d time.Duration) *time.Time {
	t := now.Add(-d)
	return &t
}

func render(t *testing.T, status protocol.ClusterStatus) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, status, now); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// row returns the table row with the given id, from its <tr> to its </tr>.
func row(t *testing.T, html, id string) string {
	t.Helper()
	start := strings.Index(html, `<tr id="`+id+`"`)
	if start < 0 {
		t.Fatalf("no row %q in:\n%s", id, html)
	}
	end := strings.Index(html[start:], "</tr>")
	if end < 0 {
		t.Fatalf("row %q does not end", id)
	}
	return html[start : start+end]
}

func contains(t *testing.T, what, html string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(html, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, html)
		}
	}
}

func TestPageRunningJob(t *testing.T) {
	html := render(t, protocol.ClusterStatus{
		Jobs: []protocol.JobInfo{{
			ID: 3, State: protocol.JobReducing, Started: ago(90 * time.Second),
			Phases: []protocol.PhaseInfo{
				{Name: "map", Done: 8, Total: 8},
				{Name: "sort", Done: 2, Total: 2},
				{Name: "reduce", Done: 1, Total: 4},
			},
		}},
	})
	r := row(t, html, "job-3")
	contains(t, "job row", r,
		`<td class="num"><a href="/jobs/3">3</a></td>`,
		`<td class="state reducing">reducing</td>`,
		`8/8`, `2/2`, `<progress value="1" max="4"></progress>1/4`,
		`1m30s`, // started 90 s before now, still running
	)
	if i, j, k := strings.Index(r, "8/8"), strings.Index(r, "2/2"), strings.Index(r, "1/4"); !(i < j && j < k) {
		t.Errorf("phases not in map, sort, reduce order:\n%s", r)
	}
	contains(t, "page", html, `<p class="none">No workers registered.</p>`)
}

func TestPageFailedJobEscapesErrors(t *testing.T) {
	html := render(t, protocol.ClusterStatus{
		Jobs: []protocol.JobInfo{{
			ID: 0, State: protocol.JobFailed, Started: ago(10 * time.Second), Ended: ago(7500 * time.Millisecond),
			Phases: []protocol.PhaseInfo{{Name: "map", Done: 1, Total: 2}, {Name: "sort"}, {Name: "reduce"}},
			Errors: []string{`mapper <script>alert("x")</script> exited 1 & died`},
		}},
	})
	r := row(t, html, "job-0")
	contains(t, "job row", r,
		`<td class="state failed">failed</td>`,
		`1/2`, `<td class="num">–</td>`, // sort and reduce never planned
		`2.5s`, // ended 2.5 s after it started
		`<li>mapper &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; exited 1 &amp; died</li>`,
	)
	if strings.Contains(html, "<script>") {
		t.Errorf("error text not escaped:\n%s", html)
	}
}

func TestPageWaitingJob(t *testing.T) {
	html := render(t, protocol.ClusterStatus{
		Jobs: []protocol.JobInfo{{ID: 0, State: protocol.JobQueued, Waiting: "no worker registered"}},
	})
	contains(t, "job row", row(t, html, "job-0"),
		`<td class="state queued">queued<div class="waiting">waiting: no worker registered</div></td>`)
}

func TestPageWorkers(t *testing.T) {
	until := now.Add(5 * time.Minute)
	html := render(t, protocol.ClusterStatus{
		Workers: []protocol.WorkerInfo{
			{PID: 41, Host: "localhost", Port: 6001, State: "busy", LastHeartbeat: now.Add(-300 * time.Millisecond), Tasks: 2},
			// The master forgets a dead worker's heartbeats.
			{PID: 42, Host: "localhost", Port: 6002, State: "dead"},
			{PID: 43, Host: "localhost", Port: 6003, State: "excluded", LastHeartbeat: now, Excluded: "3 failures of its own within 5m0s, the last: read-only file system",
				ExcludedUntil: &until},
		},
	})
	contains(t, "excluded worker", row(t, html, "worker-43"),
		`<td class="state excluded">excluded<div class="why">until `+until.Format("15:04:05")+`: 3 failures of its own within 5m0s, the last: read-only file system</div></td>`)
	contains(t, "busy worker", row(t, html, "worker-41"),
		`<td>localhost:6001</td>`, `<td class="state busy">busy</td>`, `0.3 s ago`, `<td class="num">2</td>`)
	contains(t, "dead worker", row(t, html, "worker-42"),
		`<td class="num">42</td>`, `<td>localhost:6002</td>`, `<td class="state dead">dead</td>`, `<td class="num">–</td>`, `<td class="num">0</td>`)
	contains(t, "page", html, `<p class="none">No jobs yet.</p>`)
}

func TestPageRefreshesOnlyWhileAJobIsActive(t *testing.T) {
	job := func(id int, state string) protocol.JobInfo { return protocol.JobInfo{ID: id, State: state} }
	for _, tc := range []struct {
		name    string
		jobs    []protocol.JobInfo
		refresh bool
	}{
		{"no jobs", nil, false},
		{"queued", []protocol.JobInfo{job(0, protocol.JobQueued)}, true},
		{"mapping", []protocol.JobInfo{job(0, protocol.JobMapping)}, true},
		{"grouping", []protocol.JobInfo{job(0, protocol.JobGrouping)}, true},
		{"done and reducing", []protocol.JobInfo{job(0, protocol.JobDone), job(1, protocol.JobReducing)}, true},
		{"done and failed", []protocol.JobInfo{job(0, protocol.JobDone), job(1, protocol.JobFailed)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			html := render(t, protocol.ClusterStatus{Jobs: tc.jobs})
			got := strings.Contains(html, `<meta http-equiv="refresh" content="1">`)
			if got != tc.refresh {
				t.Errorf("refresh = %v, want %v:\n%s", got, tc.refresh, html)
			}
			if !got && strings.Contains(html, "refresh") {
				t.Errorf("page mentions refresh though it should not reload:\n%s", html)
			}
		})
	}
}

func TestPageCountersRunningTasksAndLogs(t *testing.T) {
	html := render(t, protocol.ClusterStatus{
		Jobs: []protocol.JobInfo{{
			ID: 4, State: protocol.JobMapping, Started: ago(10 * time.Second),
			Counters: protocol.Counters{"wc": {"lines": 288}, "mapreduce": {"map_input_records": 288}}, Logs: true,
			Tasks: []protocol.TaskInfo{
				{Phase: "map", Index: 0, State: "done", Attempts: []protocol.AttemptInfo{{WorkerPID: 11, Start: *ago(9 * time.Second), End: ago(5 * time.Second), Outcome: "finished", Log: true}}},
				{Phase: "map", Index: 1, State: "running", Attempts: []protocol.AttemptInfo{
					{WorkerPID: 11, Start: *ago(9 * time.Second), End: ago(8 * time.Second), Outcome: "worker_dead"},
					{WorkerPID: 12, Start: *ago(3 * time.Second), StatusLine: "half <way>"},
				}},
			},
		}},
	})
	contains(t, "job row", row(t, html, "job-4"), "2 counters")
	contains(t, "page", html, "<td>wc</td><td>lines</td><td class=\"num\">288</td>", `<a href="/logs/4">logs</a>`)
	contains(t, "running task row", row(t, html, "task-4-map-1-2"), "<td>map-1</td>", ">12<", ">3s<", "half &lt;way&gt;")
	if strings.Contains(html, `id="task-4-map-0`) || strings.Contains(html, `id="task-4-map-1-1"`) {
		t.Error("an ended attempt is listed as running")
	}
}

func TestWriteLogs(t *testing.T) {
	var b bytes.Buffer
	WriteLogs(&b, protocol.TaskLogs{JobID: 2, Logs: []protocol.TaskLog{{Task: "map-0", Attempt: 1, Text: "a\n"}, {Task: "map-0", Attempt: 2, Text: "b"}}, Omitted: 3})
	want := "==> job 2 map-0 attempt 1 <==\na\n==> job 2 map-0 attempt 2 <==\nb\n(3 more logs left out: too long to show at once; ask for one task)\n"
	if b.String() != want {
		t.Errorf("WriteLogs wrote %q, want %q", b.String(), want)
	}
}
