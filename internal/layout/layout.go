// Package layout names the files of a job: the one home of every path rule
// the master and the reference protocol fix.
//
//	VAR/job-N/mapper-output/<input's name>   a map task's outputs
//	VAR/job-N/mapper-output/split_i          map task i's output, when it reads a split
//	VAR/job-N/grouper-output/sorted_i        sort task i's output
//	VAR/job-N/combiner-output/sorted_i       combine task i's output
//	VAR/job-N/grouper-output/input_i         reduce task i's input, from the merge
//	VAR/job-N/reducer-output/input_i         reduce task i's output
//	OUT/_temporary-N/input_i                 reduce task i's output, moved for the commit
//	OUT/input_i, OUT/_SUCCESS                the committed outputs, the marker last
//	DIR/.STAGE-I.attempt-L-A/<name>          an output of attempt A (sent by master life L)
//	                                         of task STAGE-I that writes apart from DIR/<name>
//
//	VAR/logs/job-N/STAGE-I.A.log             what attempt A of task STAGE-I wrote to stderr
//
// VAR/job-N is removed when job N ends, unless the master keeps
// intermediates; VAR/logs/job-N when later jobs' logs push it out.
//
// A worker keeps the runs of the shuffle in its own local directory:
//
//	LOCAL/job-N/RUN                          run RUN of job N (LocalRun)
//
// LOCAL/job-N is removed when the worker hears that job N ended, unless
// the worker keeps intermediates.
package layout

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Job is a job's directory under the master's var directory.
type Job string

// JobDir is the directory of job id: VAR/job-id, as the reference protocol
// names it.
func JobDir(varDir string, id int) Job {
	return Job(filepath.Join(varDir, fmt.Sprintf("job-%d", id)))
}

func (j Job) MapperOutput() string   { return filepath.Join(string(j), "mapper-output") }
func (j Job) GrouperOutput() string  { return filepath.Join(string(j), "grouper-output") }
func (j Job) CombinerOutput() string { return filepath.Join(string(j), "combiner-output") }
func (j Job) ReducerOutput() string  { return filepath.Join(string(j), "reducer-output") }

// Dirs are the directories made when the job is submitted: the reference
// protocol's three, and combiner-output for a job with a combiner.
func (j Job) Dirs(combiner bool) []string {
	dirs := []string{j.MapperOutput(), j.GrouperOutput(), j.ReducerOutput()}
	if combiner {
		dirs = append(dirs, j.CombinerOutput())
	}
	return dirs
}

// Sorted is sort task i's output file.
func (j Job) Sorted(i int) string {
	return filepath.Join(j.GrouperOutput(), fmt.Sprintf("sorted_%d", i))
}

// SplitOutput is map task i's output when the task reads a split (our
// extension) rather than whole files.
func (j Job) SplitOutput(i int) string {
	return filepath.Join(j.MapperOutput(), fmt.Sprintf("split_%d", i))
}

// MapOnlyOutputName is the name of map task i's output in a map-only job
// that reads splits: part-m-00000 …, as Hadoop names them, so that the
// shell lists them in order.
func MapOnlyOutputName(i int) string { return fmt.Sprintf("part-m-%05d", i) }

// ReduceInput is reduce task i's input file, written by the merge.
func (j Job) ReduceInput(i int) string { return filepath.Join(j.GrouperOutput(), ReduceInputName(i)) }

// ReduceInputName is the name of reduce task i's input, input_i, as the
// reference protocol fixes it.
func ReduceInputName(i int) string { return fmt.Sprintf("input_%d", i) }

// Output is where a worker writes its output for input in dir: the
// input's own name, as the reference protocol says.
func Output(dir, input string) string { return filepath.Join(dir, filepath.Base(input)) }

// CommitDir is where job id's outputs are gathered inside its output
// directory out before the commit renames them into place, as Hadoop's
// FileOutputCommitter uses out/_temporary.
func CommitDir(out string, id int) string {
	return filepath.Join(out, fmt.Sprintf("_temporary-%d", id))
}

// AttemptDir is where attempt number of task (a TaskName), sent by master
// life, writes the outputs it would write into dir, when it writes apart:
// another attempt may still be writing them in place (a reference-only
// worker's, which cannot be stopped). Its name starts with a dot, so that
// `cat dir/*` and listings of dir pass it by.
func AttemptDir(dir, task string, life, number int) string {
	return filepath.Join(dir, fmt.Sprintf(".%s.attempt-%d-%d", task, life, number))
}

// IsApart reports whether output is own (dir/name) as an attempt of task
// that writes apart names it: in an AttemptDir of dir.
func IsApart(output, own, task string) bool {
	attemptDir := filepath.Dir(output)
	return filepath.Base(output) == filepath.Base(own) && filepath.Dir(attemptDir) == filepath.Dir(own) &&
		strings.HasPrefix(filepath.Base(attemptDir), "."+task+".attempt-")
}

// SuccessMarker is the empty file written into a job's output directory
// once every output is in place, as Hadoop writes it.
const SuccessMarker = "_SUCCESS"

// Logs is the directory of job id's task logs: VAR/logs/job-id.
func Logs(varDir string, id int) string {
	return filepath.Join(varDir, "logs", fmt.Sprintf("job-%d", id))
}

// TaskName names task index of stage, as STAGE-INDEX (map-3): in log file
// names, task_logs and sendjob --logs.
func TaskName(stage string, index int) string { return fmt.Sprintf("%s-%d", stage, index) }

// ParseTaskName returns the stage and index of a TaskName.
func ParseTaskName(name string) (stage string, index int, ok bool) {
	stage, n, found := strings.Cut(name, "-") // stage names hold no '-'
	index, err := strconv.Atoi(n)
	if !found || stage == "" || err != nil || index < 0 {
		return "", 0, false
	}
	return stage, index, true
}

// TaskLog is the file of job id's attempt (from 1) of task (a TaskName).
func TaskLog(varDir string, id int, task string, attempt int) string {
	return filepath.Join(Logs(varDir, id), fmt.Sprintf("%s.%d.log", task, attempt))
}

// ParseTaskLog returns the task and attempt of a TaskLog's base name.
func ParseTaskLog(name string) (task string, attempt int, ok bool) {
	rest, found := strings.CutSuffix(name, ".log")
	i := strings.LastIndexByte(rest, '.')
	if !found || i < 0 {
		return "", 0, false
	}
	attempt, err := strconv.Atoi(rest[i+1:])
	if err != nil || attempt < 1 {
		return "", 0, false
	}
	return rest[:i], attempt, true
}

// LocalJob is job id's directory in a worker's local directory.
func LocalJob(localDir string, id int) string {
	return filepath.Join(localDir, fmt.Sprintf("job-%d", id))
}

// LocalRun is the file of run of job id in a worker's local directory. A
// run's name comes from another peer, so it must be a plain name that
// stays inside the job's directory: no '/', not empty, not starting with
// '.' (which also refuses "." and "..", and the atomic files' temporaries).
func LocalRun(localDir string, id int, run string) (string, error) {
	switch {
	case id < 0:
		return "", fmt.Errorf("job %d: a job id is not negative", id)
	case run == "":
		return "", errors.New("run name is empty")
	case strings.ContainsAny(run, "/\x00"):
		return "", fmt.Errorf("run name %q holds '/' or NUL: it must be a plain name", run)
	case strings.HasPrefix(run, "."):
		return "", fmt.Errorf("run name %q starts with '.': it must be a plain name", run)
	}
	return filepath.Join(LocalJob(localDir, id), run), nil
}
