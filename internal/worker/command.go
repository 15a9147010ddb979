package worker

import (
	"errors"
	"fmt"
	"os"

	"mapreduce/internal/program"
	"mapreduce/protocol"
)

// command is one program a task runs and how: its executable and
// arguments, the job's settings (protocol.Program, from a master that sent
// them) and whether it is the job's mapper, which alone is told its input.
type command struct {
	exe    string
	args   []string
	task   *protocol.TaskIdentity
	prog   *protocol.Program
	mapper bool
}

// taskCommand is the command that runs job's executable.
func taskCommand(job protocol.NewWorkerJob) command {
	c := command{exe: job.Executable, task: job.Task, prog: job.Program,
		mapper: job.Task != nil && job.Task.Stage == protocol.PhaseMap}
	if job.Program != nil {
		c.args = job.Program.Args
	}
	return c
}

// combiner is the command that runs a map task's combiner.
func (c command) combiner(exe string) command {
	c.exe, c.mapper, c.args = exe, false, nil
	if c.prog != nil {
		c.args = c.prog.CombinerArgs
	}
	return c
}

// dir is the job's working directory, where the program runs; "" for the
// worker's own.
func (c command) dir() string {
	if c.prog == nil {
		return ""
	}
	return c.prog.WorkDir
}

// inputKey reports whether the program reads FILE<tab>LINE records.
func (c command) inputKey() bool {
	return c.mapper && c.prog != nil && c.prog.InputKey == protocol.InputKeyFile
}

// path finds the executable, in the job's working directory, which must
// be visible here.
func (c command) path() (string, error) {
	if dir := c.dir(); dir != "" {
		info, err := os.Stat(dir)
		if err == nil && !info.IsDir() {
			err = errors.New("not a directory")
		}
		if err != nil {
			host, _ := os.Hostname()
			return "", fmt.Errorf("the job's working directory %s (where sendjob ran) is not visible on this worker (host %s): %w; "+
				"every worker must see it at the same path (a shared file system)", dir, host, err)
		}
	}
	return program.Find(c.exe, c.dir())
}

// String is the command as a shell would read it, for messages.
func (c command) String() string { return program.Join(append([]string{c.exe}, c.args...)) }
