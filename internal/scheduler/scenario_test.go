package scheduler

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/journal"
	"mapreduce/protocol"
)

// Scenario tests, as etcd-io/raft's testdata: each file in testdata/ is a
// story told as events ("> " lines) and the actions each returns (the lines
// after it). `go test -run TestScenarios -rewrite` writes the actions the
// scheduler returns now into the files; review the diff before keeping it.
//
// Events:
//
//	> config [speculate] [task-timeout=D] [max-attempts=N] [keep-intermediates] [forget-dead-after=D]
//	         [exclude-after=N] [exclude-window=D] [exclude-for=D]   (first) settings
//	> register PID [CAPABILITY...] [id]   a worker registers, e.g. with progress cancel;
//	                               with id, it sends a worker_id, as ours do
//	> rejoin PID [CAPABILITY...] [TASK=N...]   a worker registered with id heartbeats a
//	                               master that does not know it, with its registration
//	                               and the tasks it runs
//	> submit MAPPERS REDUCERS [combiner] [cmdenv] [split-per-file]   REDUCERS 0: a map-only job
//	> scan N [SIZE...]             the input of the job asked for holds N files, of
//	                               1000 bytes or of the sizes given in turn
//	> finish TASK [PID]            the worker holding TASK (or PID) reports it finished
//	> fail TASK TEXT               ... reports it failed with TEXT
//	> fault TASK TEXT              ... reports it failed with TEXT for a fault of its own
//	> retry TASK MISSING           ... reports it failed for want of MISSING
//	> lost TASK RUN...             a reduce task of the shuffle could not fetch RUNs
//	> partition I / > merged / > moved / > committed   the master's own work reports back
//	> merged|moved|committed fail TEXT   ... that it failed with TEXT
//	> wait DURATION                time passes; the scheduler ticks
//	> beat PID...                  heartbeats
//	> progress PID TASK=N...       a heartbeat listing tasks with their progress
//	> progress PID cut TASK=N...   ... whose list was cut short (tasks_cut)
//	> progress PID TASK#A=N...     ... listing attempt A of TASK, not its last
//	> cancel JOB                   sendjob --cancel
//	> state [JOB]                  the (last submitted) job's state and phases, and why it waits
//	> workers                      each worker's state and tasks held (and
//	                               why and until when it is excluded)
//	> restart                      the master restarts: a new scheduler takes what
//	                               the journal kept of the records asked for so far
//	> journal                      what the journal holds: each job's state, and
//	                               its map tasks done
//	> paths TASK                   the paths TASK's last message names: what it
//	                               reads and where it writes
//
// A task is named by its stage and inputs' names, as actions print it:
// map[file_000.txt], sort[file_000.txt,file_001.txt], reduce[input_0];
// a map task that reads a split by its ranges: map[file_000.txt:0+500].
var rewrite = flag.Bool("rewrite", false, "rewrite testdata/ with the actions the scheduler returns now")

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := runScenario(t, string(data))
			if *rewrite {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != string(data) {
				t.Errorf("scenario differs (want = the file, got = now):\n%s", lineDiff(string(data), got))
			}
		})
	}
}

// scenario is one story being played.
type scenario struct {
	t     *testing.T
	s     *Scheduler
	now   time.Time
	sends map[string]Send // the last Send of each task, by name
	// sendsTo are the last Send of each task to each worker, by name@pid:
	// an attempt that writes apart is sent its own paths.
	sendsTo map[string]Send
	// job is the last job submitted; asked is the job of the last action
	// of the master's own work, which scan, partition, merged and moved
	// answer.
	job, asked int
	// kept folds the records the scheduler asked the journal to keep;
	// ids are the workers that registered with a worker_id.
	kept journal.State
	ids  map[int]bool
	// later: the scheduler could not take the last status yet
	// (Result.Later).
	later bool
}

func newScenario(t *testing.T) *scenario {
	return &scenario{t: t, now: t0, sends: map[string]Send{}, sendsTo: map[string]Send{}, job: -1, ids: map[int]bool{}}
}

// runScenario plays text's events and returns text with each event's
// actions in place of what followed it.
func runScenario(t *testing.T, text string) string {
	sc := newScenario(t)
	var out strings.Builder
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if !strings.HasPrefix(line, "> ") {
			if !strings.HasPrefix(line, "  ") { // comments and blank lines stay
				out.WriteString(line + "\n")
			}
			continue
		}
		out.WriteString(line + "\n")
		for _, a := range sc.play(strings.Fields(line[2:])) {
			out.WriteString("  " + a + "\n")
		}
	}
	return out.String()
}

// play runs one event and describes what came of it.
func (sc *scenario) play(words []string) []string {
	t := sc.t
	arg := func(i int) string {
		if i >= len(words) {
			t.Fatalf("event %q needs more words", strings.Join(words, " "))
		}
		return words[i]
	}
	num := func(i int) int {
		n, err := strconv.Atoi(arg(i))
		if err != nil {
			t.Fatalf("event %q: %v", strings.Join(words, " "), err)
		}
		return n
	}
	var acts []Action
	switch arg(0) {
	case "config":
		if sc.s != nil {
			t.Fatal("config must come before any other event")
		}
		cfg := testConfig
		for _, w := range words[1:] {
			name, value, _ := strings.Cut(w, "=")
			switch name {
			case "speculate":
				cfg.Speculate, cfg.SpeculateAfter = true, 3*sec
			case "task-timeout":
				d, err := time.ParseDuration(value)
				if err != nil {
					t.Fatal(err)
				}
				cfg.TaskTimeout = d
			case "max-attempts":
				cfg.MaxAttempts, _ = strconv.Atoi(value)
			case "keep-intermediates":
				cfg.KeepIntermediates = true
			case "forget-dead-after", "exclude-window", "exclude-for":
				d, err := time.ParseDuration(value)
				if err != nil {
					t.Fatal(err)
				}
				*map[string]*time.Duration{"forget-dead-after": &cfg.ForgetDeadAfter, "exclude-window": &cfg.ExcludeWindow,
					"exclude-for": &cfg.ExcludeFor}[name] = d
			case "exclude-after":
				cfg.ExcludeAfter, _ = strconv.Atoi(value)
			default:
				t.Fatalf("unknown setting %q", w)
			}
		}
		sc.s = New(cfg, zerolog.Nop())
		return nil
	}
	if sc.s == nil {
		sc.s = newScheduler()
	}
	switch arg(0) {
	case "register":
		pid := num(1)
		msg := protocol.Register{WorkerHost: "localhost", WorkerPort: port(pid), WorkerPID: pid, Capabilities: words[2:]}
		if slices.Contains(words[2:], "id") {
			msg.WorkerID, sc.ids[pid] = workerID(pid), true
		}
		acts = sc.step(RegisterEvent{Msg: msg})
	case "rejoin":
		pid := num(1)
		sc.ids[pid] = true
		hb := protocol.Heartbeat{WorkerPID: pid, WorkerID: workerID(pid), WorkerHost: "localhost", WorkerPort: port(pid)}
		for _, w := range words[2:] {
			name, count, isTask := strings.Cut(w, "=")
			if !isTask {
				hb.Capabilities = append(hb.Capabilities, w)
				continue
			}
			n, _ := strconv.ParseInt(count, 10, 64)
			st := finished(sc.send(name))
			hb.Tasks = append(hb.Tasks, protocol.TaskProgress{Output: st.Files()[0], Task: st.Task, Progress: n})
		}
		acts = sc.step(HeartbeatEvent{Msg: hb})
	case "restart":
		// The tasks sent so far are still known by name: their workers
		// may run them still.
		sc.s = New(sc.s.cfg, zerolog.Nop())
		if err := sc.kept.Apply(journal.Record{Started: &journal.Started{Life: sc.kept.Lives + 1}}); err != nil {
			t.Fatal(err)
		}
		acts = sc.step(RestoreEvent{State: &sc.kept})
	case "paths":
		// The paths the task's last Send names, under the var directory.
		snd := sc.send(arg(1))
		var lines []string
		for _, in := range inputsOf(snd) {
			lines = append(lines, "reads "+strings.TrimPrefix(in, sc.s.cfg.VarDir+"/"))
		}
		out := ""
		switch m := snd.Msg.(type) {
		case protocol.NewWorkerJob:
			out = m.OutputDirectory
		case protocol.NewSortJob:
			out = m.OutputFile
		}
		return append(lines, "writes "+strings.TrimPrefix(out, sc.s.cfg.VarDir+"/"))
	case "journal":
		var lines []string
		for _, j := range sc.kept.Jobs {
			state := "not ended"
			if j.Ended != nil {
				state = j.Ended.Info.State
			}
			lines = append(lines, fmt.Sprintf("job %d %s, map tasks done %v", j.Job, state, slices.Sorted(maps.Keys(j.Done))))
		}
		return lines
	case "submit":
		job := spec(num(1), num(2))
		if slices.Contains(words, "combiner") {
			job.CombinerExecutable = "/bin/combine"
		}
		if slices.Contains(words, "cmdenv") {
			job.Cmdenv = []string{"SETTING=on"}
		}
		job.SplitPerFile = slices.Contains(words, "split-per-file")
		var r Result
		acts, r = sc.s.Step(sc.now, SubmitEvent{Spec: job})
		sc.job = r.Job
	case "scan":
		files := inputFiles(num(1))
		for i := 2; i < len(words); i++ {
			size, err := strconv.ParseInt(arg(i), 10, 64)
			if err != nil {
				t.Fatalf("event %q: %v", strings.Join(words, " "), err)
			}
			files[(i-2)%len(files)].Size = size
		}
		acts = sc.step(InputScannedEvent{Job: sc.asked, Files: files})
	case "finish":
		snd := sc.send(arg(1))
		if len(words) > 2 { // a worker other than the last one sent it
			if to, ok := sc.sendsTo[fmt.Sprintf("%s@%d", arg(1), num(2))]; ok {
				snd = to
			}
			snd.PID = num(2)
		}
		st := finished(snd)
		acts = sc.step(StatusEvent{Msg: st})
	case "fail":
		acts = sc.step(StatusEvent{Msg: failed(sc.send(arg(1)), strings.Join(words[2:], " "))})
	case "fault":
		st := failed(sc.send(arg(1)), strings.Join(words[2:], " "))
		st.Fault = protocol.FaultWorker
		acts = sc.step(StatusEvent{Msg: st})
	case "retry":
		snd := sc.send(arg(1))
		missing := sc.inputOf(snd, arg(2))
		acts = sc.step(StatusEvent{Msg: retry(snd, "open "+missing+": no such file", missing)})
	case "lost":
		acts = sc.step(StatusEvent{Msg: lostRuns(sc.send(arg(1)), words[2:]...)})
	case "partition":
		acts = sc.step(PartitionMergedEvent{Job: sc.asked, Partition: num(1)})
	case "merged":
		acts = sc.step(MergedEvent{Job: sc.asked, Err: sc.failure(words)})
	case "moved":
		acts = sc.step(OutputsMovedEvent{Job: sc.asked, Err: sc.failure(words)})
	case "committed":
		acts = sc.step(OutputsCommittedEvent{Job: sc.asked, Err: sc.failure(words)})
	case "wait":
		d, err := time.ParseDuration(arg(1))
		if err != nil {
			t.Fatal(err)
		}
		sc.now = sc.now.Add(d)
		acts = sc.step(TickEvent{})
	case "beat":
		for i := 1; i < len(words); i++ {
			acts = append(acts, sc.step(HeartbeatEvent{Msg: protocol.Heartbeat{WorkerPID: num(i)}})...)
		}
	case "progress":
		hb := protocol.Heartbeat{WorkerPID: num(1)}
		listed := words[2:]
		if len(listed) > 0 && listed[0] == "cut" {
			hb.TasksCut, listed = true, listed[1:]
		}
		for _, w := range listed {
			name, count, _ := strings.Cut(w, "=")
			name, attempt, older := strings.Cut(name, "#")
			n, _ := strconv.ParseInt(count, 10, 64)
			st := finished(sc.send(name))
			if older && st.Task != nil {
				// An earlier attempt of the task, still running there.
				id := *st.Task
				id.Attempt, _ = strconv.Atoi(attempt)
				st.Task = &id
			}
			hb.Tasks = append(hb.Tasks, protocol.TaskProgress{Output: st.Files()[0], Task: st.Task, Progress: n})
		}
		acts = sc.step(HeartbeatEvent{Msg: hb})
	case "cancel":
		var r Result
		acts, r = sc.s.Step(sc.now, CancelEvent{Job: num(1)})
		if r.Err != nil {
			return []string{"error: " + r.Err.Error()}
		}
	case "state":
		id := sc.job
		if len(words) > 1 {
			id = num(1)
		}
		j := jobInfo(t, sc.s, id)
		line := j.State
		for _, p := range j.Phases {
			line += fmt.Sprintf(" %s %d/%d", p.Name, p.Done, p.Total)
		}
		if j.Waiting != "" {
			line += " (waiting: " + j.Waiting + ")"
		}
		lines := []string{line}
		for _, e := range j.Errors {
			lines = append(lines, "error: "+e)
		}
		return lines
	case "workers":
		st, _ := sc.s.Snapshot(nil, false)
		var lines []string
		for _, w := range st.Workers {
			line := fmt.Sprintf("%d %s %d", w.PID, w.State, w.Tasks)
			if w.ExcludedUntil != nil {
				line += fmt.Sprintf(" (until %s: %s)", w.ExcludedUntil.Sub(t0), w.Excluded)
			}
			lines = append(lines, line)
		}
		return lines
	default:
		t.Fatalf("unknown event %q", arg(0))
	}
	lines := sc.describe(acts)
	if sc.later {
		// The master answers an error, and our worker sends it again.
		lines = append(lines, "status not acknowledged: not yet")
		sc.later = false
	}
	return lines
}

// workerID is the worker_id of worker pid, when it sends one.
func workerID(pid int) string { return fmt.Sprintf("w%d", pid) }

// step plays ev at the scenario's time; the events that answer something
// call Step themselves.
func (sc *scenario) step(ev Event) []Action {
	// A worker that registered with an id sends it in every message.
	switch e := ev.(type) {
	case StatusEvent:
		if sc.ids[e.Msg.WorkerPID] {
			e.Msg.WorkerID = workerID(e.Msg.WorkerPID)
		}
		ev = e
	case HeartbeatEvent:
		if sc.ids[e.Msg.WorkerPID] {
			e.Msg.WorkerID = workerID(e.Msg.WorkerPID)
		}
		ev = e
	}
	acts, r := sc.s.Step(sc.now, ev)
	sc.later = r.Later
	return acts
}

// failure is the error of "EVENT fail TEXT", nil for a bare EVENT.
func (sc *scenario) failure(words []string) error {
	if len(words) < 2 {
		return nil
	}
	if words[1] != "fail" || len(words) < 3 {
		sc.t.Fatalf("event %q: want %s or %s fail TEXT", strings.Join(words, " "), words[0], words[0])
	}
	return errors.New(strings.Join(words[2:], " "))
}

// send returns the last Send of the named task.
func (sc *scenario) send(name string) Send {
	snd, ok := sc.sends[name]
	if !ok {
		sc.t.Fatalf("no task %s has been sent", name)
	}
	return snd
}

// inputOf finds the input of snd's task by its name: a map task's input
// and its output may share a name.
func (sc *scenario) inputOf(snd Send, name string) string {
	for _, in := range inputsOf(snd) {
		if filepath.Base(in) == name {
			return in
		}
	}
	sc.t.Fatalf("task %s reads no %s", taskName(snd), name)
	return ""
}

// taskName names the task a Send carries: its stage and inputs' names.
func taskName(snd Send) string {
	stage := "sort"
	if m, ok := snd.Msg.(protocol.NewWorkerJob); ok {
		dir := m.OutputDirectory
		if strings.HasPrefix(filepath.Base(dir), ".") {
			dir = filepath.Dir(dir) // an attempt that writes apart
		}
		stage = strings.TrimSuffix(filepath.Base(dir), "-output")
		stage = map[string]string{"mapper": "map", "combiner": "combine", "reducer": "reduce"}[stage]
		if strings.HasPrefix(filepath.Base(dir), "_temporary-") {
			stage = "map" // a map-only job's, writing into its commit directory
		}
		if m.Task != nil {
			stage = m.Task.Stage
		}
		if in := m.ReduceInput; in != nil {
			// reduce[1:h..p@101,102]: its index, key range and the
			// workers it fetches from.
			var holders []string
			for _, p := range in.Pieces {
				_, port, _ := strings.Cut(p.Holder, ":")
				n, _ := strconv.Atoi(port)
				holders = append(holders, strconv.Itoa(n-port0))
			}
			return fmt.Sprintf("%s[%d:%s..%s@%s]", stage, m.Task.Index, in.Lo, in.Hi, strings.Join(holders, ","))
		}
	}
	var names []string
	for _, in := range inputsOf(snd) {
		names = append(names, filepath.Base(in))
	}
	if m, ok := snd.Msg.(protocol.NewWorkerJob); ok && m.Split != nil {
		names = names[:0]
		for _, r := range m.Split.Ranges {
			names = append(names, fmt.Sprintf("%s:%d+%d", filepath.Base(r.File), r.Start, r.Length))
		}
	}
	return fmt.Sprintf("%s[%s]", stage, strings.Join(names, ","))
}

// describe prints actions one per line, and remembers task Sends by name.
func (sc *scenario) describe(acts []Action) []string {
	var lines []string
	for _, a := range acts {
		switch a := a.(type) {
		case Persist:
			// Kept for restart and journal, not printed: a story tells
			// what the scheduler does.
			if err := sc.kept.Apply(a.Record); err != nil {
				sc.t.Fatalf("journal record %+v: %v", a.Record, err)
			}
			continue
		case Send:
			what := a.Msg.Type()
			if c, ok := a.Msg.(protocol.CancelTask); ok {
				what += "(" + filepath.Base(c.Output)
				if c.Task != nil {
					what += fmt.Sprintf(" attempt %d", c.Task.Attempt)
				}
				what += ")"
			}
			if inputsOf(a) != nil {
				what = taskName(a)
				sc.sends[what] = a
				sc.sendsTo[fmt.Sprintf("%s@%d", what, a.PID)] = a
			}
			lines = append(lines, fmt.Sprintf("send %s to %d", what, a.PID))
		case CloseOutbox:
			lines = append(lines, fmt.Sprintf("close outbox %d", a.Incarnation))
		case MakeJobDirs:
			if len(a.Dirs) == 1 && strings.HasPrefix(filepath.Base(a.Dirs[0]), ".") {
				// Where an attempt writes apart.
				lines = append(lines, fmt.Sprintf("make dir %s of job %d", filepath.Base(a.Dirs[0]), a.Job))
				continue
			}
			lines = append(lines, fmt.Sprintf("make dirs of job %d", a.Job))
		case ScanInput:
			sc.asked = a.Job
			lines = append(lines, fmt.Sprintf("scan input of job %d", a.Job))
		case Merge:
			sc.asked = a.Job
			lines = append(lines, fmt.Sprintf("merge %s into %d partitions", baseNames(a.Inputs), a.Reducers))
		case MoveOutputs:
			sc.asked = a.Job
			lines = append(lines, fmt.Sprintf("move %s into %s", baseNames(a.Files), a.Temp))
		case CommitOutputs:
			sc.asked = a.Job
			lines = append(lines, fmt.Sprintf("commit %v from %s into %s", a.Names, a.Temp, a.Dest))
		case DiscardOutputs:
			lines = append(lines, fmt.Sprintf("discard %s", a.Temp))
		case RemoveJobDir:
			lines = append(lines, fmt.Sprintf("remove %s", a.Dir))
		default:
			lines = append(lines, fmt.Sprintf("%T%+v", a, a))
		}
	}
	return lines
}

func baseNames(files []string) string {
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	return "[" + strings.Join(names, ",") + "]"
}

// lineDiff marks the lines of want missing from got (-) and those of got
// missing from want (+), in order: enough to read a scenario's change.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			b.WriteString("  " + w[i] + "\n")
			i++
			j++
		case j < len(g) && !slices.Contains(w[i:], g[j]):
			b.WriteString("+ " + g[j] + "\n")
			j++
		default:
			b.WriteString("- " + w[i] + "\n")
			i++
		}
	}
	return b.String()
}
