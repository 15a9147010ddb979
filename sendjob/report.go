package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"mapreduce/internal/jobsummary"
	"mapreduce/internal/statuspage"
	"mapreduce/protocol"
)

// printCounters prints a job's counters by group and name, as Hadoop
// prints them at a job's end.
func printCounters(out io.Writer, job protocol.JobInfo) {
	counters := job.Counters
	if job.CountersDropped > 0 {
		fmt.Fprintf(out, "(%d counters dropped: at most %d a job, group names of 1-%d bytes, counter names of 1-%d)\n",
			job.CountersDropped, protocol.MaxCounters, protocol.MaxCounterGroupName, protocol.MaxCounterName)
	}
	if len(counters) == 0 {
		return
	}
	nameWidth, valueWidth := 0, 0
	for _, names := range counters {
		for n, v := range names {
			nameWidth = max(nameWidth, len(n))
			valueWidth = max(valueWidth, len(strconv.FormatInt(v, 10)))
		}
	}
	fmt.Fprintln(out, "counters:")
	for _, g := range slices.Sorted(maps.Keys(counters)) {
		fmt.Fprintf(out, "  %s\n", g)
		for _, n := range slices.Sorted(maps.Keys(counters[g])) {
			fmt.Fprintf(out, "    %-*s  %*d\n", nameWidth, n, valueWidth, counters[g][n])
		}
	}
}

// printSummary prints a job's stages, the figures of their tasks, their
// skew and slowest tasks, as the status page's job page shows them.
func printSummary(out io.Writer, job protocol.JobInfo) error {
	fmt.Fprintln(out)
	return jobsummary.WriteText(out, jobsummary.Of(job, time.Now()))
}

// printLogs prints the logs the master kept of a job's tasks.
func (o *options) printLogs(out io.Writer) error {
	reply, err := o.tcp.Request(o.addr(), protocol.TaskLogsRequest{JobID: *o.jobID, Task: o.task}, 10*time.Second)
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

// logsCommand is the sendjob command that prints job id's logs.
func (o *options) logsCommand(id int) string {
	return o.command("--logs") + " " + strconv.Itoa(id)
}

// command is the sendjob command with flags that asks this master.
func (o *options) command(flags string) string {
	host := ""
	if o.host != "localhost" {
		host = "--host " + o.host + " "
	}
	return fmt.Sprintf("sendjob %s%s %d", host, flags, o.port)
}
