// Package journal keeps what a master must not lose when it crashes: the
// jobs it accepted, the map tasks of the running job that finished, and
// how each job ended. The scheduler says what to keep (records); the
// master appends them, synced, before it acts on the event that made
// them, as etcd-io/raft's Ready puts what must be saved before the
// messages that go out. A master started again replays the journal into a
// State and hands it to its scheduler.
//
// Files by concern:
//
//	record.go  the records and the State they fold into
//	file.go    the files: a snapshot and a log of framed records
//
// The format is in docs/journal.md.
package journal

import (
	"fmt"
	"time"

	"mapreduce/protocol"
)

// Record is one thing to keep; exactly one field is set.
type Record struct {
	Accepted *Accepted `json:"accepted,omitempty"`
	Planned  *Planned  `json:"planned,omitempty"`
	Done     *Done     `json:"done,omitempty"`
	Commit   *Commit   `json:"commit,omitempty"`
	Ended    *Ended    `json:"ended,omitempty"`
	Started  *Started  `json:"started,omitempty"`
}

// Started: a master started on the journal, its Life-th start. Task
// identities carry it, so that a restarted master tells the attempts that
// its predecessors sent from its own.
type Started struct {
	Life int `json:"life"`
}

// Accepted: a client submitted a job, which was given id Job.
type Accepted struct {
	Job       int                   `json:"job"`
	Spec      protocol.NewMasterJob `json:"spec"`
	Submitted time.Time             `json:"submitted"`
}

// The ways a job's map tasks read their input (Planned.Mode).
const (
	// ModeFiles: whole files, an output each (the reference protocol).
	ModeFiles = "files"
	// ModeSplits: byte ranges of files, an output per task.
	ModeSplits = "splits"
	// ModeShuffle: byte ranges, each task's output a run kept on its
	// worker (the shuffle between workers).
	ModeShuffle = "shuffle"
)

// Planned: the job's map tasks were planned. Files lists each task's
// files (ModeFiles), Ranges each task's byte ranges (the other modes).
// With a Stage, a later stage was planned in a way that a master started
// again could not repeat: the sort tasks' Files (as many as there were
// workers), the reducers' key ranges (Cuts, for the shuffle).
type Planned struct {
	Job    int                     `json:"job"`
	Stage  string                  `json:"stage,omitempty"`
	Mode   string                  `json:"mode,omitempty"`
	Files  [][]string              `json:"files,omitempty"`
	Ranges [][]protocol.InputRange `json:"ranges,omitempty"`
	Cuts   [][]byte                `json:"cuts,omitempty"`
}

// Done: task Index of the job's map stage, or of Stage, finished (again,
// if it ran again after its output was lost). Outputs are its files;
// Holder, for a map task of the shuffle, is the worker that keeps its run,
// and Samples are the run's sample keys.
type Done struct {
	Job      int               `json:"job"`
	Stage    string            `json:"stage,omitempty"`
	Index    int               `json:"index"`
	Outputs  []string          `json:"outputs,omitempty"`
	Counters protocol.Counters `json:"counters,omitempty"`
	Holder   *Holder           `json:"holder,omitempty"`
	Samples  []protocol.Sample `json:"samples,omitempty"`
}

// Holder is a worker that keeps runs, as its heartbeats name it.
type Holder struct {
	ID   string `json:"id"`
	PID  int    `json:"pid"`
	Host string `json:"host"`
	Port int    `json:"port"`
}

// Commit: the job's outputs, in Temp, are about to be renamed into Dest
// by Names, and the job then ends with Info. A master that crashed in
// between finishes the commit when it starts again.
type Commit struct {
	Job   int              `json:"job"`
	Temp  string           `json:"temp"`
	Dest  string           `json:"dest"`
	Names []string         `json:"names"`
	Info  protocol.JobInfo `json:"info"`
}

// Ended: the job ended; Info is what job_status says of it. Logged: the
// master kept logs of its tasks.
type Ended struct {
	Job    int              `json:"job"`
	Info   protocol.JobInfo `json:"info"`
	Logged bool             `json:"logged,omitempty"`
}

// KeepTasks is how many of the newest ended jobs are kept with their
// tasks.
const KeepTasks = 100

// Version is the version of the files' format.
const Version = 1

// State is what the records so far say: every job, by id, and the order
// in which jobs ended.
type State struct {
	Version int `json:"version"`
	// Seq is the number of the last record folded in.
	Seq uint64 `json:"seq"`
	// First is the id of Jobs[0]: a master started with --fresh keeps
	// counting where the journal it emptied stopped, so that ids never
	// repeat for a var directory.
	First int `json:"first"`
	// Lives counts the masters that started on the journal.
	Lives int    `json:"lives"`
	Jobs  []*Job `json:"jobs"`
	// Ends are the ids of the ended jobs, in the order they ended.
	Ends []int `json:"ends"`
}

// Job is what the records say of one job. Once it has ended, only Accepted
// and Ended are kept.
type Job struct {
	Accepted
	Plan *Planned     `json:"plan,omitempty"`
	Done map[int]Done `json:"done,omitempty"`
	// Later are the job's stages after map, by name, with what was
	// planned and done of them.
	Later  map[string]*Later `json:"later,omitempty"`
	Commit *Commit           `json:"commit,omitempty"`
	Ended  *Ended            `json:"ended,omitempty"`
}

// Later is what was planned and done of a stage after map.
type Later struct {
	Plan *Planned     `json:"plan,omitempty"`
	Done map[int]Done `json:"done,omitempty"`
}

// later returns j's record of stage, made if missing.
func (j *Job) later(stage string) *Later {
	if j.Later == nil {
		j.Later = make(map[string]*Later)
	}
	if j.Later[stage] == nil {
		j.Later[stage] = &Later{}
	}
	return j.Later[stage]
}

// NextID is the id the next accepted job gets.
func (st *State) NextID() int { return st.First + len(st.Jobs) }

// Job returns job id, or nil.
func (st *State) Job(id int) *Job {
	if id < st.First || id >= st.NextID() {
		return nil
	}
	return st.Jobs[id-st.First]
}

// Apply folds r into st. A record that does not follow from st (a job
// accepted out of turn, or a record for a job that does not exist or has
// ended) is an error, and st is unchanged.
func (st *State) Apply(r Record) error {
	if err := st.check([]Record{r}); err != nil {
		return err
	}
	switch {
	case r.Started != nil:
		st.Lives = r.Started.Life
		return nil
	case r.Accepted != nil:
		st.Jobs = append(st.Jobs, &Job{Accepted: *r.Accepted})
		return nil
	}
	id, _ := r.job() // checked
	j := st.Job(id)
	switch {
	case r.Planned != nil && r.Planned.Stage != "":
		j.later(r.Planned.Stage).Plan = r.Planned
	case r.Planned != nil:
		j.Plan = r.Planned
	case r.Done != nil && r.Done.Stage != "":
		l := j.later(r.Done.Stage)
		if l.Done == nil {
			l.Done = make(map[int]Done)
		}
		l.Done[r.Done.Index] = *r.Done
	case r.Done != nil:
		if j.Done == nil {
			j.Done = make(map[int]Done)
		}
		j.Done[r.Done.Index] = *r.Done
	case r.Commit != nil:
		j.Commit = r.Commit
	case r.Ended != nil:
		j.Plan, j.Done, j.Later, j.Commit, j.Ended = nil, nil, nil, nil, r.Ended
		st.Ends = append(st.Ends, id)
		if n := len(st.Ends) - KeepTasks - 1; n >= 0 {
			// Older jobs are kept without their tasks, as job_status
			// lists them, so that the journal and a restart's time grow
			// with the jobs, not with their tasks.
			if old := st.Job(st.Ends[n]); old != nil && old.Ended.Info.Tasks != nil {
				info := old.Ended.Info
				info.Tasks = nil
				old.Ended = &Ended{Job: old.Ended.Job, Info: info, Logged: old.Ended.Logged}
			}
		}
	}
	return nil
}

// check reports the first of records, in turn, that does not follow from
// st and those before it, without changing st: the one home of what
// Apply refuses, which Append asks before it writes.
func (st *State) check(records []Record) error {
	next, lives := st.NextID(), st.Lives
	ended := map[int]bool{}
	for _, r := range records {
		switch {
		case r.Started != nil:
			if r.Started.Life <= lives {
				return fmt.Errorf("start %d after start %d", r.Started.Life, lives)
			}
			lives = r.Started.Life
			continue
		case r.Accepted != nil:
			if r.Accepted.Job != next {
				return fmt.Errorf("job %d accepted, but the next id is %d", r.Accepted.Job, next)
			}
			next++
			continue
		}
		id, err := r.job()
		if err != nil {
			return err
		}
		switch j := st.Job(id); {
		case id < st.First || id >= next:
			return fmt.Errorf("record for job %d, which was never accepted", id)
		case ended[id] || j != nil && j.Ended != nil:
			return fmt.Errorf("record for job %d, which has ended", id)
		}
		if r.Ended != nil {
			ended[id] = true
		}
	}
	return nil
}

// job is the id of the job r is about, or an error if r holds nothing.
func (r Record) job() (int, error) {
	switch {
	case r.Planned != nil:
		return r.Planned.Job, nil
	case r.Done != nil:
		return r.Done.Job, nil
	case r.Commit != nil:
		return r.Commit.Job, nil
	case r.Ended != nil:
		return r.Ended.Job, nil
	}
	return 0, fmt.Errorf("empty record")
}
