package scheduler

import (
	"path/filepath"
	"slices"
	"strings"

	"mapreduce/internal/layout"
	"mapreduce/protocol"
)

// Where an attempt writes, and where the next stages read.
//
// A reference-only worker writes its outputs in place: it opens, for
// writing, the path it is sent, and it cannot be told to stop. Two
// attempts of a task at one path would then write one file: a copy sent
// when the first timed out truncates it and writes its own bytes at their
// offsets while the first, which finishes after all and is accepted, is
// read by the next stage.
//
// So, as Hadoop's attempts write under _temporary/attempt_…: an attempt
// writes its task's own outputs (task.own, the paths the reference
// protocol names) only when no other attempt of the task may be writing
// them; otherwise it writes apart, in an AttemptDir of its own. The
// attempt accepted gives the task its outputs (task.outputs). Tasks are
// planned, and journaled, with the own paths of the tasks they read; the
// paths are resolved to the accepted outputs when a task is sent
// (readPaths), and the master's merge and commit take the accepted ones
// (outputsOf). A task whose first attempt finishes, as most do, keeps the
// paths the reference protocol names.
//
// Who may still write a task's own outputs: an attempt of a
// reference-only worker that wrote them in place (task.inPlace), until
// that worker's status for them comes, even if it was found dead since (a
// failed send or late heartbeats on a busy machine mark dead a worker
// that still writes); and an attempt of the task that is live or that
// timed out, whose finish would still be taken. After a master restart,
// the attempts an earlier master sent are unknown: the tasks that any
// worker may run of a job it ran have an unknown writer
// (task.unknownInPlace) until such a status comes.
//
// The interleaving this prevents: attempt 1 on reference worker A writes
// mapper-output/f in place and times out; attempt 2 goes to B. Before, B
// opened mapper-output/f with truncation and wrote half of its records;
// A wrote the rest of its own at its offset, past a hole of zeros, and
// finished; the sort read that. Now B writes
// mapper-output/.map-0.attempt-1-2/f; A's f is accepted whole, and B's
// bytes touch nothing anyone reads.

// writesInPlace reports whether w writes its outputs in place: a worker
// that does not echo task identities is not ours (ours rename, see
// internal/atomicfile).
func (w *worker) writesInPlace() bool { return !w.identity }

// mayHaveWriterInPlace reports whether a task of kind k, restored from a
// journal, may have an attempt that an earlier master sent still writing
// its outputs in place: a task any worker may run.
func (k taskKind) mayHaveWriterInPlace() bool { return taskKinds[k].files && taskKinds[k].needs == "" }

// ownInUse reports whether attempt a, just made, must not write t's own
// outputs: another attempt may be writing them in place, or a would write
// them in place while another attempt may still write them and be taken
// (ours rename a whole file into place; two of ours at one path do no
// harm).
func (t *task) ownInUse(a *attempt) bool {
	if t.inPlace != nil || t.unknownInPlace {
		return true
	}
	return a.worker.writesInPlace() && slices.ContainsFunc(t.attempts, func(b *attempt) bool {
		return b != a && (b.live() || b.outcome == OutcomeTimedOut) && slices.Equal(b.outputs, t.own)
	})
}

// place chooses where attempt a of t, just made, writes: t's own outputs,
// or apart. It returns the directory to make first, or "".
func (s *Scheduler) place(t *task, a *attempt) string {
	a.output, a.outputs = t.output, t.own
	if !taskKinds[t.kind].files {
		return ""
	}
	if !t.ownInUse(a) {
		if a.worker.writesInPlace() {
			t.inPlace = a
		}
		return ""
	}
	parent := t.output // a directory, where each output is named after its input
	if t.kind == kindSort {
		parent = filepath.Dir(t.output) // the one output file
	}
	dir := layout.AttemptDir(parent, t.taskName(), a.life, a.number)
	s.writeApart(t, a, dir)
	return dir
}

// writeApart makes attempt a of t write its outputs in dir.
func (s *Scheduler) writeApart(t *task, a *attempt, dir string) {
	a.output, a.outputs = dir, make([]string, len(t.own))
	for i, own := range t.own {
		a.outputs[i] = s.abs(filepath.Join(dir, filepath.Base(own)))
		t.job.byOutput[a.outputs[i]] = t
	}
	if t.kind == kindSort {
		a.output = a.outputs[0]
	}
}

// reportedInPlace notes a status that names t's own outputs from a worker
// without identities, pid: if it is the worker that writes them in place,
// or an unknown one may, it has stopped.
func (s *Scheduler) reportedInPlace(t *task, pid int, id *protocol.TaskIdentity, name string) {
	if id != nil || name == "" || !slices.Contains(t.own, s.abs(name)) {
		return
	}
	switch {
	case t.inPlace != nil && t.inPlace.worker.pid == pid:
		t.inPlace = nil
	case t.inPlace == nil:
		t.unknownInPlace = false
	}
}

// names reports whether a status without an identity, which names its
// attempt by its first output as a reference-only worker does, is about
// attempt a.
func (s *Scheduler) names(id *protocol.TaskIdentity, output string, a *attempt) bool {
	return id != nil || s.abs(output) == a.outputs[0]
}

// acceptOutputs makes outputs, those of t's accepted attempt, t's
// outputs: those the tasks that read them are sent from now on. (The
// shuffle's tasks, whose outputs are not files, are left as they are: a
// job of theirs has 100,000 of them.)
func (s *Scheduler) acceptOutputs(t *task, outputs []string) {
	if !taskKinds[t.kind].files || slices.Equal(t.outputs, outputs) {
		return
	}
	t.outputs = slices.Clone(outputs)
	for _, o := range t.outputs {
		t.job.byOutput[s.abs(o)] = t
	}
}

// readPaths are the files t reads, as it is sent them: each input that
// another task makes, as that task's accepted attempt made it.
func (s *Scheduler) readPaths(t *task) []string {
	paths := slices.Clone(t.inputs)
	for i, in := range paths {
		in = s.abs(in)
		if p := t.job.byOutput[in]; p != nil && p != t {
			if k := slices.Index(p.own, in); k >= 0 {
				paths[i] = p.outputs[k]
			}
		}
	}
	return paths
}

// outputsOf lists the accepted outputs of tasks, in the order of their
// own names.
func outputsOf(tasks []*task) []string {
	type output struct{ own, accepted string }
	var all []output
	for _, t := range tasks {
		for i, o := range t.outputs {
			all = append(all, output{t.own[i], o})
		}
	}
	slices.SortFunc(all, func(a, b output) int { return strings.Compare(a.own, b.own) })
	files := make([]string, len(all))
	for i, o := range all {
		files[i] = o.accepted
	}
	return files
}

// ownOutputsOf lists the own outputs of tasks, sorted: what the tasks
// that read them are planned with.
func ownOutputsOf(tasks []*task) []string {
	var files []string
	for _, t := range tasks {
		files = append(files, t.own...)
	}
	slices.Sort(files)
	return files
}

// keptOutputs reports whether outputs, as a journal kept them for t, are
// t's own or those of an attempt of t that wrote apart.
func (t *task) keptOutputs(outputs []string) bool {
	if len(outputs) != len(t.own) {
		return false
	}
	for i, o := range outputs {
		if o != t.own[i] && !layout.IsApart(o, t.own[i], t.taskName()) {
			return false
		}
	}
	return true
}

// adoptedOutputs sets where adopted attempt a of t writes, from the first
// output its worker lists: apart, if an earlier master sent it so.
func (s *Scheduler) adoptedOutputs(t *task, a *attempt, listed string) {
	a.output, a.outputs = t.output, t.own
	if !taskKinds[t.kind].files || len(t.own) == 0 {
		return
	}
	if listed = s.abs(listed); layout.IsApart(listed, t.own[0], t.taskName()) {
		s.writeApart(t, a, filepath.Dir(listed))
	}
}

// timedOutNamed returns the attempt of t on w that timed out and that a
// status with id, naming output, is about; nil if there is none. Without
// an identity, the newest attempt on w that output names decides.
func (s *Scheduler) timedOutNamed(t *task, w *worker, id *protocol.TaskIdentity, output string) *attempt {
	for i := len(t.attempts) - 1; i >= 0; i-- {
		a := t.attempts[i]
		if a.worker != w || !sameAttempt(id, t, a) || !s.names(id, output, a) {
			continue
		}
		if a.outcome == OutcomeTimedOut {
			return a
		}
		return nil
	}
	return nil
}
