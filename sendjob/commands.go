package main

import (
	"fmt"

	"mapreduce/internal/program"
	"mapreduce/protocol"
)

// commands are the --mapper, --reducer and --combiner flags: commands with
// arguments, which set the job's executables and their arguments.
type commands struct {
	mapper, reducer, combiner string
}

// apply splits each command given into the job's executable and
// arguments. A command and its --*-executable flag go one at a time.
func (c commands) apply(job *protocol.NewMasterJob, changed func(string) bool) error {
	for _, f := range []struct {
		flag, command string
		exe           *string
		args          *[]string
	}{
		{"mapper", c.mapper, &job.MapperExecutable, &job.MapperArgs},
		{"reducer", c.reducer, &job.ReducerExecutable, &job.ReducerArgs},
		{"combiner", c.combiner, &job.CombinerExecutable, &job.CombinerArgs},
	} {
		if !changed(f.flag) {
			continue
		}
		if changed(f.flag + "-executable") {
			return fmt.Errorf("--%s and --%s-executable go one at a time", f.flag, f.flag)
		}
		words, err := program.Split(f.command)
		if err != nil {
			return fmt.Errorf("--%s %q: %w", f.flag, f.command, err)
		}
		*f.exe, *f.args = words[0], words[1:]
	}
	return nil
}
