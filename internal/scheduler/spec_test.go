package scheduler

// Tests written from the specification alone (the team's four spec texts,
// kept outside this repository: seed 001, the fault rules of a
// coordinator; 002, task assignment; 003, the reference protocol; 004,
// deadlines and speculation), as mapped onto this
// project by docs/protocol.md. Each test quotes the seed line it checks.
// They drive the scheduler through the scenario harness (scenario_test.go)
// and check properties of what it does, not its exact actions: the seeds
// do not say which live worker takes a task.

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mapreduce/protocol"
)

// specRun plays scenario events and keeps the story so far, to show when a
// check fails.
type specRun struct {
	t  *testing.T
	sc *scenario
	// story is every event played, each followed by its actions.
	story []string
}

func newSpecRun(t *testing.T) *specRun {
	r := &specRun{t: t, sc: newScenario(t)}
	t.Cleanup(func() {
		if !t.Failed() && !testing.Verbose() {
			return
		}
		story := r.story
		if n := len(story) - maxStory; n > 0 && !testing.Verbose() {
			story = append([]string{fmt.Sprintf("(%d lines before)", n)}, story[n:]...)
		}
		t.Logf("story:\n%s", strings.Join(story, "\n"))
	})
	return r
}

// maxStory is how many lines of the story a failure shows, the last ones
// (all of them with -v).
const maxStory = 80

// do plays one scenario event, such as "finish map[file_000.txt]", and
// returns its actions as the scenario files print them.
func (r *specRun) do(event string) []string {
	r.t.Helper()
	lines := r.sc.play(strings.Fields(event))
	r.story = append(r.story, "> "+event)
	for _, l := range lines {
		r.story = append(r.story, "  "+l)
	}
	return lines
}

// fatalf and errorf fail the test; the story is shown once it ends.
func (r *specRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf(format, args...)
}

func (r *specRun) errorf(format string, args ...any) {
	r.t.Helper()
	r.t.Errorf(format, args...)
}

// sends returns, for each action line "send WHAT to PID" whose WHAT starts
// with prefix, WHAT and PID.
func sends(lines []string, prefix string) (whats []string, pids []int) {
	for _, l := range lines {
		rest, ok := strings.CutPrefix(l, "send ")
		if !ok {
			continue
		}
		i := strings.LastIndex(rest, " to ")
		if i < 0 {
			continue
		}
		what := rest[:i]
		pid, err := strconv.Atoi(rest[i+len(" to "):])
		if err != nil || !strings.HasPrefix(what, prefix) {
			continue
		}
		whats, pids = append(whats, what), append(pids, pid)
	}
	return whats, pids
}

// holders returns the pids a shuffle reduce task's name lists as the
// holders of each map task's run: reduce[1:p..@103,102,103] holds map-0 on
// 103, map-1 on 102 and map-2 on 103.
func holders(t *testing.T, what string) []int {
	t.Helper()
	_, list, ok := strings.Cut(what, "@")
	if !ok {
		t.Fatalf("%q names no holders", what)
	}
	var pids []int
	for _, p := range strings.Split(strings.TrimSuffix(list, "]"), ",") {
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("%q: %v", what, err)
		}
		pids = append(pids, n) // the harness prints pids
	}
	return pids
}

const shuffleWorker = "progress cancel task splits shuffle2"

// TestSpecShuffleFinishedMapRunsAgainWhenItsWorkerDies: seed 001, "upon a
// worker crash, map tasks assigned to that worker must be re-executed, even
// if they were marked complete. This is because map task outputs are
// buffered in memory, and that memory is no longer accessible if a worker
// crashes." In the shuffle a finished map task's run lives on its worker
// (docs/protocol.md), so this holds for a worker that dies while other map
// tasks still run, before any reduce task has started: no reduce task may
// be told to fetch from it.
func TestSpecShuffleFinishedMapRunsAgainWhenItsWorkerDies(t *testing.T) {
	r := newSpecRun(t)
	for _, pid := range []string{"101", "102", "103"} {
		r.do("register " + pid + " " + shuffleWorker)
	}
	r.do("submit 3 2")
	whats, pids := sends(r.do("scan 3"), "map[")
	if len(whats) != 3 {
		r.fatalf("want 3 map tasks sent")
	}
	on := map[int]string{} // map task by worker
	for i, pid := range pids {
		on[pid] = whats[i]
	}
	// 101 finishes its map task; the others still run theirs.
	r.do("finish " + on[101])
	// 101 stops heartbeating: dead after 5 missed 1 s intervals.
	r.do("wait 3s")
	r.do("progress 102 " + on[102] + "=1")
	r.do("progress 103 " + on[103] + "=1")
	lines := r.do("wait 3s")
	again, to := sends(lines, on[101])
	if len(again) != 1 || to[0] == 101 {
		r.fatalf("after worker 101 died holding the finished %s, want it sent again to a live worker", on[101])
	}
	r.do("finish " + on[102])
	lines = r.do("finish " + on[103])
	lines = append(lines, r.do("finish "+on[101])...)
	reduces, _ := sends(lines, "reduce[")
	if len(reduces) != 2 {
		r.fatalf("want the 2 reduce tasks once every map task is done again")
	}
	for _, what := range reduces {
		for i, pid := range holders(t, what) {
			if pid == 101 {
				r.errorf("%s fetches map-%d from the dead worker 101", what, i)
			}
		}
	}
}

// TestSpecFinishedReduceIsNotReassigned: seed 001, "Completed reduce tasks
// should not be reassigned, since their output is stored on disk." A worker
// dies after its reduce task finished, while another reduce task runs: the
// finished one is not sent again, and the job completes.
func TestSpecFinishedReduceIsNotReassigned(t *testing.T) {
	t.Run("shuffle", func(t *testing.T) {
		r := newSpecRun(t)
		for _, pid := range []string{"101", "102", "103"} {
			r.do("register " + pid + " " + shuffleWorker)
		}
		r.do("submit 2 2")
		maps, mapPIDs := sends(r.do("scan 2"), "map[")
		if len(maps) != 2 {
			r.fatalf("want 2 map tasks")
		}
		r.do("finish " + maps[0])
		reduces, pids := sends(r.do("finish "+maps[1]), "reduce[")
		if len(reduces) != 2 {
			r.fatalf("want 2 reduce tasks")
		}
		// The reduce task on a worker that also holds a run finishes;
		// then that worker dies while the other reduce task runs.
		done := -1
		for i, pid := range pids {
			if pid == mapPIDs[0] || pid == mapPIDs[1] {
				done = i
				break
			}
		}
		if done < 0 {
			r.fatalf("no reduce task went to a worker holding a run")
		}
		victim, running, runningOn := pids[done], reduces[1-done], pids[1-done]
		r.do("finish " + reduces[done])
		var after []string
		for range 2 {
			after = append(after, r.do("wait 3s")...)
			for _, pid := range []int{101, 102, 103} {
				switch pid {
				case victim:
				case runningOn:
					after = append(after, r.do("progress "+strconv.Itoa(pid)+" "+running+"=1")...)
				default:
					after = append(after, r.do("beat "+strconv.Itoa(pid))...)
				}
			}
		}
		if got := workerState(r, victim); got != WorkerDead {
			r.fatalf("worker %d is %s, want dead", victim, got)
		}
		// Whatever was sent again finishes; so does the reduce task that
		// was running, unless it was sent again.
		r.drain(after)
		if !strings.HasPrefix(r.do("state")[0], "done") {
			r.drain(r.do("finish " + running))
		}
		prefix := reduces[done][:strings.Index(reduces[done], ":")+1] // "reduce[0:"
		if _, to := sends(r.storyActions(), prefix); len(to) != 1 {
			r.errorf("the finished %s was sent %d times (to %v), want once: its worker %d died after it finished", reduces[done], len(to), to, victim)
		}
		if got := r.do("state"); !strings.HasPrefix(got[0], "done") {
			r.errorf("job state %q, want done", got[0])
		}
	})
	t.Run("reference", func(t *testing.T) {
		r := newSpecRun(t)
		r.do("register 101")
		r.do("register 102")
		r.do("submit 2 2")
		maps, _ := sends(r.do("scan 2"), "map[")
		r.do("finish " + maps[0])
		sorts, _ := sends(r.do("finish "+maps[1]), "sort[")
		var lines []string
		for _, s := range sorts {
			lines = append(lines, r.do("finish "+s)...)
		}
		if !strings.Contains(strings.Join(lines, "\n"), "merge ") {
			r.fatalf("want the merge after the sort tasks")
		}
		_, on0 := sends(r.do("partition 0"), "reduce[input_0]")
		_, on1 := sends(r.do("partition 1"), "reduce[input_1]")
		r.do("merged")
		if len(on0) != 1 || len(on1) != 1 || on0[0] == on1[0] {
			r.fatalf("want reduce[input_0] and reduce[input_1] on two workers")
		}
		victim, survivor := on0[0], on1[0]
		r.do("finish reduce[input_0]")
		for range 2 {
			r.do("wait 3s")
			r.do("beat " + strconv.Itoa(survivor))
		}
		r.do("finish reduce[input_1]")
		r.do("moved")
		r.do("committed")
		if n := strings.Count(strings.Join(r.storyActions(), "\n"), "send reduce[input_0] to"); n != 1 {
			r.errorf("the finished reduce[input_0] was sent %d times after its worker %d died, want once", n, victim)
		}
		if got := r.do("state"); !strings.HasPrefix(got[0], "done") {
			r.errorf("job state %q, want done", got[0])
		}
	})
}

// drain finishes every task sent in lines, from the worker it was sent to,
// then every task those send, and so on; and answers a commit.
func (r *specRun) drain(lines []string) {
	r.t.Helper()
	for range 20 {
		var next []string
		whats, pids := sends(lines, "")
		for i, what := range whats {
			if strings.Contains(what, "[") && !strings.HasPrefix(what, "cancel_task(") {
				next = append(next, r.do("finish "+what+" "+strconv.Itoa(pids[i]))...)
			}
		}
		for _, l := range lines {
			if strings.HasPrefix(l, "commit ") {
				next = append(next, r.do("committed")...)
			}
		}
		if len(next) == 0 {
			return
		}
		lines = next
	}
	r.fatalf("tasks still being sent after 20 rounds")
}

// workerState is pid's state as the scheduler lists it.
func workerState(r *specRun, pid int) string {
	for _, l := range r.do("workers") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == strconv.Itoa(pid) {
			return f[1]
		}
	}
	return "unknown"
}

// step plays ev, told in the story as event, and returns its action lines:
// for the events the scenario's words cannot say (a status from an attempt
// other than the task's last).
func (r *specRun) step(ev Event, event string) []string {
	lines := r.sc.describe(r.sc.step(ev))
	r.story = append(r.story, "> "+event)
	for _, l := range lines {
		r.story = append(r.story, "  "+l)
	}
	return lines
}

// storyActions returns the action lines of the story so far.
func (r *specRun) storyActions() []string {
	var out []string
	for _, l := range r.story {
		if a, ok := strings.CutPrefix(l, "  "); ok {
			out = append(out, a)
		}
	}
	return out
}

// TestSpecShuffleFirstFinishedAttemptHoldsTheRun: seed 004, "For a single
// job, only the first worker that successfully returns with a reply is
// handled, while other responses are ignored." With speculation, a map task
// of the shuffle runs twice; the run reducers fetch is the one of the
// attempt that finished first, and the other's late status changes nothing,
// not even where later reduce tasks fetch from.
func TestSpecShuffleFirstFinishedAttemptHoldsTheRun(t *testing.T) {
	for _, copyWins := range []bool{true, false} {
		name := "original wins"
		if copyWins {
			name = "copy wins"
		}
		t.Run(name, func(t *testing.T) {
			r := newSpecRun(t)
			r.do("config speculate")
			for _, pid := range []string{"101", "102", "103", "104"} {
				r.do("register " + pid + " " + shuffleWorker)
			}
			r.do("submit 3 2")
			maps, pids := sends(r.do("scan 3"), "map[")
			if len(maps) != 3 || pids[2] == 104 {
				r.fatalf("want 3 map tasks, none on 104")
			}
			straggler, slowPID := maps[2], pids[2]
			original := r.sc.send(straggler)
			r.do("finish " + maps[0])
			r.do("wait 1s")
			r.do("progress " + strconv.Itoa(pids[1]) + " " + maps[1] + "=1")
			r.do("progress " + strconv.Itoa(slowPID) + " " + straggler + "=1")
			r.do("finish " + maps[1])
			var copyPID int
			for i := 2; i < 10 && copyPID == 0; i++ {
				r.do("progress " + strconv.Itoa(slowPID) + " " + straggler + "=" + strconv.Itoa(i))
				if _, to := sends(r.do("wait 1s"), straggler); len(to) == 1 {
					copyPID = to[0]
				}
			}
			if copyPID == 0 || copyPID == slowPID {
				r.fatalf("no speculative copy of the straggler %s", straggler)
			}
			copied := r.sc.send(straggler)
			winner, loser := original, copied
			if copyWins {
				winner, loser = copied, original
			}
			reduces, _ := sends(r.step(StatusEvent{Msg: finished(winner)}, "finish (first) "+straggler+" "+strconv.Itoa(winner.PID)), "reduce[")
			if len(reduces) != 2 {
				r.fatalf("want the reduce tasks once the first attempt of %s finished", straggler)
			}
			for _, what := range reduces {
				if h := holders(t, what); h[2] != winner.PID {
					r.errorf("%s fetches map-2 from %d, want %d, whose attempt finished first", what, h[2], winner.PID)
				}
			}
			// The other attempt's late status is ignored.
			if late := r.step(StatusEvent{Msg: finished(loser)}, "finish (late) "+straggler+" "+strconv.Itoa(loser.PID)); len(late) != 0 {
				r.errorf("the late status of the other attempt did something: %q", late)
			}
			// A reducer cannot fetch map-1 from its holder: it is made
			// again, and the reduce task sent again still fetches map-2
			// from the winner.
			if _, to := sends(r.do("lost "+reduces[0]+" map-1"), maps[1]); len(to) != 1 || to[0] == pids[1] {
				r.fatalf("want %s made again, on a worker other than %d", maps[1], pids[1])
			}
			resent, _ := sends(r.do("finish "+maps[1]), "reduce[0:")
			if len(resent) != 1 {
				r.fatalf("want reduce task 0 sent again")
			}
			if h := holders(t, resent[0]); h[2] != winner.PID {
				r.errorf("%s fetches map-2 from %d, want %d, whose attempt finished first", resent[0], h[2], winner.PID)
			}
		})
	}
}

// TestSpecReferenceOnlyWorkerSeesOnlyReferenceMessages: seed 003, "Your code
// should have no other dependency besides the communication spec, and the
// messages sent in your system must match those listed in this spec
// exactly", and docs/protocol.md, "a reference-only peer must never notice
// [our extensions]". In a cluster of one of our workers and one
// reference-only worker, through a job with a combiner whose straggler on
// the reference worker is copied, a job that fails, a job cancelled and a
// map-only job, every message to the reference worker is a reference
// message, and every task it is sent has only the reference fields.
func TestSpecReferenceOnlyWorkerSeesOnlyReferenceMessages(t *testing.T) {
	const ref = 102
	fields := map[string][]string{
		protocol.TypeNewWorkerJob: {"executable", "input_files", "message_type", "output_directory", "worker_pid"},
		protocol.TypeNewSortJob:   {"input_files", "message_type", "output_file", "worker_pid"},
	}
	r := newSpecRun(t)
	tasks := 0
	// play plays an event and checks what it sent the reference worker.
	play := func(event string) []string {
		t.Helper()
		lines := r.do(event)
		whats, pids := sends(lines, "")
		for i, what := range whats {
			if pids[i] != ref || what == protocol.TypeRegisterAck || what == protocol.TypeShutdown {
				continue
			}
			snd, ok := r.sc.sends[what]
			if !ok || snd.PID != ref {
				r.errorf("after %q: sent %s to the reference-only worker", event, what)
				continue
			}
			tasks++
			data, err := protocol.Encode(snd.Msg)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			if keys := slices.Sorted(maps.Keys(m)); !slices.Equal(keys, fields[snd.Msg.Type()]) {
				r.errorf("after %q: the reference-only worker was sent %s, fields %q, want exactly %q", event, data, keys, fields[snd.Msg.Type()])
			}
			if m["worker_pid"] != float64(ref) {
				r.errorf("after %q: the reference-only worker was sent %s, worker_pid not its own", event, data)
			}
		}
		return lines
	}
	play("config speculate")
	play("register 101 progress cancel task splits programs shuffle2 id")
	play("register 102")

	// 1. A job with a combiner. The first task the reference worker gets
	// straggles, and is copied to our worker, which finishes first.
	play("submit 3 2 combiner")
	lines := play("scan 3")
	var late []string // tasks on the reference worker, to finish next round
	straggled := false
	for range 40 {
		whats, pids := sends(lines, "")
		var next, later []string
		for i, what := range whats {
			if !strings.Contains(what, "[") || strings.HasPrefix(what, "cancel_task(") {
				continue
			}
			if pids[i] == ref && !straggled {
				straggled = true
				later = append(later, what)
				continue
			}
			next = append(next, play("finish "+what+" "+strconv.Itoa(pids[i]))...)
		}
		if len(later) > 0 {
			next = append(next, play("wait 4s")...)
			next = append(next, play("beat 101 102")...)
		}
		for _, what := range late {
			next = append(next, play("finish "+what+" "+strconv.Itoa(ref))...)
		}
		late = later
		for _, l := range lines {
			switch f := strings.Fields(l); f[0] {
			case "merge":
				n, _ := strconv.Atoi(f[3])
				for p := range n {
					next = append(next, play("partition "+strconv.Itoa(p))...)
				}
				next = append(next, play("merged")...)
			case "move":
				next = append(next, play("moved")...)
			case "commit":
				next = append(next, play("committed")...)
			}
		}
		if len(next) == 0 && len(late) == 0 {
			break
		}
		lines = next
	}
	if got := play("state"); !strings.HasPrefix(got[0], "done") {
		r.fatalf("first job %q, want done", got[0])
	}
	if !straggled {
		r.fatalf("the reference worker got no task in the first job")
	}
	// 2. A job that fails, and 3. one cancelled, while the reference
	// worker runs a sort task.
	for _, end := range []string{"fail", "cancel"} {
		play("submit 2 1")
		whats, pids := sends(play("scan 2"), "map[")
		var sorts []string
		var on []int
		for i, what := range whats {
			w, p := sends(play("finish "+what+" "+strconv.Itoa(pids[i])), "sort[")
			sorts, on = append(sorts, w...), append(on, p...)
		}
		if !slices.Contains(on, ref) || !slices.Contains(on, 101) {
			r.fatalf("want sort tasks on both workers")
		}
		if end == "cancel" {
			play("cancel " + strconv.Itoa(r.sc.job))
			continue
		}
		play("fail " + sorts[slices.Index(on, 101)] + " sort failed")
	}
	// 4. A map-only job.
	play("submit 2 0")
	whats, pids := sends(play("scan 3"), "map[")
	for i, what := range whats {
		play("finish " + what + " " + strconv.Itoa(pids[i]))
	}
	play("committed")
	if tasks == 0 {
		r.fatalf("no task was sent to the reference-only worker: the test proves nothing")
	}
	for _, snd := range r.sc.s.ShutdownTargets() {
		if snd.PID == ref && snd.Msg != (protocol.Shutdown{}) {
			r.errorf("shutdown to the reference-only worker is %+v", snd.Msg)
		}
	}
}
