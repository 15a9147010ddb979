package fdnode

import "encoding/json"

// taskTable records which worker holds each task. A task has one holder at
// a time: giving it to a worker takes it from whoever held it before.
type taskTable struct {
	byID map[string]heldTask
}

// heldTask is a task's holder and its input.
type heldTask struct {
	worker string
	// chunk is the task's input as the request gave it, kept so that the
	// task can be handed out again without asking for it.
	chunk json.RawMessage
}

func newTaskTable() *taskTable {
	return &taskTable{byID: make(map[string]heldTask)}
}

// assign records task id, with its chunk, as held by worker.
func (tt *taskTable) assign(id string, chunk json.RawMessage, worker string) {
	tt.byID[id] = heldTask{worker: worker, chunk: chunk}
}

// moveAll gives every task held by from to to, keeping their chunks.
func (tt *taskTable) moveAll(from, to string) {
	for id, t := range tt.byID {
		if t.worker == from {
			tt.byID[id] = heldTask{worker: to, chunk: t.chunk}
		}
	}
}
