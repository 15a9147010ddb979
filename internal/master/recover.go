package master

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mapreduce/internal/journal"
	"mapreduce/internal/layout"
	"mapreduce/internal/scheduler"
	"mapreduce/internal/vardir"
	"mapreduce/protocol"
)

// journalDir is where the master keeps its journal, inside its var.
const journalDir = "journal"

// logsDir holds the task logs in var (layout.Logs).
var logsDir = filepath.Base(filepath.Dir(layout.Logs("", 0)))

// openJournal opens the journal in the var directory, emptied first for
// --fresh (the var's other files with it), and readies what it kept for
// the scheduler (recovered).
func (s *Server) openJournal() (*journal.State, error) {
	varDir := s.cfg.Scheduler.VarDir
	dir := filepath.Join(varDir, journalDir)
	if s.cfg.Fresh {
		if err := journal.Fresh(dir); err != nil {
			return nil, err
		}
		if err := vardir.Wipe(varDir, vardir.Master, journalDir); err != nil {
			return nil, err
		}
	}
	jr, torn, err := journal.Open(dir)
	if err != nil {
		return nil, err
	}
	if torn != "" {
		// What was torn was never acted on: it was not synced.
		s.log.Warn().Str("dropped", torn).Msg("journal: the last records were torn by a crash; replayed up to them")
	}
	s.journal = jr
	return s.recovered(time.Now())
}

// recovered is the journal's state as the scheduler should take it: a
// commit that a crash interrupted is finished (or the job fails), the map
// and later tasks' outputs that are no longer on disk are forgotten, the
// commit directories that reducers' outputs are moved into are emptied
// (they are moved again), and the directories of jobs that ended are
// removed.
func (s *Server) recovered(now time.Time) (*journal.State, error) {
	kept := s.journal.State()
	for _, j := range kept.Jobs {
		if j.Ended != nil || j.Commit == nil {
			continue
		}
		ended, leftover := finishCommit(now, j.Commit)
		if leftover != nil {
			s.log.Warn().Err(leftover).Int("job", j.Job).Str("dir", j.Commit.Temp).
				Msg("journal: the outputs are in place, but what was left in the commit directory could not be removed")
		}
		if err := s.journal.Append([]journal.Record{{Ended: ended}}); err != nil {
			return nil, err
		}
		s.log.Info().Int("job", j.Job).Str("state", j.Ended.Info.State).Msg("journal: finished the commit a crash interrupted")
	}
	st := *kept
	st.Jobs = make([]*journal.Job, len(kept.Jobs))
	live := map[string]bool{}
	for i, j := range kept.Jobs {
		st.Jobs[i] = j
		if j.Ended != nil {
			continue
		}
		live[filepath.Base(string(layout.JobDir("", j.Job)))] = true
		if movesOutputs(j) {
			// Its reducers' outputs are moved into its commit directory
			// again: what a crash left there goes.
			if err := os.RemoveAll(layout.CommitDir(j.Spec.OutputDirectory, j.Job)); err != nil {
				s.log.Warn().Err(err).Int("job", j.Job).Msg("journal: cannot remove the job's commit directory")
			}
		}
		copied := *j
		gone := 0
		copied.Done, gone = onDisk(j.Done)
		copied.Later = make(map[string]*journal.Later, len(j.Later))
		for stage, l := range j.Later {
			kept := *l
			var n int
			kept.Done, n = onDisk(l.Done)
			gone += n
			copied.Later[stage] = &kept
		}
		if gone > 0 {
			s.log.Warn().Int("job", j.Job).Int("tasks", gone).Msg("journal: outputs of finished tasks no longer on disk; those tasks run again")
		}
		st.Jobs[i] = &copied
	}
	s.removeStale(live)
	return &st, nil
}

// finishCommit renames into c.Dest the outputs still in c.Temp, then
// writes the success marker, and returns how the job ended, and what
// could not be removed of c.Temp (see commitOutputs).
func finishCommit(now time.Time, c *journal.Commit) (*journal.Ended, error) {
	info := c.Info
	info.Ended = &now
	info.State = protocol.JobDone
	leftover, err := redoCommit(c.Temp, c.Dest, c.Names)
	if err != nil {
		info.State = protocol.JobFailed
		info.Errors = append(info.Errors, fmt.Sprintf("finish the commit a master crash interrupted: %v", err))
	}
	return &journal.Ended{Job: c.Job, Info: info, Logged: info.Logs}, leftover
}

// redoCommit is commitOutputs after a crash, when some outputs may be in
// place already.
func redoCommit(temp, dest string, names []string) (leftover, err error) {
	// A commit that cannot be finished is undone, as commitOutputs undoes
	// one: the outputs it put in place go, and so does temp.
	var placed []string
	defer func() {
		if err != nil {
			for _, p := range placed {
				os.Remove(p)
			}
			os.RemoveAll(temp)
		}
	}()
	for _, name := range names {
		from, to := filepath.Join(temp, name), filepath.Join(dest, filepath.Base(name))
		_, inTemp := os.Lstat(from)
		_, inDest := os.Lstat(to)
		switch {
		case inTemp != nil && inDest == nil:
			placed = append(placed, to) // renamed before the crash
			continue
		case inTemp != nil:
			return nil, fmt.Errorf("output %s is in neither %s nor %s", name, temp, dest)
		case inDest == nil:
			// Not renamed, and something else took its name: as
			// commitOutputs, the commit does not overwrite it.
			return nil, fmt.Errorf("%s already exists", to)
		}
		if err := os.Rename(from, to); err != nil {
			return nil, err
		}
		placed = append(placed, to)
	}
	leftover = removeTemp(temp)
	f, err := os.OpenFile(filepath.Join(dest, layout.SuccessMarker), os.O_WRONLY|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	return leftover, f.Close()
}

// movesOutputs reports whether j's reducers' outputs are moved into its
// commit directory when they are all made (the reference path), rather
// than written there by its tasks (the shuffle, a map-only job).
func movesOutputs(j *journal.Job) bool {
	return j.Spec.NumReducers > 0 && (j.Plan == nil || j.Plan.Mode != journal.ModeShuffle)
}

// onDisk returns the tasks of done whose outputs all exist, and how many
// others there were.
func onDisk(done map[int]journal.Done) (map[int]journal.Done, int) {
	kept := make(map[int]journal.Done, len(done))
	for index, d := range done {
		if allExist(d.Outputs) {
			kept[index] = d
		}
	}
	return kept, len(done) - len(kept)
}

func allExist(paths []string) bool {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

// removeStale removes from var what no job needs: the directories of jobs
// not in live (a crash may have come before their removal, unless they are
// kept), and anything else but the journal and the logs.
func (s *Server) removeStale(live map[string]bool) {
	varDir := s.cfg.Scheduler.VarDir
	entries, err := os.ReadDir(varDir)
	if err != nil {
		s.log.Warn().Err(err).Msg("journal: cannot list the var directory")
		return
	}
	for _, e := range entries {
		name := e.Name()
		id, found := strings.CutPrefix(name, "job-")
		_, err := strconv.Atoi(id)
		isJob := found && err == nil
		switch {
		case live[name], name == journalDir, name == logsDir, name == vardir.Master.Marker, name == vardir.LockFile:
			continue
		case isJob && s.cfg.Scheduler.KeepIntermediates:
			continue
		}
		// At once, as the var was wiped before there was a journal: the
		// master serves nothing yet.
		if err := os.RemoveAll(filepath.Join(varDir, name)); err != nil {
			s.log.Warn().Err(err).Msg("journal: cannot remove what no job in the journal needs")
		}
	}
}

// persist appends the records that actions ask for to the journal, synced,
// and returns the other actions. A journal that cannot be written is
// logged, and the master goes on: it can still finish its jobs, but a crash
// now loses them.
func (s *Server) persist(actions []scheduler.Action) []scheduler.Action {
	var records []journal.Record
	rest := actions[:0:0]
	for _, a := range actions {
		if p, ok := a.(scheduler.Persist); ok {
			records = append(records, p.Record)
			continue
		}
		rest = append(rest, a)
	}
	if len(records) > 0 && s.journal != nil {
		if err := s.journal.Append(records); err != nil {
			s.log.Error().Err(err).Msg("journal: a crash now may lose what it did not keep")
		}
		for _, r := range records {
			if r.Ended != nil {
				appends, took := s.journal.Cost()
				s.log.Info().Int("job", r.Ended.Job).Int("appends", appends).Float64("synced_ms", float64(took.Microseconds())/1000).
					Msg("journal: what it cost since the master started")
			}
		}
	}
	return rest
}
