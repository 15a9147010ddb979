package worker

import (
	"fmt"
	"os"

	"mapreduce/protocol"
)

// environ is the environment of c reading in: the worker's, the job's
// cmdenv settings, and Hadoop Streaming's job variables (dots made
// underscores) when the master said which task this is:
//
//	mapreduce_job_id           job_3
//	mapreduce_task_id          task_3_m_000002 (m map, c combine, r reduce)
//	mapreduce_task_attempt_id  attempt_3_m_000002_0 (attempts from 0)
//	mapreduce_task_partition   2
//	mapreduce_task_ismap       true for a map task
//	mapreduce_job_maps         the job's map tasks (from a master that sends the program field)
//	mapreduce_job_reduces      the job's reduce tasks (likewise)
//	mapreduce_map_input_file   the file the mapper reads, and its old name map_input_file
//	mapreduce_map_input_start  where its part of the file starts: 0 for a whole file
//	mapreduce_map_input_length how many bytes it reads: the file's size for a whole file
//
// The input variables are set only for the mapper, and only when they
// are true of every record it reads: a split that packs several files
// leaves them unset (see programInput.mapInput). Later settings win, so
// the task's variables are last.
func (c command) environ(in programInput) []string {
	env := os.Environ()
	if c.prog != nil {
		env = append(env, c.prog.Env...)
	}
	id := c.task
	if id == nil {
		return env
	}
	kind := map[string]string{protocol.PhaseMap: "m", protocol.PhaseCombine: "c", protocol.PhaseReduce: "r"}[id.Stage]
	task := fmt.Sprintf("%d_%s_%06d", id.JobID, kind, id.Index)
	env = append(env,
		fmt.Sprintf("mapreduce_job_id=job_%d", id.JobID),
		"mapreduce_task_id=task_"+task,
		fmt.Sprintf("mapreduce_task_attempt_id=attempt_%s_%d", task, max(id.Attempt-1, 0)),
		fmt.Sprintf("mapreduce_task_partition=%d", id.Index),
		fmt.Sprintf("mapreduce_task_ismap=%t", id.Stage == protocol.PhaseMap),
	)
	if c.prog != nil {
		env = append(env, fmt.Sprintf("mapreduce_job_maps=%d", c.prog.Maps), fmt.Sprintf("mapreduce_job_reduces=%d", c.prog.Reduces))
	}
	if file, start, length, ok := in.mapInput(); c.mapper && ok {
		for _, prefix := range []string{"mapreduce_map_", "map_"} {
			env = append(env, prefix+"input_file="+file, fmt.Sprintf("%sinput_start=%d", prefix, start),
				fmt.Sprintf("%sinput_length=%d", prefix, length))
		}
	}
	return env
}
