package scheduler

import (
	"maps"
	"path/filepath"
	"slices"

	"mapreduce/internal/layout"
	"mapreduce/internal/partition"
	"mapreduce/internal/split"
	"mapreduce/protocol"
)

// The shuffle between workers (protocol.CapShuffle). A job whose live
// workers all announce it when its input is listed runs as
//
//	map        each task runs the mapper over a split and keeps the output
//	           on its worker as one sorted run (combined, with a combiner),
//	           and reports the run's size and a few sample keys
//	partition  the master chooses the reducers' key ranges from the samples
//	reduce     each task fetches its key range of every run from the
//	           worker that holds it, merges them into the reducer, and
//	           writes its output into the job's commit directory
//	commit     the outputs are renamed into place
//
// so that the master's work grows with the number of tasks, never with
// the bytes, and workers share no disk but the input and output
// directories. A finished map task's run lives only as long as its worker:
// when the worker dies, or a reducer cannot fetch from it, the map task is
// made again while a reduce task still needs it.

// Per-run sample keys the master asks for: enough that the runs' samples
// together cut the reducers' ranges finely, few enough that a job of many
// map tasks holds few in the master. A sample stands for a run's bytes up
// to the next one, and a cut's error is about a sample of every run: with
// 32 a reducer, word count's 4 reducers over 8 runs were up to 16% apart
// (the largest one reduced alone at the end); with 256, 2%
// (partition.TestCutsBalanceZipfRuns).
const (
	samplesPerReducer = 256
	minSamples        = 16
	maxSamples        = 1024
	// maxFetchRetries bounds how often a reduce task runs again for runs it
	// could not fetch, each made again meanwhile.
	maxFetchRetries = 10
)

// shuffles reports whether a job whose input is listed now runs the
// shuffle: every worker alive announces it, and one is.
func (s *Scheduler) shuffles() bool {
	live := 0
	for _, w := range s.workers {
		if w.dead || w.awaiting {
			continue
		}
		if !w.has(protocol.CapShuffle) {
			return false
		}
		live++
	}
	return live > 0
}

// shufflePipeline is the stages of a job that runs the shuffle: its map
// stage as planned, then partition, reduce and commit.
func shufflePipeline(mapStage *stage) []*stage {
	return []*stage{mapStage, {kind: stagePartition}, {kind: stageReduce}, {kind: stageCommit}}
}

// samplesPerRun is how many sample keys each of a job's runs reports.
func samplesPerRun(spec protocol.NewMasterJob, maps int) int {
	return min(max(samplesPerReducer*spec.NumReducers/max(maps, 1), minSamples), maxSamples)
}

// addShuffleMapTask adds map task i of j, which reads the byte ranges of
// a split and keeps its output as a run on its worker.
func (s *Scheduler) addShuffleMapTask(j *job, st *stage, i int, ranges []protocol.InputRange) {
	s.add(&task{job: j, stage: st, index: i, kind: kindShuffleMap, inputs: split.Files(ranges), ranges: ranges,
		outputs: []string{protocol.RunName(i)}})
}

// runName is the name of the run map task t keeps on its worker.
func (t *task) runName() string { return t.outputs[0] }

// beginPartition chooses the reducers' key ranges from the samples of
// every run, and is done: it is the master's own work, and quick.
func (s *Scheduler) beginPartition(j *job, st *stage) []Action {
	maps := j.stage(stageMap).tasks
	runs := make([][]partition.Sample, 0, len(maps))
	for _, t := range maps {
		runs = append(runs, t.samples)
		t.samples = nil // needed no more
	}
	j.cuts = partition.Cuts(runs, j.spec.NumReducers)
	if kept := j.laterPlan(stagePartition); kept != nil {
		// As before a restart: the reduce tasks that finished are kept.
		j.cuts = kept.Cuts
	}
	st.planned, st.ended = true, st.started
	s.log.Info().Int("job", j.id).Int("maps", len(maps)).Int("cuts", len(j.cuts)).Msg("reducers' key ranges chosen")
	return []Action{laterPlannedRecord(j, st, nil, j.cuts)}
}

// beginShuffleReduce plans the reduce tasks, one per key range, and makes
// the commit directory their outputs go to.
func (s *Scheduler) beginShuffleReduce(j *job, st *stage) []Action {
	for i := range j.spec.NumReducers {
		out := filepath.Join(j.commitDir(), layout.ReduceInputName(i))
		s.add(&task{job: j, stage: st, index: i, kind: kindShuffleReduce, output: j.commitDir(), outputs: []string{out}})
	}
	st.planned = true
	return []Action{s.makeCommitDir(j)}
}

// shuffleMessage is the new_worker_job of a task of the shuffle for w.
func (s *Scheduler) shuffleMessage(t *task, w *worker) protocol.NewWorkerJob {
	msg := protocol.NewWorkerJob{InputFiles: []string{}, Executable: t.stage.def().program(t.job.spec),
		OutputDirectory: t.output, WorkerPID: w.pid, Task: t.identity(t.latest()), Program: t.program(w)}
	if t.kind == kindShuffleMap {
		msg.InputFiles = t.inputs
		msg.Split = &protocol.Split{Ranges: t.ranges, OutputFile: t.runName()}
		msg.MapOutput = &protocol.MapOutput{Run: t.runName(), Combiner: t.job.spec.CombinerExecutable,
			Samples: samplesPerRun(t.job.spec, len(t.job.stage(stageMap).tasks))}
		return msg
	}
	in := &protocol.ReduceInput{OutputFile: t.outputs[0], Pieces: []protocol.Piece{}}
	lo, hi, empty := partition.Range(t.job.cuts, t.index)
	if !empty {
		in.Lo, in.Hi = lo, hi
		in.Pieces = t.job.runPieces()
	}
	msg.ReduceInput = in
	return msg
}

// runPieces lists where each map task's run is, as a reduce task's
// message does. It is built once and shared by the messages of every
// reduce task, which read it only: the 1000 reduce tasks of a job of
// 100,000 map tasks, sent at once, built 100,000 pieces each, gigabytes.
// Making or losing a run drops it (keepRun, loseRuns).
func (j *job) runPieces() []protocol.Piece {
	if j.pieces == nil {
		maps := j.stage(stageMap).tasks
		j.pieces = make([]protocol.Piece, 0, len(maps))
		for _, m := range maps {
			j.pieces = append(j.pieces, protocol.Piece{Holder: m.holder.addr(), HolderID: m.holder.id, Run: m.runName()})
		}
	}
	return j.pieces
}

// keepRun records the run that map task t's accepted attempt kept on w:
// at most as many samples as it was asked for, their keys clipped.
func (t *task) keepRun(w *worker, run *protocol.RunInfo) {
	t.holder = w
	t.samples = nil
	t.job.pieces = nil
	if run == nil {
		return
	}
	t.samples = clipSamples(run.Samples, samplesPerRun(t.job.spec, len(t.job.stage(stageMap).tasks)))
}

// loseRuns makes again the finished map tasks of the current job whose
// runs w holds, while a reduce task may still fetch them: w died, or could
// not serve a fetch.
func (s *Scheduler) loseRuns(w *worker, why string) {
	j := s.current
	if j == nil || !j.shuffle {
		return
	}
	if red := j.stage(stageReduce); red.planned && red.allDone() {
		return
	}
	for _, t := range j.stage(stageMap).tasks {
		if t.state == taskDone && t.holder == w {
			t.setState(taskPending)
			t.holder, t.samples = nil, nil
			j.pieces = nil
			t.logger(s.log.Warn()).Int("worker", w.pid).Str("reason", why).Msg("run lost: the map task runs again")
		}
	}
}

// fetchFailed handles a reduce task's report that it could not fetch
// pieces: the runs of their holders count as lost, unless a run was made
// again elsewhere since the reduce task was sent.
func (s *Scheduler) fetchFailed(t *task, lost []protocol.Piece) {
	maps := t.job.stage(stageMap).tasks
	for _, p := range lost {
		stage, i, ok := layout.ParseTaskName(p.Run)
		if !ok || stage != stageMap.String() || i >= len(maps) {
			continue
		}
		if m := maps[i]; m.state == taskDone && m.holder != nil && m.holder.addr() == p.Holder && m.holder.id == p.HolderID {
			if t.job.unservable == nil {
				t.job.unservable = make(map[*worker]bool)
			}
			t.job.unservable[m.holder] = true
			s.loseRuns(m.holder, "a reducer could not fetch "+p.Run)
		}
	}
}

// mapsDone reports whether every map task of j is done: a reduce task of
// the shuffle reads every run.
func (j *job) mapsDone() bool { return j.stage(stageMap).allDone() }

// runsReady reports whether j's reduce tasks can be sent: every map task
// is done, and every run's holder is known to be back after a restart.
// One still awaited either comes back, announcing what it is (a holder
// without CapShuffle keeps none of its runs: handOver), or is found dead
// and its runs made again; a reduce task sent meanwhile would read runs
// that may be lost, or that it would misread.
func (j *job) runsReady() bool {
	if !j.mapsDone() {
		return false
	}
	for _, t := range j.stage(stageMap).tasks {
		if t.holder != nil && t.holder.awaiting {
			return false
		}
	}
	return true
}

// endShuffle is what ending job j asks of the shuffle: workers drop the
// job's runs.
func (s *Scheduler) endShuffle(j *job) []Action {
	if !j.shuffle {
		return nil
	}
	var actions []Action
	workers := slices.SortedFunc(maps.Values(s.workers), func(a, b *worker) int { return a.incarnation - b.incarnation })
	for _, w := range workers {
		if !w.dead && w.has(protocol.CapShuffle) {
			actions = append(actions, s.send(w, protocol.JobEnded{JobID: j.id}, 0))
		}
	}
	return actions
}
