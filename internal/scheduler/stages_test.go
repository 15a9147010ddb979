package scheduler

// These tests drive every stage of a job through the same faults, so that a
// rule meant for every stage (or for one) cannot silently land on the wrong
// one. They use only the exported API and the helpers of scheduler_test.go.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"mapreduce/protocol"
)

// retryCap is how many times a task that failed for a missing input runs
// again before its job fails: the scheduler's maxRetries, copied so that the
// refactor may rename it.
const retryCap = 3

// stage is one row: a stage of a job and how startStage reaches it.
type stageRow struct {
	name     string
	phase    string // the phase as Snapshot and stageOf name it
	combiner bool   // the job has a combiner, so the combine stage exists
	// window stops in the merge window: the Merge is under way and has
	// handed out partition 0 only.
	window bool
	// producer is the stage whose tasks write this stage's inputs, "" when
	// no task does (map reads the job's input, reduce the Merge's output).
	producer string
}

var stageRows = []stageRow{
	{name: "map", phase: "map"},
	{name: "sort", phase: "sort", producer: "map"},
	{name: "combine", phase: "combine", combiner: true, producer: "sort"},
	{name: "reduce in the merge window", phase: "reduce", window: true},
	{name: "reduce after the merge", phase: "reduce"},
}

// stageOf names the stage of a task Send, "" for any other Send. spec()
// names its executables /bin/map and /bin/reduce; startStage adds
// /bin/combine.
func stageOf(snd Send) string {
	switch m := snd.Msg.(type) {
	case protocol.NewSortJob:
		return "sort"
	case protocol.NewWorkerJob:
		return strings.TrimPrefix(m.Executable, "/bin/")
	}
	return ""
}

// tasksOf returns the task Sends among acts of the given stage ("" for
// every stage), in order.
func tasksOf(acts []Action, phaseName string) []Send {
	var out []Send
	for _, snd := range actionsOf[Send](acts) {
		if st := stageOf(snd); st != "" && (phaseName == "" || st == phaseName) {
			out = append(out, snd)
		}
	}
	return out
}

// rig runs job 0 and keeps its clock.
type rig struct {
	t    *testing.T
	s    *Scheduler
	now  time.Time
	live []int // the workers that heartbeat
	// merging is set while the job's Merge is under way: Merged is due.
	merging bool
}

// startStage registers pids, submits job 0 (2 input files in 2 map tasks, 2
// reducers, a combiner if st has one) and answers every task of the stages
// before st as finished, until st's tasks go out. It returns them in the
// order they went out: the first to pids[0], the second to pids[1] (every
// worker is idle then, and the least loaded, oldest, goes first). Each stage
// has 2 tasks, except the merge window, which has handed out 1.
func startStage(t *testing.T, s *Scheduler, st stageRow, pids ...int) (*rig, []Send) {
	t.Helper()
	r := &rig{t: t, s: s, now: t0, live: slices.Clone(pids)}
	for _, pid := range pids {
		register(s, t0, pid)
	}
	sp := spec(2, 2)
	if st.combiner {
		sp.CombinerExecutable = "/bin/combine"
	}
	s.Submit(t0, sp)
	acts := s.InputScanned(t0, 0, inputFiles(2), nil)
	for range 10 {
		if mine := tasksOf(acts, st.phase); len(mine) > 0 {
			return r, mine
		}
		var next []Action
		for _, snd := range tasksOf(acts, "") {
			next = append(next, r.answer(snd)...)
		}
		if len(actionsOf[Merge](acts)) > 0 {
			r.merging = true
			if st.window {
				next = s.PartitionMerged(r.now, 0, 0)
			} else {
				next = r.merged()
			}
		}
		acts = next
	}
	t.Fatalf("the %s stage never started: %+v", st.name, jobInfo(t, s, 0))
	return nil, nil
}

// wait lets d pass; the live workers heartbeat meanwhile.
func (r *rig) wait(d time.Duration) {
	r.now = r.now.Add(d)
	for _, pid := range r.live {
		r.s.Heartbeat(r.now, protocol.Heartbeat{WorkerPID: pid})
	}
}

// answer reports the task of snd finished.
func (r *rig) answer(snd Send) []Action { return r.s.StatusReceived(r.now, finished(snd)) }

// merged ends the job's Merge.
func (r *rig) merged() []Action {
	r.merging = false
	return r.s.Merged(r.now, 0, nil)
}

// finish answers the Sends given, then every task Send that follows, as
// finished, ends the Merge, the move and the commit when due, and wants
// job 0 done. The
// scheduler ignores answers to stale Sends (a dead worker's, a superseded
// copy's, a retried attempt's), so any Send seen may be given.
func (r *rig) finish(acts []Action, first ...Send) {
	r.t.Helper()
	queue := slices.Clone(first)
	for range 100 {
		queue = append(queue, tasksOf(acts, "")...)
		if len(actionsOf[Merge](acts)) > 0 {
			r.merging = true
		}
		switch {
		case len(actionsOf[MoveOutputs](acts)) > 0:
			acts = r.s.OutputsMoved(r.now, 0, nil)
		case len(actionsOf[CommitOutputs](acts)) > 0:
			acts = r.s.OutputsCommitted(r.now, 0, nil)
		case len(queue) > 0:
			acts = r.answer(queue[0])
			queue = queue[1:]
		case r.merging:
			acts = r.merged()
		default:
			wantJobState(r.t, r.s, 0, protocol.JobDone)
			checkAttempts(r.t, r.s)
			return
		}
	}
	r.t.Fatalf("job 0 still not done after 100 events: %+v", jobInfo(r.t, r.s, 0))
}

// wantTaskFailed wants job 0 failed by one task of the given stage, with an
// error that names the task and keeps the worker's text whole.
func wantTaskFailed(t *testing.T, s *Scheduler, phaseName, text string) {
	t.Helper()
	j := wantJobState(t, s, 0, protocol.JobFailed)
	var bad []protocol.TaskInfo
	for _, ti := range j.Tasks {
		if ti.State == "failed" {
			bad = append(bad, ti)
		}
	}
	if len(bad) != 1 || bad[0].Phase != phaseName {
		t.Fatalf("failed tasks %+v, want one %s task", bad, phaseName)
	}
	name := fmt.Sprintf("%s task %d", phaseName, bad[0].Index)
	if len(j.Errors) != 1 || !strings.Contains(j.Errors[0], name) || !strings.Contains(j.Errors[0], text) {
		t.Errorf("job errors %q, want one naming %q and holding %q", j.Errors, name, text)
	}
	checkAttempts(t, s)
}

// wantAgain wants exactly one task Send of the given stage among acts,
// running the task of was again.
func wantAgain(t *testing.T, acts []Action, phaseName string, was Send) Send {
	t.Helper()
	again := tasksOf(acts, phaseName)
	if len(again) != 1 || len(tasksOf(acts, "")) != 1 || !slices.Equal(inputsOf(again[0]), inputsOf(was)) {
		t.Fatalf("got %s, want only the %s task of %q again", describe(acts), phaseName, inputsOf(was))
	}
	return again[0]
}

// TestEveryStageSurvivesAWorkerDeath: the task a dead worker held goes to a
// live worker, whichever way the death is found, and the job completes.
func TestEveryStageSurvivesAWorkerDeath(t *testing.T) {
	deaths := []struct {
		name string
		kill func(r *rig, victim Send) []Action
	}{
		{"missed heartbeats", func(r *rig, victim Send) []Action {
			r.wait(6 * sec) // only the others heartbeat: 6 intervals > 5
			return r.s.Tick(r.now)
		}},
		{"send failed", func(r *rig, victim Send) []Action {
			return r.s.SendFailed(r.now, victim.PID, victim.Incarnation, errors.New("connection refused"))
		}},
	}
	for _, st := range stageRows {
		for _, death := range deaths {
			t.Run(st.name+"/"+death.name, func(t *testing.T) {
				r, tasks := startStage(t, newScheduler(), st, 101, 102)
				victim := tasks[0]
				r.live = slices.DeleteFunc(r.live, func(pid int) bool { return pid == victim.PID })
				acts := death.kill(r, victim)
				wantWorker(t, r.s, victim.PID, WorkerDead, 0)
				moved := tasksOf(acts, st.phase)
				if len(moved) != 1 || moved[0].PID == victim.PID || !slices.Equal(inputsOf(moved[0]), inputsOf(victim)) {
					t.Fatalf("death of worker %d returned %s, want its %s task on worker %d", victim.PID, describe(acts), st.phase, r.live[0])
				}
				r.finish(acts, tasks...)
			})
		}
	}
}

// TestEveryStageFailsTheJobOnAFailedStatus: a task that failed for a reason
// other than a missing input fails its job at once, with the worker's error
// kept whole (a traceback spans lines), whatever the stage.
func TestEveryStageFailsTheJobOnAFailedStatus(t *testing.T) {
	for _, st := range stageRows {
		t.Run(st.name, func(t *testing.T) {
			r, tasks := startStage(t, newScheduler(), st, 101, 102)
			text := fmt.Sprintf("%s.py exited 1: Traceback (most recent call last):\n  File \"%[1]s.py\", line 7\nValueError: bad line \"x\"", st.phase)
			r.s.StatusReceived(r.now, failed(tasks[0], text))
			wantTaskFailed(t, r.s, st.phase, text)
			// Nothing of the failed job goes on.
			for _, snd := range tasks {
				if acts := r.answer(snd); len(acts) != 0 {
					t.Errorf("status for the failed job returned %s", describe(acts))
				}
			}
		})
	}
}

// TestEveryStageRemakesALostInputFirst: a task that found an input missing
// runs again, but only after the task of an earlier stage that wrote that
// input has written it again; then the job completes.
func TestEveryStageRemakesALostInputFirst(t *testing.T) {
	for _, st := range stageRows {
		t.Run(st.name, func(t *testing.T) {
			r, tasks := startStage(t, newScheduler(), st, 101, 102)
			victim := tasks[0]
			missing := inputsOf(victim)[0]
			acts := r.s.StatusReceived(r.now, retry(victim, "open "+missing+": no such file or directory", missing))
			if st.producer == "" {
				// No task wrote it (for reduce, the Merge did): the task
				// just runs again.
				wantAgain(t, acts, st.phase, victim)
				r.finish(acts, tasks...)
				return
			}
			reruns := tasksOf(acts, st.producer)
			if len(reruns) != 1 || len(tasksOf(acts, "")) != 1 || !slices.Contains(finished(reruns[0]).Files(), missing) {
				t.Fatalf("retry for %s returned %s, want only the %s task that writes it, the %s task waiting", missing, describe(acts), st.producer, st.phase)
			}
			acts = r.answer(reruns[0])
			wantAgain(t, acts, st.phase, victim)
			r.finish(acts, tasks...)
		})
	}
}

// TestEveryStageCapsRetries: a task whose input stays missing runs again
// retryCap times, then its job fails instead of retrying forever.
func TestEveryStageCapsRetries(t *testing.T) {
	for _, st := range stageRows {
		t.Run(st.name, func(t *testing.T) {
			r, tasks := startStage(t, newScheduler(), st, 101, 102)
			cur := tasks[0]
			for range retryCap {
				cur = wantAgain(t, r.s.StatusReceived(r.now, retry(cur, "input gone")), st.phase, cur)
			}
			r.s.StatusReceived(r.now, retry(cur, "input gone for good"))
			wantTaskFailed(t, r.s, st.phase, "input gone for good")
		})
	}
}

// TestEveryStageSpeculatesOnlyWhenNothingIsPending: a straggler of any stage
// gets a copy on an idle worker, but not while another task of its stage is
// still to be handed out: that task needs the idle worker more.
func TestEveryStageSpeculatesOnlyWhenNothingIsPending(t *testing.T) {
	for _, st := range stageRows {
		t.Run(st.name, func(t *testing.T) {
			// 4 workers: the stage's tasks on 101 and 102, and room for a
			// re-run and a copy besides.
			r, tasks := startStage(t, speculating(10*sec), st, 101, 102, 103, 104)
			straggler := tasks[0]
			r.wait(10 * sec)
			if acts := r.s.Tick(r.now); len(acts) != 0 {
				t.Fatalf("Tick at the threshold returned %s", describe(acts))
			}
			r.wait(sec) // the straggler has run past the threshold
			var acts []Action
			switch {
			case st.window:
				// The partitions not merged yet are reduce tasks still to
				// come.
				if acts := r.s.Tick(r.now); len(acts) != 0 {
					t.Fatalf("Tick in the merge window returned %s, want no copy", describe(acts))
				}
				acts = r.merged()
			case st.producer != "":
				// Another task of the stage waits for its lost input.
				held := tasks[1]
				missing := inputsOf(held)[0]
				acts = r.s.StatusReceived(r.now, retry(held, "lost", missing))
				reruns := tasksOf(acts, st.producer)
				if len(reruns) != 1 || len(tasksOf(acts, "")) != 1 {
					t.Fatalf("retry returned %s, want only the %s re-run: the %s task waiting for it, no copy", describe(acts), st.producer, st.phase)
				}
				if acts := r.s.Tick(r.now); len(acts) != 0 {
					t.Fatalf("Tick with a %s task pending returned %s, want no copy", st.phase, describe(acts))
				}
				acts = r.answer(reruns[0])
			default:
				// Nothing a map task or a reduce task after the merge reads
				// comes from a task: they are never pending while a worker
				// lives.
				acts = r.s.Tick(r.now)
			}
			var copies []Send
			for _, snd := range tasksOf(acts, st.phase) {
				if slices.Equal(inputsOf(snd), inputsOf(straggler)) {
					copies = append(copies, snd)
				}
			}
			if len(copies) != 1 || copies[0].PID == straggler.PID {
				t.Fatalf("got %s, want one copy of the straggler %q off worker %d", describe(acts), inputsOf(straggler), straggler.PID)
			}
			// The copy finishes first and the job completes.
			r.finish(acts, append([]Send{copies[0]}, tasks...)...)
			// The straggler's task is the one whose first attempt ran on its
			// worker; that attempt lost to the copy.
			for _, ti := range jobInfo(t, r.s, 0).Tasks {
				if ti.Phase == st.phase && ti.Attempts[0].WorkerPID == straggler.PID && ti.Attempts[0].Outcome != OutcomeSuperseded {
					t.Errorf("straggler's task %+v, want its first attempt superseded by the copy", ti)
				}
			}
		})
	}
}
