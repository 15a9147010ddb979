// Package scheduler holds the master's state: its jobs, their tasks and the
// workers that run them. It does no I/O and reads no clock. Each event (a
// message, a tick, the result of some I/O) is a method call that takes the
// time and returns the Actions the caller must carry out; the results of
// those actions come back as further events. One goroutine owns a Scheduler.
package scheduler

import (
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/liveness"
	"mapreduce/protocol"
)

// Config sets a Scheduler's paths and timings.
type Config struct {
	// VarDir is the absolute directory holding every job's files.
	VarDir string
	// WorkDir resolves relative paths that workers report.
	WorkDir string
	// HeartbeatInterval is how often workers send heartbeats.
	HeartbeatInterval time.Duration
	// MissedHeartbeats is how many intervals may pass without a heartbeat
	// before a worker is dead.
	MissedHeartbeats int
	// AckRetry is how long to keep trying to deliver register_ack: a worker
	// may register before its port listens.
	AckRetry time.Duration
	// Speculate turns on speculative execution: once every task of a phase
	// is handed out, an idle worker runs a copy of the longest-running task
	// that has run longer than SpeculateAfter and 1.5 times the median of
	// the phase's finished tasks. The first copy to finish wins.
	Speculate      bool
	SpeculateAfter time.Duration
}

// Worker states, as the seed names them.
const (
	WorkerReady = "ready"
	WorkerBusy  = "busy"
	WorkerDead  = "dead"
)

// Attempt outcomes.
const (
	OutcomeFinished   = "finished"
	OutcomeFailed     = "failed"
	OutcomeWorkerDead = "worker_dead"
	OutcomeCancelled  = "cancelled"
	// OutcomeRetry ends an attempt that failed for want of an input that
	// may be produced again; the task runs again.
	OutcomeRetry = "retry"
	// OutcomeSuperseded ends a speculative copy that lost: another copy of
	// its task finished first.
	OutcomeSuperseded = "superseded"
)

// maxRetries bounds how often a task that failed for a missing input runs
// again before its job fails.
const maxRetries = 3

type phase int

const (
	phaseMap phase = iota
	phaseSort
	// phaseCombine runs the job's combiner, if it has one, over each
	// sorted map output before the merge.
	phaseCombine
	phaseReduce
)

var phaseNames = [...]string{"map", "sort", "combine", "reduce"}

func (p phase) String() string { return phaseNames[p] }

type taskState int

const (
	taskPending taskState = iota
	taskRunning
	taskDone
	taskFailed
	// taskCancelled is a task of a failed job that never finished.
	taskCancelled
)

var taskStateNames = [...]string{"pending", "running", "done", "failed", "cancelled"}

type attempt struct {
	worker  *worker
	start   time.Time
	end     time.Time
	outcome string
}

func (a *attempt) live() bool { return a.end.IsZero() }

type task struct {
	job    *job
	phase  phase
	index  int
	inputs []string
	// output is the directory (map, reduce) or file (sort) the worker writes.
	output string
	// outputs are the files the task produces, absolute and clean; a status
	// naming one of them reports this task.
	outputs  []string
	state    taskState
	attempts []*attempt
	retries  int
}

// attemptOn returns w's live attempt at t, or nil.
func (t *task) attemptOn(w *worker) *attempt {
	for _, a := range t.attempts {
		if a.worker == w && a.live() {
			return a
		}
	}
	return nil
}

// liveAttempt returns t's first live attempt, or nil.
func (t *task) liveAttempt() *attempt {
	for _, a := range t.attempts {
		if a.live() {
			return a
		}
	}
	return nil
}

// running counts t's live attempts: more than one only when speculating.
func (t *task) running() int {
	n := 0
	for _, a := range t.attempts {
		if a.live() {
			n++
		}
	}
	return n
}

// step is where a job is, finer than its public state.
type step int

const (
	stepQueued step = iota
	stepScanning
	stepMapping
	stepSorting
	stepCombining
	stepMerging
	stepReducing
	stepMoving
	stepDone
	stepFailed
)

type job struct {
	id        int
	spec      protocol.NewMasterJob
	dir       string
	step      step
	tasks     [phaseReduce + 1][]*task
	errors    []string
	submitted time.Time
	started   time.Time
	ended     time.Time
}

func (j *job) mapperOutput() string   { return filepath.Join(j.dir, "mapper-output") }
func (j *job) combinerOutput() string { return filepath.Join(j.dir, "combiner-output") }
func (j *job) grouperOutput() string  { return filepath.Join(j.dir, "grouper-output") }
func (j *job) reducerOutput() string  { return filepath.Join(j.dir, "reducer-output") }

type worker struct {
	pid  int
	host string
	port int
	// incarnation numbers registrations, so that a late send failure for an
	// earlier registration of the same pid is recognised and ignored.
	incarnation int
	dead        bool
	held        []*task
	// lastBeat is kept for the record; liveness is the tracker's.
	lastBeat time.Time
}

func (w *worker) addr() string { return fmt.Sprintf("%s:%d", w.host, w.port) }

func (w *worker) state() string {
	switch {
	case w.dead:
		return WorkerDead
	case len(w.held) > 0:
		return WorkerBusy
	}
	return WorkerReady
}

// Scheduler is the master's state. Its methods are not safe for concurrent
// use: one goroutine owns it.
type Scheduler struct {
	cfg      Config
	log      zerolog.Logger
	jobs     []*job
	queue    []*job
	current  *job
	workers  map[int]*worker
	seq      int
	beats    *liveness.Tracker[int]
	byOutput map[string]*task
}

// New returns a Scheduler with no jobs and no workers.
func New(cfg Config, log zerolog.Logger) *Scheduler {
	return &Scheduler{
		cfg:      cfg,
		log:      log,
		workers:  make(map[int]*worker),
		beats:    liveness.New[int](),
		byOutput: make(map[string]*task),
	}
}

func (s *Scheduler) deadAfter() time.Duration {
	return time.Duration(s.cfg.MissedHeartbeats) * s.cfg.HeartbeatInterval
}

// Register records a worker (again, if its pid is known: a restarted worker
// has lost whatever it held), acknowledges it and gives it work.
func (s *Scheduler) Register(now time.Time, msg protocol.Register) []Action {
	var actions []Action
	if old, ok := s.workers[msg.WorkerPID]; ok && !old.dead {
		s.log.Info().Int("worker", old.pid).Msg("worker registered again; its tasks go back to pending")
		s.release(now, old, OutcomeWorkerDead)
		actions = append(actions, CloseOutbox{Incarnation: old.incarnation})
	}
	s.seq++
	w := &worker{pid: msg.WorkerPID, host: msg.WorkerHost, port: msg.WorkerPort, incarnation: s.seq}
	if w.host == "" {
		w.host = "localhost"
	}
	s.workers[w.pid] = w
	s.beats.Beat(w.pid, now)
	w.lastBeat = now
	s.log.Info().Int("worker", w.pid).Str("addr", w.addr()).Msg("worker registered")
	actions = append(actions, Send{
		PID: w.pid, Incarnation: w.incarnation, Addr: w.addr(), RetryFor: s.cfg.AckRetry,
		Msg: protocol.RegisterAck{
			MessageType: protocol.TypeRegisterAck,
			WorkerHost:  msg.WorkerHost,
			WorkerPort:  msg.WorkerPort,
			WorkerPID:   msg.WorkerPID,
		},
	})
	return append(actions, s.advance(now)...)
}

// Heartbeat records a heartbeat. One from a worker declared dead brings it
// back, as a new incarnation holding nothing: it was only slow or
// unreachable, and a seed worker never registers again by itself. One from
// an unknown pid changes nothing.
func (s *Scheduler) Heartbeat(now time.Time, pid int) []Action {
	w, ok := s.workers[pid]
	if !ok {
		return nil
	}
	if now.After(w.lastBeat) {
		w.lastBeat = now
	}
	s.beats.Beat(pid, now)
	if !w.dead {
		return nil
	}
	s.seq++
	w.incarnation = s.seq
	w.dead = false
	s.log.Info().Int("worker", w.pid).Msg("dead worker heartbeats again; it is ready again")
	return s.advance(now)
}

// Tick declares dead the workers whose heartbeats stopped, hands their
// tasks to live workers and starts any speculative copies now due.
func (s *Scheduler) Tick(now time.Time) []Action {
	var actions []Action
	for _, pid := range s.beats.Failed(now, s.deadAfter()) {
		actions = append(actions, s.kill(now, s.workers[pid], "missed heartbeats"))
	}
	// Even with no death, a task may have run long enough to speculate.
	return append(actions, s.advance(now)...)
}

// SendFailed reports that a message to a worker could not be delivered: the
// worker is dead now, without waiting for missed heartbeats.
func (s *Scheduler) SendFailed(now time.Time, pid, incarnation int, err error) []Action {
	w, ok := s.workers[pid]
	if !ok || w.dead || w.incarnation != incarnation {
		return nil
	}
	return append([]Action{s.kill(now, w, fmt.Sprintf("send failed: %v", err))}, s.advance(now)...)
}

// kill marks w dead and puts its tasks back; the returned action drops
// whatever was still queued for it.
func (s *Scheduler) kill(now time.Time, w *worker, why string) Action {
	s.log.Warn().Int("worker", w.pid).Str("reason", why).Int("tasks", len(w.held)).Msg("worker dead")
	w.dead = true
	s.beats.Forget(w.pid)
	s.release(now, w, OutcomeWorkerDead)
	return CloseOutbox{Incarnation: w.incarnation}
}

// release ends w's attempt at every task it holds. A task with no other
// attempt running goes back to pending.
func (s *Scheduler) release(now time.Time, w *worker, outcome string) {
	for _, t := range slices.Clone(w.held) {
		s.endAttempt(now, t, t.attemptOn(w), outcome)
		log := s.log.Info().Int("job", t.job.id).Str("phase", t.phase.String()).Int("task", t.index).Int("worker", w.pid)
		if t.running() > 0 {
			log.Msg("task goes on in its other attempt")
			continue
		}
		t.state = taskPending
		log.Msg("task back to pending")
	}
}

// endAttempt ends attempt a at task t and takes t from a's worker.
func (s *Scheduler) endAttempt(now time.Time, t *task, a *attempt, outcome string) {
	a.end = now
	a.outcome = outcome
	a.worker.held = slices.DeleteFunc(a.worker.held, func(h *task) bool { return h == t })
}

// Submit queues a validated job and returns its id. The job's directories
// are made before anything else happens to it.
func (s *Scheduler) Submit(now time.Time, spec protocol.NewMasterJob) (int, []Action) {
	j := &job{id: len(s.jobs), spec: spec, submitted: now}
	j.dir = filepath.Join(s.cfg.VarDir, fmt.Sprintf("job-%d", j.id))
	s.jobs = append(s.jobs, j)
	s.queue = append(s.queue, j)
	s.log.Info().Int("job", j.id).Str("input", spec.InputDirectory).Str("output", spec.OutputDirectory).
		Int("mappers", spec.NumMappers).Int("reducers", spec.NumReducers).Msg("job queued")
	dirs := []string{j.mapperOutput(), j.grouperOutput(), j.reducerOutput()}
	if spec.CombinerExecutable != "" {
		dirs = append(dirs, j.combinerOutput())
	}
	actions := []Action{MakeJobDirs{Job: j.id, Dirs: dirs}}
	return j.id, append(actions, s.advance(now)...)
}

// JobDirsFailed fails a job whose directories could not be made.
func (s *Scheduler) JobDirsFailed(now time.Time, jobID int, err error) []Action {
	j := s.job(jobID)
	if j == nil || j.step == stepDone || j.step == stepFailed {
		return nil
	}
	if j.step == stepQueued {
		s.queue = slices.DeleteFunc(s.queue, func(q *job) bool { return q == j })
	}
	s.fail(now, j, fmt.Sprintf("make job directories: %v", err))
	return s.advance(now)
}

// InputScanned starts the map phase of a job whose input directory held
// files (sorted names), or fails it.
func (s *Scheduler) InputScanned(now time.Time, jobID int, files []string, err error) []Action {
	j := s.job(jobID)
	if j == nil || j != s.current || j.step != stepScanning {
		return nil
	}
	if err != nil {
		s.fail(now, j, err.Error())
		return s.advance(now)
	}
	for i, part := range Partition(files, j.spec.NumMappers) {
		t := &task{job: j, phase: phaseMap, index: i, inputs: part, output: j.mapperOutput()}
		for _, f := range part {
			t.outputs = append(t.outputs, filepath.Join(t.output, filepath.Base(f)))
		}
		s.addTask(t)
	}
	j.step = stepMapping
	s.log.Info().Int("job", j.id).Int("files", len(files)).Int("tasks", len(j.tasks[phaseMap])).Msg("map phase")
	return s.advance(now)
}

// Merged starts the reduce phase once the master has merged the sorted
// files into grouper-output/input_x, or fails the job.
func (s *Scheduler) Merged(now time.Time, jobID int, err error) []Action {
	j := s.job(jobID)
	if j == nil || j != s.current || j.step != stepMerging {
		return nil
	}
	if err != nil {
		s.fail(now, j, fmt.Sprintf("merge sorted files: %v", err))
		return s.advance(now)
	}
	s.addReduceTasks(j, j.spec.NumReducers)
	j.step = stepReducing
	s.log.Info().Int("job", j.id).Int("tasks", j.spec.NumReducers).Msg("reduce phase")
	return s.advance(now)
}

// PartitionMerged starts the reduce task of one partition that the merge,
// still going on, has finished: partitions are key ranges written in
// order, so reducing the first ones need not wait for the last.
func (s *Scheduler) PartitionMerged(now time.Time, jobID, partition int) []Action {
	j := s.job(jobID)
	if j == nil || j != s.current || j.step != stepMerging {
		return nil
	}
	s.addReduceTasks(j, partition+1)
	return s.advance(now)
}

// addReduceTasks adds the reduce tasks of partitions up to n, in order.
func (s *Scheduler) addReduceTasks(j *job, n int) {
	for i := len(j.tasks[phaseReduce]); i < n; i++ {
		in := filepath.Join(j.grouperOutput(), fmt.Sprintf("input_%d", i))
		t := &task{job: j, phase: phaseReduce, index: i, inputs: []string{in}, output: j.reducerOutput()}
		t.outputs = []string{filepath.Join(t.output, filepath.Base(in))}
		s.addTask(t)
	}
}

// OutputsMoved ends a job whose reducer outputs are in its output directory.
func (s *Scheduler) OutputsMoved(now time.Time, jobID int, err error) []Action {
	j := s.job(jobID)
	if j == nil || j != s.current || j.step != stepMoving {
		return nil
	}
	if err != nil {
		s.fail(now, j, fmt.Sprintf("move outputs to %s: %v", j.spec.OutputDirectory, err))
		return s.advance(now)
	}
	j.step = stepDone
	j.ended = now
	s.current = nil
	s.log.Info().Int("job", j.id).Dur("took", now.Sub(j.started)).Msg("job done")
	return s.advance(now)
}

// StatusReceived handles a worker's status message. A status that names no
// running task of this worker (from a dead worker, for a task that was
// reassigned or is done, for a job that ended) is logged and ignored.
func (s *Scheduler) StatusReceived(now time.Time, msg protocol.Status) []Action {
	files := msg.Files()
	log := s.log.With().Int("worker", msg.WorkerPID).Strs("files", files).Str("status", msg.Status).Logger()
	if len(files) == 0 {
		log.Warn().Msg("ignored status: names no output file")
		return nil
	}
	t := s.byOutput[s.abs(files[0])]
	if t == nil {
		log.Warn().Msg("ignored status: no task of the current job has that output")
		return nil
	}
	log = log.With().Int("job", t.job.id).Str("phase", t.phase.String()).Int("task", t.index).Logger()
	if t.state != taskRunning {
		log.Info().Msg("ignored status: task is not running")
		return nil
	}
	w := s.workers[msg.WorkerPID]
	var a *attempt
	if w != nil && !w.dead {
		a = t.attemptOn(w)
	}
	if a == nil {
		log.Info().Msg("ignored status: the task is not running on this worker")
		return nil
	}
	if msg.Status != protocol.StatusFinished && msg.Retry && t.retries < maxRetries {
		t.retries++
		s.endAttempt(now, t, a, OutcomeRetry)
		if t.running() == 0 {
			t.state = taskPending
		}
		log.Warn().Str("error", msg.Error).Strs("missing", msg.MissingFiles).Msg("task failed for a missing input; running it again")
		// A missing input that another task produced was lost: produce it
		// again first.
		for _, f := range msg.MissingFiles {
			if p := s.byOutput[s.abs(f)]; p != nil && p != t && p.state == taskDone {
				p.state = taskPending
				log.Warn().Str("phase", p.phase.String()).Int("producer", p.index).Msg("input lost; its task runs again")
			}
		}
		return s.advance(now)
	}
	if msg.Status != protocol.StatusFinished {
		s.endAttempt(now, t, a, OutcomeFailed)
		t.state = taskFailed
		text := msg.Error
		if text == "" {
			text = fmt.Sprintf("status %q", msg.Status)
		}
		log.Warn().Str("error", text).Msg("task failed")
		s.fail(now, t.job, fmt.Sprintf("%s task %d on worker %d: %s", t.phase, t.index, w.pid, text))
		return s.advance(now)
	}
	s.endAttempt(now, t, a, OutcomeFinished)
	t.state = taskDone
	log.Info().Dur("took", now.Sub(a.start)).Msg("task finished")
	for _, other := range t.attempts {
		if other.live() {
			s.endAttempt(now, t, other, OutcomeSuperseded)
			log.Info().Int("loser", other.worker.pid).Msg("speculative copy superseded")
		}
	}
	return s.advance(now)
}

func (s *Scheduler) abs(p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(s.cfg.WorkDir, p)
	}
	return filepath.Clean(p)
}

func (s *Scheduler) addTask(t *task) {
	t.job.tasks[t.phase] = append(t.job.tasks[t.phase], t)
	for _, out := range t.outputs {
		s.byOutput[s.abs(out)] = t
	}
}

// fail ends a job as failed: its tasks still running are cancelled and
// their results will be ignored.
func (s *Scheduler) fail(now time.Time, j *job, why string) {
	s.log.Error().Int("job", j.id).Str("error", why).Msg("job failed")
	j.errors = append(j.errors, why)
	j.step = stepFailed
	j.ended = now
	for _, ts := range j.tasks {
		for _, t := range ts {
			for _, a := range t.attempts {
				if a.live() {
					s.endAttempt(now, t, a, OutcomeCancelled)
				}
			}
			if t.state == taskPending || t.state == taskRunning {
				t.state = taskCancelled
			}
		}
	}
	if s.current == j {
		s.current = nil
	}
}

func (s *Scheduler) job(id int) *job {
	if id < 0 || id >= len(s.jobs) {
		return nil
	}
	return s.jobs[id]
}

// liveWorkers returns the live workers, least loaded first, then in the order
// they registered.
func (s *Scheduler) liveWorkers() []*worker {
	var live []*worker
	for _, w := range s.workers {
		if !w.dead {
			live = append(live, w)
		}
	}
	slices.SortFunc(live, func(a, b *worker) int {
		if d := len(a.held) - len(b.held); d != 0 {
			return d
		}
		return a.incarnation - b.incarnation
	})
	return live
}

// advance moves the current job (or the next queued one) as far as it can
// go now: it starts jobs, hands out pending tasks and ends phases.
func (s *Scheduler) advance(now time.Time) []Action {
	var actions []Action
	for {
		if s.current == nil {
			if len(s.queue) == 0 || len(s.liveWorkers()) == 0 {
				return actions
			}
			j := s.queue[0]
			s.queue = s.queue[1:]
			s.current = j
			s.byOutput = make(map[string]*task)
			j.step = stepScanning
			j.started = now
			s.log.Info().Int("job", j.id).Msg("job started")
			executables := []string{j.spec.MapperExecutable, j.spec.ReducerExecutable}
			if j.spec.CombinerExecutable != "" {
				executables = append(executables, j.spec.CombinerExecutable)
			}
			return append(actions, ScanInput{
				Job: j.id, Dir: j.spec.InputDirectory, Executables: executables, OutputDir: j.spec.OutputDirectory,
			})
		}
		j := s.current
		var ph phase
		switch j.step {
		case stepMapping:
			ph = phaseMap
		case stepSorting:
			ph = phaseSort
		case stepCombining:
			ph = phaseCombine
		case stepReducing:
			ph = phaseReduce
		case stepMerging:
			// The partitions merged so far may be reduced already.
			return append(actions, s.dispatch(now, j.tasks[phaseReduce])...)
		default:
			// Scanning or moving: the master's own I/O is under way.
			return actions
		}
		// Earlier phases have pending tasks only when a lost output must be
		// produced again.
		for p := phaseMap; p <= ph; p++ {
			actions = append(actions, s.dispatch(now, j.tasks[p])...)
		}
		if !allDone(j.tasks[ph]) {
			return append(actions, s.speculate(now, j.tasks[ph])...)
		}
		actions = append(actions, s.endPhase(now, j, ph)...)
		if s.current != j {
			continue
		}
		if j.step == stepMerging || j.step == stepMoving {
			return actions
		}
	}
}

// endPhase moves a job whose phase ph has finished to its next step.
func (s *Scheduler) endPhase(now time.Time, j *job, ph phase) []Action {
	switch ph {
	case phaseMap:
		var files []string
		for _, t := range j.tasks[phaseMap] {
			files = append(files, t.outputs...)
		}
		slices.Sort(files)
		if len(files) == 0 {
			j.step = stepMerging
			return []Action{s.merge(j, phaseSort)}
		}
		// The seed sorts as many parts as there are workers. A combiner
		// works per map task, as Hadoop's does, so each map task's outputs
		// are sorted on their own.
		parts := Partition(files, max(1, len(s.liveWorkers())))
		if j.spec.CombinerExecutable != "" {
			parts = nil
			for _, t := range j.tasks[phaseMap] {
				parts = append(parts, t.outputs)
			}
		}
		for i, part := range parts {
			out := filepath.Join(j.grouperOutput(), fmt.Sprintf("sorted_%d", i))
			s.addTask(&task{job: j, phase: phaseSort, index: i, inputs: part, output: out, outputs: []string{out}})
		}
		j.step = stepSorting
		s.log.Info().Int("job", j.id).Int("tasks", len(j.tasks[phaseSort])).Msg("group phase")
		return nil
	case phaseSort:
		if j.spec.CombinerExecutable == "" {
			j.step = stepMerging
			return []Action{s.merge(j, phaseSort)}
		}
		for i, st := range j.tasks[phaseSort] {
			t := &task{job: j, phase: phaseCombine, index: i, inputs: []string{st.output}, output: j.combinerOutput()}
			t.outputs = []string{filepath.Join(t.output, filepath.Base(st.output))}
			s.addTask(t)
		}
		j.step = stepCombining
		s.log.Info().Int("job", j.id).Int("tasks", len(j.tasks[phaseCombine])).Msg("combine phase")
		return nil
	case phaseCombine:
		j.step = stepMerging
		return []Action{s.merge(j, phaseCombine)}
	default:
		j.step = stepMoving
		var files []string
		for _, t := range j.tasks[phaseReduce] {
			files = append(files, t.outputs...)
		}
		return []Action{MoveOutputs{Job: j.id, Files: files, Dest: j.spec.OutputDirectory}}
	}
}

// merge asks for the outputs of phase ph's tasks to be merged into the
// reducers' inputs.
func (s *Scheduler) merge(j *job, ph phase) Action {
	var inputs []string
	for _, t := range j.tasks[ph] {
		inputs = append(inputs, t.outputs...)
	}
	return Merge{Job: j.id, Inputs: inputs, OutputDir: j.grouperOutput(), Reducers: j.spec.NumReducers}
}

func allDone(ts []*task) bool {
	for _, t := range ts {
		if t.state != taskDone {
			return false
		}
	}
	return true
}

// dispatch hands each pending task whose inputs exist to the least loaded
// live worker.
func (s *Scheduler) dispatch(now time.Time, ts []*task) []Action {
	var actions []Action
	for _, t := range ts {
		if t.state != taskPending || !s.inputsReady(t) {
			continue
		}
		live := s.liveWorkers()
		if len(live) == 0 {
			return actions
		}
		actions = append(actions, s.assign(now, t, live[0]))
	}
	return actions
}

// assign starts an attempt of t on w.
func (s *Scheduler) assign(now time.Time, t *task, w *worker) Action {
	t.state = taskRunning
	t.attempts = append(t.attempts, &attempt{worker: w, start: now})
	w.held = append(w.held, t)
	s.log.Info().Int("job", t.job.id).Str("phase", t.phase.String()).Int("task", t.index).
		Int("worker", w.pid).Int("attempt", len(t.attempts)).Msg("task assigned")
	return Send{PID: w.pid, Incarnation: w.incarnation, Addr: w.addr(), Msg: s.message(t, w)}
}

// speculate gives each idle worker a copy of the longest-running task of
// the phase that has run past the threshold, once no task is pending.
func (s *Scheduler) speculate(now time.Time, ts []*task) []Action {
	if !s.cfg.Speculate {
		return nil
	}
	var durations []time.Duration
	for _, t := range ts {
		if t.state == taskPending {
			return nil
		}
		for _, a := range t.attempts {
			if a.outcome == OutcomeFinished {
				durations = append(durations, a.end.Sub(a.start))
			}
		}
	}
	threshold := s.cfg.SpeculateAfter
	if len(durations) > 0 {
		slices.Sort(durations)
		threshold = max(threshold, durations[len(durations)/2]*3/2)
	}
	var actions []Action
	for _, w := range s.liveWorkers() {
		if len(w.held) > 0 {
			break // live workers come least loaded first
		}
		var straggler *task
		var longest time.Duration
		for _, t := range ts {
			if t.state != taskRunning || t.running() != 1 {
				continue
			}
			if ran := now.Sub(t.liveAttempt().start); ran > threshold && ran > longest {
				straggler, longest = t, ran
			}
		}
		if straggler == nil {
			break
		}
		s.log.Info().Int("job", straggler.job.id).Str("phase", straggler.phase.String()).Int("task", straggler.index).
			Dur("running", longest).Dur("threshold", threshold).Msg("speculative copy")
		actions = append(actions, s.assign(now, straggler, w))
	}
	return actions
}

// inputsReady reports whether every input of t that another task produces
// has been produced.
func (s *Scheduler) inputsReady(t *task) bool {
	for _, in := range t.inputs {
		if p := s.byOutput[s.abs(in)]; p != nil && p != t && p.state != taskDone {
			return false
		}
	}
	return true
}

func (s *Scheduler) message(t *task, w *worker) any {
	switch t.phase {
	case phaseSort:
		return protocol.NewSortJob{
			MessageType: protocol.TypeNewSortJob,
			InputFiles:  t.inputs,
			OutputFile:  t.output,
			WorkerPID:   w.pid,
		}
	case phaseMap:
		return s.workerJob(t, w, t.job.spec.MapperExecutable)
	case phaseCombine:
		return s.workerJob(t, w, t.job.spec.CombinerExecutable)
	default:
		return s.workerJob(t, w, t.job.spec.ReducerExecutable)
	}
}

func (s *Scheduler) workerJob(t *task, w *worker, executable string) protocol.NewWorkerJob {
	return protocol.NewWorkerJob{
		MessageType:     protocol.TypeNewWorkerJob,
		InputFiles:      t.inputs,
		Executable:      executable,
		OutputDirectory: t.output,
		WorkerPID:       w.pid,
	}
}

// ShutdownTargets returns the sends that forward a shutdown to every
// registered worker, dead ones included: a worker marked dead may only have
// been slow.
func (s *Scheduler) ShutdownTargets() []Send {
	var sends []Send
	for _, w := range s.workers {
		sends = append(sends, Send{PID: w.pid, Incarnation: w.incarnation, Addr: w.addr(),
			Msg: protocol.Shutdown{MessageType: protocol.TypeShutdown}})
	}
	slices.SortFunc(sends, func(a, b Send) int { return a.PID - b.PID })
	return sends
}
