package statuspage

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"

	"mapreduce/internal/jobsummary"
	"mapreduce/internal/layout"
	"mapreduce/protocol"
)

//go:embed job.html.tmpl
var jobSource string

var jobTemplate = template.Must(template.New("job").Parse(jobSource))

// MaxTaskRows bounds the job page's task table: a job of more tasks lists
// those that did not simply finish at the first attempt, then the slowest.
const MaxTaskRows = 300

// TasksPerRefreshSecond: the page of an active job reloads every
// RefreshSeconds, or every second per this many tasks if that is longer.
const TasksPerRefreshSecond = 5000

// jobPage is what the job template shows: every value already formatted.
type jobPage struct {
	Style    template.CSS
	Refresh  int
	Now      string
	ID       int
	State    string
	Facts    []fact
	Errors   []string
	Stages   []stageRow
	Timeline timeline
	Tasks    []taskTableRow
	// TasksTotal counts every task, listed or not.
	TasksTotal      int
	Counters        []counterRow
	CountersDropped int
}

type fact struct{ Name, Value string }

// stageRow is one stage's line, and its skew and slowest tasks.
type stageRow struct {
	Name, Start, End, Took, Tasks, Duration, BytesIn, BytesOut string
	Skew                                                       string
	Skewed                                                     bool
	Slowest                                                    string
}

// taskTableRow is one task, shown by its accepted attempt, or its last.
type taskTableRow struct {
	Task, Attempts, Start, Duration          string
	Worker                                   int
	BytesIn, BytesOut, RecordsIn, RecordsOut string
	State, Outcome                           string
	// Log is the address of the task's attempts' logs, if kept.
	Log string
}

// RenderJob writes the page of job, which must have been asked for with its
// tasks, as seen at now. It reloads itself while the job is active.
func RenderJob(w io.Writer, job protocol.JobInfo, now time.Time) error {
	p := jobPage{Style: style, Now: now.Format("2006-01-02 15:04:05"), ID: job.ID, State: job.State,
		Facts: facts(job, now), Errors: job.Errors, Timeline: drawTimeline(job, now), TasksTotal: len(job.Tasks),
		Counters: counterRows(job.Counters), CountersDropped: job.CountersDropped}
	if active(job) {
		// Each reload has the master's loop list every task: a big job's
		// page reloads less often.
		p.Refresh = max(RefreshSeconds, len(job.Tasks)/TasksPerRefreshSecond)
	}
	for _, st := range jobsummary.Of(job, now).Stages {
		p.Stages = append(p.Stages, stageLine(st))
	}
	origin := now
	if job.Started != nil {
		origin = *job.Started
	}
	for _, t := range tableTasks(job.Tasks, now) {
		p.Tasks = append(p.Tasks, taskLine(job, t, origin, now))
	}
	if err := jobTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("render job %d's page: %w", job.ID, err)
	}
	return nil
}

// facts lists what the job is: its directories, programs, counts and times.
func facts(j protocol.JobInfo, now time.Time) []fact {
	var fs []fact
	add := func(name, value string) {
		if value != "" {
			fs = append(fs, fact{name, value})
		}
	}
	add("Input directory", j.InputDirectory)
	add("Output directory", j.OutputDirectory)
	add("Mapper", j.MapperExecutable)
	add("Combiner", j.CombinerExecutable)
	add("Reducer", j.ReducerExecutable)
	if j.NumMappers > 0 || j.NumReducers > 0 {
		add("Asked for", fmt.Sprintf("%d map tasks, %d reducers", j.NumMappers, j.NumReducers))
	}
	add("Submitted", clock(&j.Submitted))
	add("Started", clock(j.Started))
	add("Ended", clock(j.Ended))
	add("Took", duration(j, now))
	return fs
}

func clock(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02 15:04:05.000")
}

func stageLine(st jobsummary.Stage) stageRow {
	r := stageRow{Name: st.Name, Start: "–", End: "–", Took: "–", Skew: st.Skew, Skewed: st.Skewed}
	if st.Started >= 0 {
		r.Start = jobsummary.Duration(st.Started)
	}
	if st.Ended >= 0 {
		r.End = jobsummary.Duration(st.Ended)
		r.Took = jobsummary.Duration(st.Ended - max(st.Started, 0))
	}
	if st.OnWorkers {
		r.Tasks = fmt.Sprintf("%d/%d", st.Done, st.Tasks)
		r.Duration = jobsummary.DurationFigures(st.Duration)
		r.BytesIn, r.BytesOut = jobsummary.ByteFigures(st.BytesIn), jobsummary.ByteFigures(st.BytesOut)
		r.Slowest = jobsummary.SlowestText(st.Slowest)
	}
	return r
}

// tableTasks picks the tasks the table lists, in the job's order: all of
// them, or at most MaxTaskRows, those with more than one attempt or not
// done first, then the slowest.
func tableTasks(tasks []protocol.TaskInfo, now time.Time) []protocol.TaskInfo {
	if len(tasks) <= MaxTaskRows {
		return tasks
	}
	order := make([]int, len(tasks))
	for i := range order {
		order[i] = i
	}
	plain := func(t protocol.TaskInfo) bool { return t.State == "done" && len(t.Attempts) == 1 }
	took := func(t protocol.TaskInfo) time.Duration {
		if len(t.Attempts) == 0 {
			return 0
		}
		a := t.Attempts[len(t.Attempts)-1]
		return cmp.Or(a.End, &now).Sub(a.Start)
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ta, tb := tasks[a], tasks[b]
		if pa, pb := plain(ta), plain(tb); pa != pb {
			if pa {
				return 1
			}
			return -1
		}
		return cmp.Compare(took(tb), took(ta))
	})
	order = order[:MaxTaskRows]
	slices.Sort(order)
	picked := make([]protocol.TaskInfo, len(order))
	for i, k := range order {
		picked[i] = tasks[k]
	}
	return picked
}

func taskLine(job protocol.JobInfo, t protocol.TaskInfo, origin, now time.Time) taskTableRow {
	name := layout.TaskName(t.Phase, t.Index)
	r := taskTableRow{Task: name, State: t.State, Attempts: attemptsText(t), Start: "–", Duration: "–",
		BytesIn: "–", BytesOut: "–", RecordsIn: "–", RecordsOut: "–"}
	a := jobsummary.Accepted(t)
	if a == nil && len(t.Attempts) > 0 {
		a = &t.Attempts[len(t.Attempts)-1]
	}
	if a != nil {
		r.Worker = a.WorkerPID
		r.Start = jobsummary.Duration(a.Start.Sub(origin))
		r.Duration = jobsummary.Duration(cmp.Or(a.End, &now).Sub(a.Start))
		r.Outcome = cmp.Or(outcomeWords[a.Outcome], a.Outcome)
		if a.End == nil {
			r.Outcome = "running"
		}
	}
	if t.IO != nil {
		r.BytesIn, r.BytesOut = jobsummary.Bytes(t.IO.InputBytes), jobsummary.Bytes(t.IO.OutputBytes)
		r.RecordsIn, r.RecordsOut = fmt.Sprint(t.IO.InputRecords), fmt.Sprint(t.IO.OutputRecords)
	}
	if slices.ContainsFunc(t.Attempts, func(a protocol.AttemptInfo) bool { return a.Log }) {
		r.Log = fmt.Sprintf("/logs/%d/%s", job.ID, name)
	}
	return r
}

// attemptsText counts a task's attempts, and says how those that did not
// finish ended: 3 (1 lost, 1 killed).
func attemptsText(t protocol.TaskInfo) string {
	counts := map[string]int{}
	var marks []string
	for i, a := range t.Attempts {
		m := mark(a.Outcome, a.End == nil)
		if jobsummary.Speculative(t, i) {
			m = cmp.Or(m, "speculative")
		}
		if m != "" && m != "running" {
			if counts[m] == 0 {
				marks = append(marks, m)
			}
			counts[m]++
		}
	}
	text := fmt.Sprint(len(t.Attempts))
	if len(marks) > 0 {
		parts := make([]string, len(marks))
		for i, m := range marks {
			parts[i] = fmt.Sprintf("%d %s", counts[m], strings.ReplaceAll(m, "_", " "))
		}
		text += " (" + strings.Join(parts, ", ") + ")"
	}
	return text
}
