package scheduler

import (
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"mapreduce/internal/jobspec"
	"mapreduce/internal/journal"
	"mapreduce/internal/layout"
	"mapreduce/internal/split"
	"mapreduce/protocol"
)

// stageKind is one step of a job's pipeline. A job's stages are fixed when
// it is submitted: map, sort, combine (only with a combiner), merge,
// reduce, commit; or, for a map-only job, map and commit. Worker stages run
// tasks on workers; the others are the master's own file work, asked for
// by an Action that reports back.
type stageKind int

const (
	// stageMap lists the input (ScanInput), then runs the mapper over
	// splits of the input files.
	stageMap stageKind = iota
	// stageSort sorts the map outputs on workers (new_sort_job).
	stageSort
	// stageCombine runs the combiner over each sorted file.
	stageCombine
	// stageMerge is the master's merge of the sorted files into the
	// reducers' inputs (Merge).
	stageMerge
	// stagePartition, in a job that runs the shuffle (shuffle.go), chooses
	// the reducers' key ranges from the runs' samples.
	stagePartition
	// stageReduce runs the reducer over each merged partition. It starts
	// with the merge: each partition is reduced as soon as it is merged.
	stageReduce
	// stageCommit moves the reducers' outputs into a temporary directory
	// inside the job's output directory (MoveOutputs), then renames them
	// into place and writes the success marker (CommitOutputs).
	stageCommit
)

// stageDef is what a kind of stage does: the table below holds the rules
// that differ between stages, and a begin function each plans its tasks
// (as etcd-io/raft's becomeX functions start a state). A stage that runs
// tasks on workers is named as its phase in protocol.Phases.
type stageDef struct {
	name string
	// state is the job's public state while this is its earliest
	// unfinished stage; "" for the state of the stage before it.
	state string
	// onWorkers: the stage's work is tasks that workers run.
	onWorkers bool
	// withPrevious: the stage begins as soon as the one before it begins,
	// not when it ends; its tasks appear as their inputs are made.
	withPrevious bool
	// begin starts the stage: it plans the stage's tasks, or asks for the
	// master's own work.
	begin func(s *Scheduler, j *job, st *stage) []Action
	// task is the kind of the stage's tasks, unless its plan says
	// otherwise (a map task that reads a split).
	task taskKind
	// program is the job's program that the stage's tasks run, and args
	// its arguments; nil for a sort stage.
	program func(protocol.NewMasterJob) string
	args    func(protocol.NewMasterJob) []string
}

var stageDefs [stageCommit + 1]stageDef

func init() {
	// Assigned here, not in a literal: begin functions reach the table
	// through the stages they plan, and Go forbids that cycle in an
	// initializer.
	stageDefs = [...]stageDef{
		stageMap:       {name: protocol.PhaseMap, state: protocol.JobMapping, onWorkers: true, begin: (*Scheduler).beginMap, program: mapper, args: mapperArgs},
		stageSort:      {name: protocol.PhaseSort, state: protocol.JobGrouping, onWorkers: true, begin: (*Scheduler).beginSort, task: kindSort},
		stageCombine:   {name: protocol.PhaseCombine, state: protocol.JobGrouping, onWorkers: true, begin: (*Scheduler).beginCombine, program: combiner, args: combinerArgs},
		stageMerge:     {name: "merge", state: protocol.JobGrouping, begin: (*Scheduler).beginMerge},
		stagePartition: {name: "partition", state: protocol.JobGrouping, begin: (*Scheduler).beginPartition},
		stageReduce:    {name: protocol.PhaseReduce, state: protocol.JobReducing, onWorkers: true, withPrevious: true, begin: (*Scheduler).beginReduce, program: reducer, args: reducerArgs},
		stageCommit:    {name: "commit", begin: (*Scheduler).beginCommit},
	}
}

func mapper(spec protocol.NewMasterJob) string   { return spec.MapperExecutable }
func combiner(spec protocol.NewMasterJob) string { return spec.CombinerExecutable }
func reducer(spec protocol.NewMasterJob) string  { return spec.ReducerExecutable }

func mapperArgs(spec protocol.NewMasterJob) []string   { return spec.MapperArgs }
func combinerArgs(spec protocol.NewMasterJob) []string { return spec.CombinerArgs }
func reducerArgs(spec protocol.NewMasterJob) []string  { return spec.ReducerArgs }

func (k stageKind) String() string { return stageDefs[k].name }

// stage is one stage of one job.
type stage struct {
	kind  stageKind
	tasks []*task
	// planned: every task of the stage exists. A worker stage finishes
	// once it is planned, its tasks are all done and the stage before it
	// has finished. The commit stage is planned once its outputs are
	// moved and their commit asked for.
	planned        bool
	started, ended time.Time
	// count is how many of tasks are in each state, kept by task.setState:
	// events ask whether a stage is done or has pending tasks far more
	// often than its tasks change, and a stage may hold 100,000 tasks.
	count [taskCancelled + 1]int
	// live counts the live attempts at its tasks: each tick looks for
	// attempts past their deadlines only in stages that have some.
	live int
	// took holds the durations of its tasks' finished attempts, for
	// speculation.
	took median
}

// allDone reports whether every task of st is done.
func (st *stage) allDone() bool { return st.count[taskDone] == len(st.tasks) }

func (st *stage) def() stageDef  { return stageDefs[st.kind] }
func (st *stage) begun() bool    { return !st.started.IsZero() }
func (st *stage) finished() bool { return !st.ended.IsZero() }

// pipeline returns the stages of a job with spec. A map-only job's map
// tasks write its outputs into its commit directory.
func pipeline(spec protocol.NewMasterJob) []*stage {
	kinds := []stageKind{stageMap, stageSort, stageMerge, stageReduce, stageCommit}
	switch {
	case jobspec.MapOnly(spec):
		kinds = []stageKind{stageMap, stageCommit}
	case spec.CombinerExecutable != "":
		kinds = slices.Insert(kinds, 2, stageCombine)
	}
	stages := make([]*stage, len(kinds))
	for i, k := range kinds {
		stages[i] = &stage{kind: k}
	}
	return stages
}

// stage returns j's stage of kind k, or nil.
func (j *job) stage(k stageKind) *stage {
	for _, st := range j.stages {
		if st.kind == k {
			return st
		}
	}
	return nil
}

// previous returns the stage before st, or nil.
func (j *job) previous(st *stage) *stage {
	i := slices.Index(j.stages, st)
	if i <= 0 {
		return nil
	}
	return j.stages[i-1]
}

// current returns j's earliest unfinished stage, or nil when all are.
func (j *job) current() *stage {
	for _, st := range j.stages {
		if !st.finished() {
			return st
		}
	}
	return nil
}

// step begins every stage of j that may begin, ends every worker stage
// whose tasks are done, and hands out pending tasks, until nothing more
// changes. It returns the actions all that asks for.
func (s *Scheduler) step(now time.Time, j *job) []Action {
	var actions []Action
	for changed := true; changed; {
		changed = false
		for _, st := range j.stages {
			prev := j.previous(st)
			if !st.begun() && (prev == nil || prev.finished() || st.def().withPrevious && prev.begun()) {
				st.started = now
				s.log.Info().Int("job", j.id).Str("stage", st.kind.String()).Msg("stage begins")
				actions = append(actions, st.def().begin(s, j, st)...)
				changed = true
				// A begin may replace j's stages (a map stage planned
				// again for the shuffle): look at them afresh.
				break
			}
			if st.begun() && !st.finished() && st.def().onWorkers && st.planned && st.allDone() &&
				(prev == nil || prev.finished()) {
				st.ended = now
				changed = true
			}
		}
		if j.current() == nil {
			return append(actions, s.succeed(now, j)...)
		}
	}
	cur := j.current()
	curAt := slices.Index(j.stages, cur)
	for i, st := range j.stages {
		// While a worker stage runs, it and the stages before it hand out
		// tasks: an earlier one has pending tasks only when a lost output
		// must be produced again. While the master's own work runs, only
		// the stage that began with it does (reduce, during the merge).
		if st.begun() && st.def().onWorkers && (cur.def().onWorkers && i <= curAt || !cur.def().onWorkers && i > curAt) {
			actions = append(actions, s.dispatch(now, st)...)
		}
	}
	if cur.def().onWorkers {
		actions = append(actions, s.speculate(now, cur)...)
	}
	return actions
}

// finish ends a stage of the master's own work.
func (s *Scheduler) finish(now time.Time, st *stage) { st.ended = now }

// beginMap asks for the input to be listed; onInputScanned plans the tasks.
func (s *Scheduler) beginMap(j *job, st *stage) []Action {
	if j.kept != nil && j.kept.Plan != nil {
		return s.replanMap(j, st)
	}
	return []Action{ScanInput{
		Job: j.id, Dir: j.spec.InputDirectory, Executables: jobspec.Programs(j.spec), WorkDir: j.spec.WorkDir, OutputDir: j.spec.OutputDirectory,
	}}
}

// onInputScanned plans the map tasks of a job whose input directory held
// files (sorted by name, with their sizes), or fails the job.
//
// When a live worker takes splits, the files are cut into num_mappers
// splits of balanced bytes (split.Plan), each a task with one output that
// only such workers run. Otherwise, as the reference protocol has it, whole
// files are dealt round-robin into num_mappers tasks, each input giving an
// output of its name. A map-only job's tasks write into its commit
// directory, made first: their outputs are the job's.
func (s *Scheduler) onInputScanned(now time.Time, jobID int, files []split.File, err error) []Action {
	j, st := s.underway(jobID, stageMap)
	if st == nil || st.planned {
		return nil
	}
	if err != nil {
		return append(s.fail(now, j, err.Error()), s.advance(now)...)
	}
	shuffle := s.shuffles() && !j.mapOnly()
	splitNeeds := needs{kind: taskKinds[kindSplit].needs, programs: j.spec.NeedsPrograms()}
	splits := len(s.liveWorkersWhere(func(w *worker) bool { return w.can(splitNeeds) })) > 0
	var taskFiles [][]string
	var ranges [][]protocol.InputRange
	mode := journal.ModeFiles
	switch {
	case shuffle:
		mode, ranges = journal.ModeShuffle, planSplits(j.spec, files)
	case splits:
		mode, ranges = journal.ModeSplits, planSplits(j.spec, files)
	default:
		paths := make([]string, len(files))
		for i, f := range files {
			paths[i] = f.Path
		}
		taskFiles = splitFiles(paths, j.spec.NumMappers)
	}
	actions := s.planMap(j, st, mode, taskFiles, ranges)
	s.log.Info().Int("job", j.id).Int("files", len(files)).Int("tasks", len(st.tasks)).Bool("splits", splits).
		Bool("shuffle", shuffle).Bool("map_only", j.mapOnly()).Msg("map tasks planned")
	actions = append(actions, plannedRecord(j, mode, taskFiles, ranges))
	return append(actions, s.advance(now)...)
}

// makeCommitDir asks for j's commit directory, for tasks that write the
// job's outputs straight into it; a job that does not commit discards it.
func (s *Scheduler) makeCommitDir(j *job) Action {
	j.commitDirMade = true
	return MakeJobDirs{Job: j.id, Dirs: []string{j.commitDir()}}
}

// planSplits cuts a job's input files into its map tasks' splits: packed
// by split.Plan, or, for a job that asks for a split per file, each file
// on its own (split.PlanPerFile).
func planSplits(spec protocol.NewMasterJob, files []split.File) [][]protocol.InputRange {
	if spec.SplitPerFile {
		return split.PlanPerFile(files, spec.NumMappers)
	}
	return split.Plan(files, spec.NumMappers)
}

// planMap plans j's map tasks in st, as mode says they read: each task
// files[i] (journal.ModeFiles) or ranges[i] (the others). It returns the
// action that makes a map-only job's commit directory, where its tasks
// write.
func (s *Scheduler) planMap(j *job, st *stage, mode string, files [][]string, ranges [][]protocol.InputRange) []Action {
	var actions []Action
	out := j.dir.MapperOutput()
	if j.mapOnly() {
		out = j.commitDir()
		actions = append(actions, s.makeCommitDir(j))
	}
	switch mode {
	case journal.ModeShuffle:
		j.shuffle = true
		j.stages = shufflePipeline(st)
		for i, r := range ranges {
			s.addShuffleMapTask(j, st, i, r)
		}
	case journal.ModeSplits:
		for i, r := range ranges {
			s.addSplitTask(j, st, i, r, out)
		}
	default:
		for i, part := range files {
			s.addTask(j, st, i, part, out)
		}
	}
	st.planned = true
	return actions
}

// splitFiles splits files into at most n splits, round-robin, so that
// split sizes differ by at most one and no split is empty: 5 files in 4
// splits give three splits of one file and one of two. A split holds at
// most split.MaxRanges files, as a split of byte ranges does: past that
// there are more splits than n, so that no task message grows with the
// number of files.
func splitFiles(files []string, n int) [][]string {
	if n <= 0 {
		return nil
	}
	n = min(max(n, (len(files)+split.MaxRanges-1)/split.MaxRanges), len(files))
	if n <= 0 {
		return nil
	}
	splits := make([][]string, n)
	for i, f := range files {
		splits[i%n] = append(splits[i%n], f)
	}
	return splits
}

// beginSort plans the sort tasks. The reference protocol sorts as many
// parts as there are live workers. A combiner works per map task, as
// Hadoop's does, so with one each map task's outputs are sorted on their
// own.
func (s *Scheduler) beginSort(j *job, st *stage) []Action {
	mapTasks := j.stage(stageMap).tasks
	var parts [][]string
	switch kept := j.laterPlan(stageSort); {
	case kept != nil:
		// As before a restart: the sort tasks that finished are kept.
		parts = kept.Files
	case j.spec.CombinerExecutable != "":
		for _, t := range mapTasks {
			parts = append(parts, t.own)
		}
	default:
		parts = splitFiles(ownOutputsOf(mapTasks), max(1, len(s.liveWorkers())))
	}
	for i, part := range parts {
		s.addTask(j, st, i, part, j.dir.Sorted(i))
	}
	st.planned = true
	return []Action{laterPlannedRecord(j, st, parts, nil)}
}

// beginCombine plans one combine task per sorted file.
func (s *Scheduler) beginCombine(j *job, st *stage) []Action {
	for i, sorted := range j.stage(stageSort).tasks {
		s.addTask(j, st, i, []string{sorted.output}, j.dir.CombinerOutput())
	}
	st.planned = true
	return nil
}

// beginMerge asks the master to merge the outputs of the stage before it.
func (s *Scheduler) beginMerge(j *job, st *stage) []Action {
	return []Action{Merge{
		Job: j.id, Inputs: outputsOf(j.previous(st).tasks), OutputDir: j.dir.GrouperOutput(), Reducers: j.spec.NumReducers,
	}}
}

// onPartitionMerged plans the reduce task of one partition that the merge,
// still going on, has finished: partitions are key ranges written in
// order, so reducing the first ones need not wait for the last.
func (s *Scheduler) onPartitionMerged(now time.Time, jobID, partition int) []Action {
	j, st := s.underway(jobID, stageMerge)
	if st == nil {
		return nil
	}
	s.addReduceTasks(j, partition+1)
	return s.advance(now)
}

// onMerged ends the merge: every reduce task is planned. Or it fails the job.
func (s *Scheduler) onMerged(now time.Time, jobID int, err error) []Action {
	j, st := s.underway(jobID, stageMerge)
	if st == nil {
		return nil
	}
	if err != nil {
		return append(s.fail(now, j, fmt.Sprintf("merge sorted files: %v", err)), s.advance(now)...)
	}
	s.addReduceTasks(j, j.spec.NumReducers)
	j.stage(stageReduce).planned = true
	s.finish(now, st)
	s.log.Info().Int("job", j.id).Int("tasks", j.spec.NumReducers).Msg("merge done")
	return s.advance(now)
}

// beginReduce plans nothing yet: the merge plans each reduce task as it
// writes its partition. In a job that runs the shuffle, it plans them all.
func (s *Scheduler) beginReduce(j *job, st *stage) []Action {
	if j.shuffle {
		return s.beginShuffleReduce(j, st)
	}
	return nil
}

// addReduceTasks adds the reduce tasks of partitions up to n, in order.
func (s *Scheduler) addReduceTasks(j *job, n int) {
	st := j.stage(stageReduce)
	for i := len(st.tasks); i < n; i++ {
		s.addTask(j, st, i, []string{j.dir.ReduceInput(i)}, j.dir.ReducerOutput())
	}
}

// underway returns the current job jobID and its stage of kind k if that
// stage is under way; nil otherwise (a late or repeated report).
func (s *Scheduler) underway(jobID int, k stageKind) (*job, *stage) {
	j := s.current
	if j == nil || j.id != jobID {
		return nil, nil
	}
	st := j.stage(k)
	if st == nil || !st.begun() || st.finished() {
		return nil, nil
	}
	return j, st
}

// addTask adds task i of j's stage st, of the stage's kind, which reads
// inputs and writes into output: a directory, where each input gives an
// output of its name, or, for a sort task, the one output file.
func (s *Scheduler) addTask(j *job, st *stage, i int, inputs []string, output string) {
	t := &task{job: j, stage: st, index: i, kind: st.def().task, inputs: inputs, output: output}
	if t.kind == kindSort {
		t.outputs = []string{output}
	} else {
		for _, in := range inputs {
			t.outputs = append(t.outputs, layout.Output(output, in))
		}
	}
	s.add(t)
}

// addSplitTask adds map task i of j, which reads the byte ranges of a
// split into one output file in dir: split_i in the job's mapper-output,
// or part-m-0000i, as Hadoop names a map-only job's outputs.
func (s *Scheduler) addSplitTask(j *job, st *stage, i int, ranges []protocol.InputRange, dir string) {
	out := j.dir.SplitOutput(i)
	if j.mapOnly() {
		out = filepath.Join(dir, layout.MapOnlyOutputName(i))
	}
	s.add(&task{job: j, stage: st, index: i, kind: kindSplit, inputs: split.Files(ranges), ranges: ranges,
		output: dir, outputs: []string{out}})
}

// add puts t in its stage, at its index, and makes each of its outputs
// name it.
func (s *Scheduler) add(t *task) {
	if t.index != len(t.stage.tasks) {
		panic(fmt.Sprintf("%s task %d added as task %d", t.stage.kind, t.index, len(t.stage.tasks)))
	}
	t.own = t.outputs // never changed in place: acceptOutputs makes a new slice
	t.unknownInPlace = t.job.ranBefore && t.kind.mayHaveWriterInPlace()
	t.stage.tasks = append(t.stage.tasks, t)
	t.stage.count[t.state]++
	if taskKinds[t.kind].files {
		for _, out := range t.own {
			t.job.byOutput[s.abs(out)] = t
		}
	}
	if t.stage.kind != stageMap {
		s.restoreDone(t)
	}
}
