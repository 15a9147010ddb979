package statuspage

import (
	"fmt"
	"io"
	"strings"

	"mapreduce/protocol"
)

// WriteLogs writes a task_logs answer as text, each attempt's log under a
// header line, as sendjob --logs and the status page's log links show it.
func WriteLogs(w io.Writer, logs protocol.TaskLogs) {
	if len(logs.Logs) == 0 && logs.Omitted == 0 {
		fmt.Fprintf(w, "job %d: no task's log yet: no attempt that ended wrote to stderr (a log comes when its attempt ends)\n", logs.JobID)
	}
	for _, l := range logs.Logs {
		fmt.Fprintf(w, "==> job %d %s attempt %d <==\n%s", logs.JobID, l.Task, l.Attempt, l.Text)
		if !strings.HasSuffix(l.Text, "\n") {
			fmt.Fprintln(w)
		}
	}
	if logs.Omitted > 0 {
		fmt.Fprintf(w, "(%d more logs left out: too long to show at once; ask for one task)\n", logs.Omitted)
	}
}
