package scheduler

import "slices"

// roster is the workers that can run one kind of task, in the order
// dispatch prefers them (liveWorkersWhere's): least loaded first, then in
// the order they registered. dispatch orders them once and keeps them in
// order as it hands out tasks, rather than sorting every worker for every
// task: a stage of 100,000 tasks planned at once on 1000 workers sorted
// them 100,000 times.
type roster struct {
	needs   needs
	workers []*worker
	// excluded, when there is no such worker, describes the live ones
	// that could run the tasks if every one is excluded (allExcluded):
	// found once, not for each task.
	excluded string
}

// roster returns the live workers that can run tasks with needs, ordered.
func (s *Scheduler) roster(n needs) *roster {
	r := &roster{needs: n, workers: s.liveWorkersWhere(func(w *worker) bool { return w.can(n) })}
	if len(r.workers) == 0 {
		r.excluded = s.allExcluded(n)
	}
	return r
}

// took moves the worker at i, which was just given a task, past those
// that are now less loaded than it: the workers after it are in order, so
// its place among them is found by binary search.
func (r *roster) took(i int) {
	w := r.workers[i]
	rest := r.workers[i+1:]
	n, _ := slices.BinarySearchFunc(rest, w, byLoad)
	copy(r.workers[i:], rest[:n])
	r.workers[i+n] = w
}

// byLoad orders workers least loaded first, then in the order they
// registered.
func byLoad(a, b *worker) int {
	if d := len(a.held) - len(b.held); d != 0 {
		return d
	}
	return a.incarnation - b.incarnation
}
