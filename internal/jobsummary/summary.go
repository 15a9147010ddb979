// Package jobsummary sums up one job from the master's record of it (a
// protocol.JobInfo with its tasks): each stage's times, the minimum,
// median and maximum of its tasks' durations and bytes, its slowest tasks
// and its skew, as the status page's job page and sendjob --status show
// them. It reads what job_status answers; the scheduler computes none of
// it.
package jobsummary

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"mapreduce/internal/layout"
	"mapreduce/protocol"
)

// SkewRatio is how many times the median bytes a task must read for its
// stage to be called skewed.
const SkewRatio = 1.5

// slowest is how many of a stage's slowest tasks are named.
const slowest = 3

// Summary is a job's stages, in the order the job runs them.
type Summary struct {
	Stages []Stage
}

// Stage sums up one stage. The master's own stages (merge, partition,
// commit) have times only.
type Stage struct {
	Name string
	// Started and Ended are offsets from the job's start; Ended is
	// negative while the stage runs, Started while it has not begun.
	Started, Ended time.Duration
	// OnWorkers: the stage runs tasks; the fields below are its tasks'.
	OnWorkers bool
	// Tasks counts the stage's tasks, Done those done.
	Tasks, Done int
	// Duration is over the done tasks' accepted attempts; BytesIn and
	// BytesOut over the done tasks whose workers counted them.
	Duration          Figures
	BytesIn, BytesOut Figures
	// Slowest names the done tasks that took longest, slowest first.
	Slowest []Named
	// Skew says, in words, which task read the most bytes and how that
	// compares with the median; empty for fewer than two measured tasks.
	Skew string
	// Skewed: the largest task read at least SkewRatio times the median.
	Skewed bool
	// Largest names the task that read the most bytes.
	Largest string
}

// Figures are the minimum, median and maximum of N values; a duration's
// are nanoseconds.
type Figures struct {
	N                int
	Min, Median, Max int64
}

// Named is a task's name and a duration.
type Named struct {
	Task string
	Took time.Duration
}

// Of sums up job, as of now for what still runs.
func Of(job protocol.JobInfo, now time.Time) Summary {
	var s Summary
	start := now
	if job.Started != nil {
		start = *job.Started
	}
	byPhase := map[string][]*protocol.TaskInfo{}
	for i := range job.Tasks {
		t := &job.Tasks[i]
		byPhase[t.Phase] = append(byPhase[t.Phase], t)
	}
	stages := job.Stages
	if len(stages) == 0 {
		// A master that does not list its stages: the phases with tasks.
		for _, p := range protocol.Phases {
			if len(byPhase[p]) > 0 {
				stages = append(stages, protocol.StageInfo{Name: p})
			}
		}
	}
	for _, si := range stages {
		st := Stage{Name: si.Name, Started: -1, Ended: -1}
		if si.Started != nil {
			st.Started = si.Started.Sub(start)
		}
		if si.Ended != nil {
			st.Ended = si.Ended.Sub(start)
		}
		if slices.Contains(protocol.Phases, si.Name) {
			st.OnWorkers = true
			st.sumTasks(byPhase[si.Name])
		}
		s.Stages = append(s.Stages, st)
	}
	return s
}

// sumTasks fills in the figures of a stage's tasks.
func (st *Stage) sumTasks(tasks []*protocol.TaskInfo) {
	st.Tasks = len(tasks)
	var took []Named
	var in, out []int64
	var measured []*protocol.TaskInfo
	for _, t := range tasks {
		a := Accepted(*t)
		if t.State != "done" || a == nil {
			continue
		}
		st.Done++
		took = append(took, Named{layout.TaskName(t.Phase, t.Index), a.End.Sub(a.Start)})
		if t.IO != nil {
			in, out = append(in, t.IO.InputBytes), append(out, t.IO.OutputBytes)
			measured = append(measured, t)
		}
	}
	durations := make([]int64, len(took))
	for i, n := range took {
		durations[i] = int64(n.Took)
	}
	st.Duration, st.BytesIn, st.BytesOut = figures(durations), figures(in), figures(out)
	slices.SortStableFunc(took, func(a, b Named) int { return cmp.Compare(b.Took, a.Took) })
	st.Slowest = took[:min(slowest, len(took))]
	st.skew(measured)
}

// skew names the task that read the most, and compares it with the median.
func (st *Stage) skew(measured []*protocol.TaskInfo) {
	if len(measured) < 2 {
		return
	}
	largest := measured[0]
	for _, t := range measured[1:] {
		if t.IO.InputBytes > largest.IO.InputBytes {
			largest = t
		}
	}
	st.Largest = layout.TaskName(largest.Phase, largest.Index)
	median := st.BytesIn.Median
	if median == 0 {
		st.Skewed = largest.IO.InputBytes > 0
		st.Skew = fmt.Sprintf("%s read %s; the median task read nothing", st.Largest, Bytes(largest.IO.InputBytes))
		return
	}
	ratio := float64(largest.IO.InputBytes) / float64(median)
	st.Skewed = ratio >= SkewRatio
	st.Skew = fmt.Sprintf("%s read %.1f× the median bytes (%s; median %s)", st.Largest, ratio, Bytes(largest.IO.InputBytes), Bytes(median))
	if !st.Skewed {
		st.Skew += ": no skew"
	}
}

// figures sums up values; the median of an even count is the mean of the
// middle two.
func figures(values []int64) Figures {
	n := len(values)
	if n == 0 {
		return Figures{}
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	median := sorted[n/2]
	if n%2 == 0 {
		median = sorted[n/2-1] + (sorted[n/2]-sorted[n/2-1])/2
	}
	return Figures{N: n, Min: sorted[0], Median: median, Max: sorted[n-1]}
}

// Accepted returns the attempt whose output a done task kept, its last
// finished one; nil if none finished.
func Accepted(t protocol.TaskInfo) *protocol.AttemptInfo {
	for i := len(t.Attempts) - 1; i >= 0; i-- {
		if a := &t.Attempts[i]; a.Outcome == "finished" && a.End != nil {
			return a
		}
	}
	return nil
}

// Speculative reports whether attempt i of t began while an earlier
// attempt still ran: a copy run beside it.
func Speculative(t protocol.TaskInfo, i int) bool {
	start := t.Attempts[i].Start
	for _, a := range t.Attempts[:i] {
		if a.End == nil || a.End.After(start) {
			return true
		}
	}
	return false
}

// Bytes writes n bytes for a person: 812 B, 3.4 KiB, 61.0 MiB.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i])
}

// Duration writes d for a person: 240ms, 3.2s, 1m30.5s.
func Duration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
