package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"mapreduce/internal/statuspage"
	"mapreduce/protocol"
)

// printCounters prints a job's counters by group and name, as Hadoop
// prints them at a job's end.
func printCounters(out io.Writer, counters protocol.Counters) {
	if len(counters) == 0 {
		return
	}
	fmt.Fprintln(out, "counters:")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	for _, g := range slices.Sorted(maps.Keys(counters)) {
		fmt.Fprintf(tw, "  %s\t\t\n", g)
		for _, n := range slices.Sorted(maps.Keys(counters[g])) {
			fmt.Fprintf(tw, "    %s\t%d\t\n", n, counters[g][n])
		}
	}
	tw.Flush()
}

// printLogs prints the logs the master kept of a job's tasks.
func (o *options) printLogs(out io.Writer) error {
	reply, err := protocol.Request(o.addr(), protocol.TaskLogsRequest{JobID: *o.jobID, Task: o.task}, 10*time.Second)
	if err != nil {
		return err
	}
	switch r := reply.(type) {
	case protocol.TaskLogs:
		statuspage.WriteLogs(out, r)
		return nil
	case protocol.Error:
		return errors.New(r.Error)
	}
	return fmt.Errorf("unexpected answer %s", reply.Type())
}
