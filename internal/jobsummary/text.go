package jobsummary

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes s as sendjob --status PORT ID prints it: a line per
// stage with its times (from the job's start) and its tasks' figures,
// then each stage's skew and slowest tasks.
func WriteText(w io.Writer, s Summary) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tSTART\tEND\tTOOK\tTASKS\tDURATION min/median/max\tBYTES IN min/median/max\tBYTES OUT min/median/max")
	for _, st := range s.Stages {
		start, end, took := "-", "-", "-"
		if st.Started >= 0 {
			start = Duration(st.Started)
		}
		if st.Ended >= 0 {
			end = Duration(st.Ended)
			took = Duration(st.Ended - max(st.Started, 0))
		}
		tasks, dur, in, out := "", "", "", ""
		if st.OnWorkers {
			tasks = fmt.Sprintf("%d/%d", st.Done, st.Tasks)
			dur, in, out = DurationFigures(st.Duration), ByteFigures(st.BytesIn), ByteFigures(st.BytesOut)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.Name, start, end, took, tasks, dur, in, out)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	for _, st := range s.Stages {
		if st.Skew != "" {
			fmt.Fprintf(w, "%s skew: %s\n", st.Name, st.Skew)
		}
		if len(st.Slowest) > 0 {
			fmt.Fprintf(w, "%s slowest: %s\n", st.Name, SlowestText(st.Slowest))
		}
	}
	return nil
}

// DurationFigures writes f's durations as min / median / max.
func DurationFigures(f Figures) string {
	if f.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s / %s", Duration(time.Duration(f.Min)), Duration(time.Duration(f.Median)), Duration(time.Duration(f.Max)))
}

// ByteFigures writes f's bytes as min / median / max.
func ByteFigures(f Figures) string {
	if f.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s / %s", Bytes(f.Min), Bytes(f.Median), Bytes(f.Max))
}

// SlowestText lists tasks with their durations: map-3 3.0s, map-1 1.2s.
func SlowestText(tasks []Named) string {
	parts := make([]string, len(tasks))
	for i, n := range tasks {
		parts[i] = n.Task + " " + Duration(n.Took)
	}
	return strings.Join(parts, ", ")
}
