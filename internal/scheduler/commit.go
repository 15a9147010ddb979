package scheduler

import (
	"fmt"
	"path/filepath"
	"time"

	"mapreduce/internal/layout"
)

// The commit stage puts a job's outputs into its output directory whole,
// as Hadoop's FileOutputCommitter does: they are gathered in a commit
// directory inside it (moved there by MoveOutputs, or written there by
// the tasks: the shuffle's reducers, a map-only job's mappers), then
// renamed into place, the success marker last (CommitOutputs).

// beginCommit asks for the outputs of the stage before it (the reducers',
// or a map-only job's mappers') to be moved into the job's commit
// directory, inside its output directory. In a job that runs the shuffle,
// or a map-only job, the tasks wrote there already.
func (s *Scheduler) beginCommit(j *job, st *stage) []Action {
	if j.commitDirMade {
		return s.commit(j, st)
	}
	files := outputsOf(j.previous(st).tasks)
	return []Action{MoveOutputs{Job: j.id, Files: files, Dest: j.spec.OutputDirectory, Temp: j.commitDir()}}
}

func (j *job) commitDir() string { return layout.CommitDir(j.spec.OutputDirectory, j.id) }

// onOutputsMoved commits the outputs that were moved into the job's commit
// directory, or fails the job. Outputs moved for a job that ended
// meanwhile (cancelled, or failed by a task run again) are discarded.
func (s *Scheduler) onOutputsMoved(now time.Time, jobID int, err error) []Action {
	j, st := s.underway(jobID, stageCommit)
	if st == nil || st.planned {
		if j := s.job(jobID); j != nil && (j.failed || j.cancelled) && err == nil {
			return []Action{DiscardOutputs{Job: j.id, Temp: j.commitDir()}}
		}
		return nil
	}
	if err != nil {
		return append(s.fail(now, j, fmt.Sprintf("move outputs to %s: %v", j.spec.OutputDirectory, err)), s.advance(now)...)
	}
	return s.commit(j, st)
}

// commit asks for j's outputs, in its commit directory, to be renamed into
// place. The commit stage has nothing more to plan: its last step is asked
// for.
func (s *Scheduler) commit(j *job, st *stage) []Action {
	st.planned = true
	var names []string
	for _, f := range outputsOf(j.previous(st).tasks) {
		name := filepath.Base(f) // moved into the commit directory by its name
		if j.commitDirMade {
			// Written there by its task, maybe apart.
			if rel, err := filepath.Rel(j.commitDir(), f); err == nil && filepath.IsLocal(rel) {
				name = rel
			}
		}
		names = append(names, name)
	}
	c := CommitOutputs{Job: j.id, Temp: j.commitDir(), Dest: j.spec.OutputDirectory, Names: names}
	return []Action{commitRecord(j, c), c}
}

// onOutputsCommitted ends a job whose outputs are in its output directory, or
// fails it and discards the outputs, which its output directory does not
// hold.
func (s *Scheduler) onOutputsCommitted(now time.Time, jobID int, err error) []Action {
	j, st := s.underway(jobID, stageCommit)
	if st == nil || !st.planned {
		return nil
	}
	if err != nil {
		actions := []Action{DiscardOutputs{Job: j.id, Temp: j.commitDir()}}
		actions = append(actions, s.fail(now, j, fmt.Sprintf("commit outputs to %s: %v", j.spec.OutputDirectory, err))...)
		return append(actions, s.advance(now)...)
	}
	s.finish(now, st)
	return s.advance(now)
}
