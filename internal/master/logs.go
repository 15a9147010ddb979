package master

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"mapreduce/internal/atomicfile"
	"mapreduce/internal/layout"
	"mapreduce/internal/scheduler"
	"mapreduce/protocol"
)

// logsBudget bounds the logs of one task_logs answer, as JSON (a byte of a
// log may take six), well within protocol.MaxMessageSize.
const logsBudget = 4 << 20

// keepLog writes an attempt's log where taskLogs finds it.
func (s *Server) keepLog(a scheduler.KeepLog) {
	err := os.MkdirAll(filepath.Dir(a.Path), 0o755)
	var f *atomicfile.File
	if err == nil {
		f, err = atomicfile.Create(a.Path)
	}
	if err == nil {
		if _, err = f.WriteString(a.Text); err != nil {
			f.Abort()
		} else {
			err = f.Commit()
		}
	}
	if err != nil {
		s.log.Warn().Err(err).Int("job", a.Job).Str("path", a.Path).Msg("could not keep a task's log")
	}
}

// taskLogs answers a task_logs request: the logs kept of job id's tasks,
// or of the one task named.
func (s *Server) taskLogs(req protocol.TaskLogsRequest) protocol.Message {
	err, askErr := read(s, func() error { return s.sched.LogsKept(req.JobID) })
	if err = cmp.Or(err, askErr); err != nil {
		return protocol.Error{Error: err.Error()}
	}
	logs, omitted, err := readLogs(s.cfg.Scheduler.VarDir, req.JobID, req.Task, logsBudget)
	if err != nil {
		s.log.Warn().Err(err).Int("job", req.JobID).Msg("could not read task logs")
		return protocol.Error{Error: fmt.Sprintf("job %d: %v", req.JobID, err)}
	}
	if len(logs) == 0 && omitted == 0 && req.Task != "" {
		return protocol.Error{Error: fmt.Sprintf("job %d has no log of task %q: its attempts wrote nothing to stderr, or are still running (a log comes when its attempt ends), or there is no such task (tasks are named map-0, combine-0, reduce-0; sort tasks run no program)", req.JobID, req.Task)}
	}
	return protocol.TaskLogs{JobID: req.JobID, Logs: logs, Omitted: omitted}
}

// readLogs reads the logs of job id, of task only if it is not empty, in
// stage order, then by task and attempt, up to budget bytes of text;
// omitted counts those left out.
func readLogs(varDir string, id int, task string, budget int) (logs []protocol.TaskLog, omitted int, err error) {
	entries, err := os.ReadDir(layout.Logs(varDir, id))
	if errors.Is(err, fs.ErrNotExist) {
		return []protocol.TaskLog{}, 0, nil // no task has logged yet
	}
	if err != nil {
		return nil, 0, err
	}
	logs = []protocol.TaskLog{}
	for _, e := range entries {
		name, attempt, ok := layout.ParseTaskLog(e.Name())
		if ok && (task == "" || name == task) {
			logs = append(logs, protocol.TaskLog{Task: name, Attempt: attempt})
		}
	}
	slices.SortFunc(logs, func(a, b protocol.TaskLog) int {
		as, ai := splitTaskName(a.Task)
		bs, bi := splitTaskName(b.Task)
		return cmp.Or(cmp.Compare(as, bs), cmp.Compare(ai, bi), cmp.Compare(a.Attempt, b.Attempt))
	})
	kept := logs[:0]
	for _, l := range logs {
		data, err := os.ReadFile(layout.TaskLog(varDir, id, l.Task, l.Attempt))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since: the job's logs were pruned
		}
		if err != nil {
			return nil, 0, err
		}
		l.Text = string(data)
		quoted, err := json.Marshal(l.Text)
		if err != nil {
			return nil, 0, err
		}
		if len(quoted) > budget {
			omitted++
			continue
		}
		budget -= len(quoted)
		kept = append(kept, l)
	}
	return kept, omitted, nil
}

// splitTaskName splits map-3 into the stage's place in protocol.Phases and
// the index, for sorting.
func splitTaskName(name string) (stage, index int) {
	s, index, _ := layout.ParseTaskName(name)
	return slices.Index(protocol.Phases, s), index
}
