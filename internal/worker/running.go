package worker

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mapreduce/protocol"
)

// running is a task the worker holds, queued for a slot or running. Its
// progress is what the heartbeats report, and cancel kills it.
type running struct {
	// output names the task as its status will: the first output file.
	output string
	// task is the identity the task came with, echoed in what the worker
	// says of it; nil from a reference master.
	task   *protocol.TaskIdentity
	ctx    context.Context
	cancel context.CancelFunc
	// sort: an in-process sort, our own code, which cannot stall without
	// failing; it always shows progress.
	sort bool
	// stderr is where the task's programs write stderr.
	stderr *taskStderr
	// killed: cancel_task killed the task (not a shutdown).
	killed atomic.Bool

	mu sync.Mutex
	// done counts the bytes read and written by the inputs already run;
	// read (how far the program has read its input) and out are the
	// running program's, nil between programs; started is set once a
	// program has run.
	done    int64
	read    func() int64
	out     *os.File
	started bool
	// waiting: the task waits for a slot for its next program.
	waiting bool
}

// progress counts the bytes the task has read and written so far, and its
// programs' reporter lines. A sort task, or one still waiting for a slot,
// always shows progress (the time).
func (r *running) progress() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sort || !r.started || r.waiting {
		// A task waiting for a slot is not stuck: the programs holding
		// the slots are, if anything, and their own clocks run.
		return time.Now().UnixNano()
	}
	_, reports := r.stderr.current()
	return r.done + r.now() + reports
}

// now counts what the running program has read and written; r.mu is held.
func (r *running) now() int64 {
	var n int64
	if r.read != nil {
		n += r.read()
	}
	if r.out != nil {
		if info, err := r.out.Stat(); err == nil {
			n += info.Size()
		}
	}
	return n
}

// waitingForSlot records whether the task waits for a slot.
func (r *running) waitingForSlot(waiting bool) {
	r.mu.Lock()
	r.waiting = waiting
	r.mu.Unlock()
}

// runningProgram records that a program now reads an input, read counting
// how far, and writes out.
func (r *running) runningProgram(read func() int64, out *os.File) {
	r.mu.Lock()
	r.read, r.out, r.started = read, out, true
	r.mu.Unlock()
}

// programDone adds what the program read and wrote to done.
func (r *running) programDone() {
	r.mu.Lock()
	r.done += r.now()
	r.read, r.out = nil, nil
	r.mu.Unlock()
}

// hold records a task the worker now holds, or returns nil once the worker
// is stopping; release it when it ends.
func (w *Worker) hold(output string, task *protocol.TaskIdentity, sort bool) *running {
	r := &running{output: output, task: task, sort: sort, stderr: newTaskStderr()}
	r.ctx, r.cancel = context.WithCancel(w.ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopping {
		r.cancel()
		return nil
	}
	if old := w.held[filepath.Clean(output)]; old != nil {
		// The master sent the task again (after it restarted, or took
		// the worker for dead): the newer message wins; two programs
		// must not write the same output.
		old.cancel()
	}
	w.held[filepath.Clean(output)] = r
	w.tasks.Add(1)
	return r
}

func (w *Worker) release(r *running) {
	w.mu.Lock()
	if w.held[filepath.Clean(r.output)] == r {
		delete(w.held, filepath.Clean(r.output))
	}
	w.mu.Unlock()
	r.cancel()
	w.tasks.Done()
}

// cancelTask kills the task msg names, if the worker holds it: the one
// with its identity, when it gives one (then only that attempt, not a
// newer one of the same task), else the one with its output.
func (w *Worker) cancelTask(msg protocol.CancelTask) bool {
	w.mu.Lock()
	r := w.held[filepath.Clean(msg.Output)]
	if msg.Task != nil {
		r = nil
		for _, h := range w.held {
			if h.task != nil && *h.task == *msg.Task {
				r = h
			}
		}
	}
	w.mu.Unlock()
	if r != nil {
		r.killed.Store(true)
		r.cancel()
	}
	return r != nil
}

// heldTasks lists what the worker holds, by output, for a heartbeat, with
// their status lines if statusLines.
func (w *Worker) heldTasks(statusLines bool) []protocol.TaskProgress {
	w.mu.Lock()
	held := make([]*running, 0, len(w.held))
	for _, r := range w.held {
		held = append(held, r)
	}
	w.mu.Unlock()
	slices.SortFunc(held, func(a, b *running) int { return strings.Compare(a.output, b.output) })
	tasks := make([]protocol.TaskProgress, 0, len(held))
	for _, r := range held {
		p := protocol.TaskProgress{Output: r.output, Task: r.task, Progress: r.progress()}
		if statusLines {
			p.StatusLine, _ = r.stderr.current()
		}
		tasks = append(tasks, p)
	}
	return tasks
}

// fitHeartbeat cuts hb's task list to room bytes (protocol.MaxHeartbeatSize
// less an authentication header), starting at task number first (mod the
// list's length), so that every task is listed in turn.
func fitHeartbeat(hb protocol.Heartbeat, first, room int) protocol.Heartbeat {
	all := hb.Tasks
	for n := len(all); n > 0; n-- {
		hb.Tasks = hb.Tasks[:0:0]
		for i := range n {
			hb.Tasks = append(hb.Tasks, all[(first+i)%len(all)])
		}
		hb.TasksCut = n < len(all)
		if data, err := protocol.Encode(hb); err == nil && len(data) <= room {
			return hb
		}
	}
	hb.Tasks, hb.TasksCut = nil, len(all) > 0
	return hb
}
