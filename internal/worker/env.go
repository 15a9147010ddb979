package worker

import (
	"fmt"
	"os"

	"mapreduce/protocol"
)

// programEnv is the environment of a program that reads input for task id,
// with Hadoop Streaming's job variables (dots made underscores) added when
// the master said which task this is:
//
//	mapreduce_job_id           job_3
//	mapreduce_task_id          task_3_m_000002 (m map, c combine, r reduce)
//	mapreduce_task_attempt_id  attempt_3_m_000002_0 (attempts from 0)
//	mapreduce_task_partition   2
//	mapreduce_task_ismap       true for a map task
//	mapreduce_map_input_file   the file the program reads (map tasks)
//	mapreduce_map_input_start  where its part of the file starts: 0 for a whole file
//	mapreduce_map_input_length how many bytes it reads: the file's size for a whole file
//
// A packed split (ranges of several files) gives its first file and start,
// and its bytes in all: see programInput.mapInput.
func programEnv(id *protocol.TaskIdentity, in programInput) []string {
	env := os.Environ()
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
	if id.Stage == protocol.PhaseMap {
		file, start, length := in.mapInput()
		env = append(env, "mapreduce_map_input_file="+file, fmt.Sprintf("mapreduce_map_input_start=%d", start),
			fmt.Sprintf("mapreduce_map_input_length=%d", length))
	}
	return env
}
