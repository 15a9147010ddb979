// Package statuspage renders the master's status page: one HTML page with a
// table of jobs and a table of workers, built from a protocol.ClusterStatus,
// and a page per job (jobpage.go).
package statuspage

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net"
	"slices"
	"strconv"
	"time"

	"mapreduce/internal/layout"
	"mapreduce/protocol"
)

//go:embed page.html.tmpl
var pageSource string

// style is the pages' CSS, inline: a page is one request.
//
//go:embed style.css
var styleSource string

var style = template.CSS(styleSource)

var pageTemplate = template.Must(template.New("page").Parse(pageSource))

// RefreshSeconds is how often the page reloads itself while a job is queued
// or running.
const RefreshSeconds = 1

// page is what the template shows: every value already formatted.
type page struct {
	Style   template.CSS
	Refresh int // seconds between reloads; 0 for none
	Now     string
	Phases  []string
	Jobs    []jobRow
	Running []taskRow
	Workers []workerRow
}

// jobRow is one line of the jobs table.
type jobRow struct {
	ID       int
	State    string
	Phases   []phaseCell
	Duration string
	Counters []counterRow
	// Logs: the master keeps logs of the job's tasks.
	Logs   bool
	Errors []string
	// Waiting says why the job cannot go on now, if it cannot.
	Waiting string
}

// counterRow is one of a job's counters.
type counterRow struct {
	Group, Name string
	Value       int64
}

// taskRow is one running attempt of a task, with its status line.
type taskRow struct {
	Job     int
	Task    string
	Attempt int
	Worker  int
	For     string
	Status  string
}

// phaseCell is one phase's progress; Total is 0 until the phase is planned.
type phaseCell struct {
	Done, Total int
}

// workerRow is one line of the workers table.
type workerRow struct {
	PID            int
	Addr           string
	State          string
	SinceHeartbeat string
	Tasks          int
	// Excluded says why an excluded worker takes no task, and until when.
	Excluded string
}

// Render writes the status page for status as seen at now. The page reloads
// itself every RefreshSeconds while any job is queued or running.
func Render(w io.Writer, status protocol.ClusterStatus, now time.Time) error {
	p := page{Style: style, Now: now.Format("2006-01-02 15:04:05"), Phases: protocol.Phases}
	for _, j := range status.Jobs {
		if active(j) {
			p.Refresh = RefreshSeconds
		}
		p.Jobs = append(p.Jobs, jobRow{
			ID:       j.ID,
			State:    j.State,
			Phases:   phaseCells(j.Phases),
			Duration: duration(j, now),
			Counters: counterRows(j.Counters),
			Logs:     j.Logs,
			Errors:   j.Errors,
			Waiting:  j.Waiting,
		})
		p.Running = append(p.Running, running(j, now)...)
	}
	for _, wk := range status.Workers {
		p.Workers = append(p.Workers, workerRow{
			PID:            wk.PID,
			Addr:           net.JoinHostPort(wk.Host, strconv.Itoa(wk.Port)),
			State:          wk.State,
			SinceHeartbeat: sinceHeartbeat(wk.LastHeartbeat, now),
			Tasks:          wk.Tasks,
			Excluded:       excludedNote(wk),
		})
	}
	if err := pageTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("render status page: %w", err)
	}
	return nil
}

// active reports whether a job is queued or running.
func active(j protocol.JobInfo) bool {
	return j.State != protocol.JobDone && j.State != protocol.JobFailed && j.State != protocol.JobCancelled
}

// phaseCells lists a job's progress in the order of protocol.Phases.
func phaseCells(phases []protocol.PhaseInfo) []phaseCell {
	cells := make([]phaseCell, len(protocol.Phases))
	for _, ph := range phases {
		for i, name := range protocol.Phases {
			if ph.Name == name {
				cells[i] = phaseCell{Done: ph.Done, Total: ph.Total}
			}
		}
	}
	return cells
}

// duration is how long a job ran: from its start to its end, or to now
// while it runs; empty before it starts.
func duration(j protocol.JobInfo, now time.Time) string {
	if j.Started == nil {
		return ""
	}
	end := now
	if j.Ended != nil {
		end = *j.Ended
	}
	return end.Sub(*j.Started).Round(100 * time.Millisecond).String()
}

// sinceHeartbeat is the time since last in seconds; empty if there was none.
func sinceHeartbeat(last, now time.Time) string {
	if last.IsZero() {
		return ""
	}
	return fmt.Sprintf("%.1f s", now.Sub(last).Seconds())
}

func counterRows(c protocol.Counters) []counterRow {
	var rows []counterRow
	for _, g := range slices.Sorted(maps.Keys(c)) {
		for _, n := range slices.Sorted(maps.Keys(c[g])) {
			rows = append(rows, counterRow{g, n, c[g][n]})
		}
	}
	return rows
}

// running lists j's attempts still running.
func running(j protocol.JobInfo, now time.Time) []taskRow {
	var rows []taskRow
	for _, t := range j.Tasks {
		for i, a := range t.Attempts {
			if a.End == nil {
				rows = append(rows, taskRow{
					Job: j.ID, Task: layout.TaskName(t.Phase, t.Index), Attempt: i + 1, Worker: a.WorkerPID,
					For: now.Sub(a.Start).Round(100 * time.Millisecond).String(), Status: a.StatusLine,
				})
			}
		}
	}
	return rows
}

// excludedNote says until when and why an excluded worker takes no task;
// "" for any other.
func excludedNote(wk protocol.WorkerInfo) string {
	if wk.Excluded == "" {
		return ""
	}
	if wk.ExcludedUntil == nil {
		return wk.Excluded
	}
	return "until " + wk.ExcludedUntil.Format("15:04:05") + ": " + wk.Excluded
}
