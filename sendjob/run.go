package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"mapreduce/internal/jobspec"
	"mapreduce/internal/program"
	"mapreduce/protocol"
)

type options struct {
	// tcp sends, authenticated when there is a secret.
	tcp      protocol.TCP
	host     string
	port     int
	job      protocol.NewMasterJob
	commands commands
	wait     bool
	timeout  time.Duration
	// until, if set, bounds the retries too: --wait's --timeout.
	until time.Time
	// reconnect is how long requests keep trying a master (retry.go).
	reconnect time.Duration
	status    bool
	json      bool
	jobID     *int
	shutdown  bool
	cancel    bool
	logs      bool
	task      string
	terminal  bool
}

func (o *options) addr() string { return net.JoinHostPort(o.host, strconv.Itoa(o.port)) }

func (o *options) run(out io.Writer) error {
	switch {
	case o.shutdown:
		return o.sendShutdown()
	case o.cancel:
		reply, err := o.tcp.Request(o.addr(), protocol.CancelJob{JobID: *o.jobID}, 10*time.Second)
		if err != nil {
			return err
		}
		switch r := reply.(type) {
		case protocol.ClusterStatus:
			printStatus(out, r)
			return nil
		case protocol.Error:
			return errors.New(r.Error)
		}
		return fmt.Errorf("unexpected answer %s", reply.Type())
	case o.status:
		var status protocol.ClusterStatus
		err := o.retrying(statusRetries, func() error {
			var err error
			status, err = o.query(o.jobID, false)
			return err
		})
		if err != nil {
			return err
		}
		if o.json {
			data, err := protocol.Encode(status)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(out, "%s\n", data)
			return err
		}
		printStatus(out, status)
		if o.jobID != nil {
			if err := printSummary(out, status.Jobs[0]); err != nil {
				return err
			}
			printCounters(out, status.Jobs[0])
		}
		return nil
	case o.logs:
		return o.printLogs(out)
	}
	id, err := o.submit()
	if err != nil {
		return err
	}
	if !o.wait {
		fmt.Fprintf(out, "job %d queued\n", id)
		return nil
	}
	return o.waitFor(out, id)
}

// submit posts the job, with this directory as its working directory and
// paths made absolute against it, and returns the id the master gave it.
// A bare program name that is a file here is made a path to it: programs
// are looked for in the working directory first (program.Find), and a
// reference worker, which knows no working directory, is then sent the
// file's path.
func (o *options) submit() (int, error) {
	job := o.job
	dir, err := os.Getwd()
	if err != nil {
		return 0, err
	}
	job.WorkDir = dir
	for _, exe := range []*string{&job.MapperExecutable, &job.ReducerExecutable, &job.CombinerExecutable} {
		if *exe != "" && program.Bare(*exe) {
			if found, err := program.Find(*exe, dir); err == nil && filepath.Dir(found) == dir {
				*exe = found
			}
		}
	}
	jobspec.Resolve(&job, dir)
	var reply protocol.Message
	err = o.retrying(submitRetries, func() error {
		var err error
		reply, err = o.tcp.Request(o.addr(), job, 10*time.Second)
		return err
	})
	if classify(err) == unanswered {
		return 0, fmt.Errorf("%w\nthe job may have been queued all the same; see %s", err, o.command("--status"))
	}
	if err != nil {
		return 0, err
	}
	switch r := reply.(type) {
	case protocol.JobAccepted:
		return r.JobID, nil
	case protocol.Error:
		return 0, errors.New(r.Error)
	}
	return 0, fmt.Errorf("unexpected answer %T", reply)
}

func (o *options) query(id *int, brief bool) (protocol.ClusterStatus, error) {
	return o.ask(protocol.JobStatusRequest{JobID: id, Brief: brief})
}

// ask sends a job_status request and returns the answer.
func (o *options) ask(req protocol.JobStatusRequest) (protocol.ClusterStatus, error) {
	reply, err := o.tcp.Request(o.addr(), req, 10*time.Second)
	if err != nil {
		return protocol.ClusterStatus{}, err
	}
	switch r := reply.(type) {
	case protocol.ClusterStatus:
		return r, nil
	case protocol.Error:
		return protocol.ClusterStatus{}, answerError{r.Error}
	}
	return protocol.ClusterStatus{}, answerError{fmt.Sprintf("unexpected answer %T", reply)}
}

// answerError is an answer of the master's that refuses a request: unlike
// a failure to reach the master, asking again does not help.
type answerError struct{ text string }

func (e answerError) Error() string { return e.text }

// askAcrossRestarts is ask, tried again while the master cannot be
// reached, as while it restarts, or drops the connection (waitRetries).
func (o *options) askAcrossRestarts(req protocol.JobStatusRequest) (protocol.ClusterStatus, error) {
	var status protocol.ClusterStatus
	err := o.retrying(waitRetries, func() error {
		var err error
		status, err = o.ask(req)
		return err
	})
	return status, err
}

// waitFor polls the job until it ends, printing progress: one line redrawn
// in place on a terminal, a line per change elsewhere.
func (o *options) waitFor(out io.Writer, id int) error {
	var deadline time.Time
	if o.timeout > 0 {
		deadline = time.Now().Add(o.timeout)
		o.until = deadline
	}
	last, seen := "", ""
	start := time.Now()
	for {
		// Our master holds the answer until the job's progress changes
		// (wait_ms); one that does not answers at once, and the pause
		// below paces the polls.
		status, err := o.askAcrossRestarts(protocol.JobStatusRequest{JobID: &id, Brief: true, WaitMS: statusWait, Seen: seen})
		if err != nil {
			// The job is the master's, not ours: it lives on (journaled)
			// whatever became of the connection.
			return fmt.Errorf("%w\nstopped waiting for job %d, which the master keeps: sendjob --status %d %d tells how it goes", err, id, o.port, id)
		}
		job := status.Jobs[0]
		changed := job.Progress() != seen
		seen = job.Progress()
		line := progressLine(job)
		if line != last {
			if o.terminal {
				fmt.Fprintf(out, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(out, line)
			}
			last = line
		}
		switch job.State {
		case protocol.JobDone:
			if o.terminal {
				fmt.Fprintln(out)
			}
			fmt.Fprintf(out, "job %d done: output in %s\n", id, job.OutputDirectory)
			printCounters(out, job)
			return nil
		case protocol.JobFailed:
			if o.terminal {
				fmt.Fprintln(out)
			}
			printCounters(out, job)
			err := fmt.Errorf("job %d failed: %s", id, strings.Join(job.Errors, "; "))
			if job.Logs {
				err = fmt.Errorf("%w\nthe tasks' logs: %s", err, o.logsCommand(id))
			}
			return err
		case protocol.JobCancelled:
			if o.terminal {
				fmt.Fprintln(out)
			}
			return fmt.Errorf("job %d cancelled", id)
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return fmt.Errorf("job %d still %s after %s", id, job.State, o.timeout)
		}
		if !changed {
			time.Sleep(min(max(time.Since(start)/10, minPoll), maxPoll))
		}
	}
}

func progressLine(job protocol.JobInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "job %d %-8s", job.ID, job.State)
	for _, p := range job.Phases {
		// A phase with no tasks yet shows once it has some: a job without a
		// combiner has no combine phase, a map-only job nothing after map,
		// a job of the shuffle no sort.
		if p.Total > 0 || p.Name == protocol.PhaseMap {
			fmt.Fprintf(&b, "  %s %s %d/%d", p.Name, bar(p.Done, p.Total), p.Done, p.Total)
		}
	}
	if job.Waiting != "" {
		fmt.Fprintf(&b, "  waiting: %s", job.Waiting)
	}
	return b.String()
}

func bar(done, total int) string {
	const width = 10
	n := 0
	if total > 0 {
		n = done * width / total
	}
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

func printStatus(out io.Writer, status protocol.ClusterStatus) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSTATE\tTASKS DONE\tSTARTED\tENDED\tERRORS")
	for _, j := range status.Jobs {
		var counts []string
		for _, p := range j.Phases {
			if p.Total > 0 {
				counts = append(counts, fmt.Sprintf("%s %d/%d", p.Name, p.Done, p.Total))
			}
		}
		// One line a job: an error's lines (a traceback) are joined.
		errs := strings.Join(strings.Fields(strings.Join(j.Errors, "; ")), " ")
		state := j.State
		if j.Waiting != "" {
			state += " (waiting: " + j.Waiting + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", j.ID, state, strings.Join(counts, ", "),
			clock(j.Started), clock(j.Ended), errs)
	}
	if status.JobsOmitted > 0 {
		fmt.Fprintf(tw, "(jobs 0 to %d not listed: too many to answer at once; ask for one by its id)\n", status.JobsOmitted-1)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "WORKER\tADDRESS\tSTATE\tTASKS\tLAST HEARTBEAT\tEXCLUDED")
	for _, w := range status.Workers {
		fmt.Fprintf(tw, "%d\t%s:%d\t%s\t%d\t%s\t%s\n", w.PID, w.Host, w.Port, w.State, w.Tasks, w.LastHeartbeat.Format("15:04:05.000"), excluded(w))
	}
	tw.Flush()
}

// excluded says until when and why an excluded worker takes no task, on
// one line; "" for any other.
func excluded(w protocol.WorkerInfo) string {
	if w.Excluded == "" {
		return ""
	}
	return strings.Join(strings.Fields("until "+clock(w.ExcludedUntil)+": "+w.Excluded), " ")
}

func clock(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format("15:04:05")
}

// sendShutdown sends shutdown, and reads what comes back for a moment: a
// master (ours or a reference one) takes it and closes the connection
// without an answer, while a process that refuses it answers an error
// (a worker's port, with a secret: a frame sealed for the master), which
// must not pass for success.
func (o *options) sendShutdown() error {
	answer, err := o.tcp.Request(o.addr(), protocol.Shutdown{}, 5*time.Second)
	switch {
	case errors.Is(err, protocol.ErrEmpty):
		return nil // taken
	case protocol.RefusedBy(err, protocol.RoleWorker):
		return fmt.Errorf("shutdown refused: port %d is a worker's, not a master's; give the master's port, and it shuts its workers down too", o.port)
	case err != nil:
		return fmt.Errorf("shutdown: %w", err)
	}
	if e, ok := answer.(protocol.Error); ok {
		return fmt.Errorf("shutdown refused: %s", e.Error)
	}
	return nil
}
