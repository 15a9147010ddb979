// Package jobspec checks a new_master_job and makes its paths absolute:
// the rules that sendjob and the master share.
package jobspec

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"mapreduce/internal/program"
	"mapreduce/protocol"
)

// MaxReducers bounds num_reducers: the master's merge writes every
// partition at once, each through its own buffer.
const MaxReducers = 1000

// MaxMappers bounds num_mappers: a large file is cut into that many map
// tasks, each of which the master holds and sends.
const MaxMappers = 10000

// MaxPath bounds a path field: Linux's PATH_MAX. A longer path cannot be
// opened, and the master repeats a job's paths in every job_status reply.
const MaxPath = 4096

// MaxCommand bounds the arguments and the environment a job gives its
// programs, in bytes all told: they travel in every task message.
const MaxCommand = 64 << 10

// fields are the job's path fields, by wire name.
func fields(spec *protocol.NewMasterJob) []struct {
	name string
	path *string
} {
	return []struct {
		name string
		path *string
	}{
		{"input_directory", &spec.InputDirectory},
		{"output_directory", &spec.OutputDirectory},
		{"mapper_executable", &spec.MapperExecutable},
		{"reducer_executable", &spec.ReducerExecutable},
		{"combiner_executable", &spec.CombinerExecutable},
	}
}

// Resolve makes spec's relative paths absolute against the job's working
// directory (work_dir), or dir for a job sent without one. An executable
// named without a slash is left to the workers (program.Find); an empty
// field stays empty. Arguments are left as they are: the programs run in
// the working directory.
func Resolve(spec *protocol.NewMasterJob, dir string) {
	if spec.WorkDir != "" {
		dir = spec.WorkDir
	}
	for _, f := range fields(spec) {
		if *f.path == "" || strings.HasSuffix(f.name, "_executable") && program.Bare(*f.path) {
			continue
		}
		if !filepath.IsAbs(*f.path) {
			*f.path = filepath.Join(dir, *f.path)
		}
		*f.path = filepath.Clean(*f.path)
	}
}

// MapOnly reports whether spec is a map-only job (num_reducers 0, Hadoop's
// -numReduceTasks 0): the mappers' outputs, unsorted, are its outputs.
func MapOnly(spec protocol.NewMasterJob) bool { return spec.NumReducers == 0 }

// Programs lists the programs spec runs: a map-only job runs no reducer.
func Programs(spec protocol.NewMasterJob) []string {
	programs := []string{spec.MapperExecutable}
	if !MapOnly(spec) {
		programs = append(programs, spec.ReducerExecutable)
	}
	if spec.CombinerExecutable != "" {
		programs = append(programs, spec.CombinerExecutable)
	}
	return programs
}

// Validate reports everything wrong with spec that can be seen without
// looking at files: empty fields and counts out of range.
func Validate(spec protocol.NewMasterJob) error {
	var problems []string
	for _, f := range fields(&spec) {
		optional := f.name == "combiner_executable" || f.name == "reducer_executable" && MapOnly(spec)
		if *f.path == "" && !optional {
			problems = append(problems, f.name+" is empty")
		}
		if len(*f.path) > MaxPath {
			problems = append(problems, fmt.Sprintf("%s is %d bytes long, at most %d", f.name, len(*f.path), MaxPath))
		}
	}
	if spec.NumMappers < 1 || spec.NumMappers > MaxMappers {
		problems = append(problems, fmt.Sprintf("num_mappers is %d, must be from 1 to %d", spec.NumMappers, MaxMappers))
	}
	if spec.NumReducers < 0 || spec.NumReducers > MaxReducers {
		problems = append(problems, fmt.Sprintf("num_reducers is %d, must be from 0 (a map-only job) to %d", spec.NumReducers, MaxReducers))
	}
	if MapOnly(spec) && spec.CombinerExecutable != "" {
		// Hadoop ignores it; saying so beats a combiner that silently never runs.
		problems = append(problems, "a map-only job (num_reducers 0) has no combiner: its map outputs are its outputs")
	}
	problems = append(problems, validatePrograms(spec.JobPrograms)...)
	if len(problems) > 0 {
		return errors.New("bad job: " + strings.Join(problems, "; "))
	}
	return nil
}

// Within reports whether path is dir or lies inside it. Both are absolute
// and clean, as Resolve leaves them.
func Within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// RealPath is p, absolute and clean, with the links of its longest
// existing prefix resolved.
func RealPath(p string) string {
	rest := ""
	for dir := p; ; dir = filepath.Dir(dir) {
		if resolved, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(resolved, rest)
		}
		if dir == filepath.Dir(dir) {
			return p
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}

// CheckDirectories reports an output directory that is the input directory
// or lies inside it: the outputs, named input_0 …, would overwrite inputs
// of those names, and a later job over the input would read them. spec's
// paths are absolute and clean, as Resolve leaves them.
func CheckDirectories(spec protocol.NewMasterJob) error {
	in, out := spec.InputDirectory, spec.OutputDirectory
	switch {
	case out == in:
		return fmt.Errorf("output_directory %s is the input directory", out)
	case Within(out, in):
		return fmt.Errorf("output_directory %s is inside input_directory %s", out, in)
	}
	return nil
}

// validatePrograms lists what is wrong with a job's program fields.
func validatePrograms(p protocol.JobPrograms) []string {
	var problems []string
	size := 0
	for _, list := range [][]string{p.MapperArgs, p.ReducerArgs, p.CombinerArgs, p.Cmdenv} {
		for _, s := range list {
			size += len(s) + 1
		}
	}
	if size > MaxCommand {
		problems = append(problems, fmt.Sprintf("the programs' arguments and cmdenv are %d bytes, at most %d", size, MaxCommand))
	}
	for _, kv := range p.Cmdenv {
		if err := CheckSetting(kv); err != nil {
			problems = append(problems, "cmdenv: "+err.Error())
		}
	}
	if p.WorkDir != "" && (!filepath.IsAbs(p.WorkDir) || len(p.WorkDir) > MaxPath) {
		problems = append(problems, fmt.Sprintf("work_dir %.100q is not an absolute path", p.WorkDir))
	}
	if p.InputKey != "" && p.InputKey != protocol.InputKeyFile {
		problems = append(problems, fmt.Sprintf("input_key is %.100q; the one known is %q", p.InputKey, protocol.InputKeyFile))
	}
	return problems
}

// CheckSetting checks one NAME=VALUE of cmdenv: NAME is a shell variable's
// name (letters, digits and underscores, not starting with a digit), so
// that every program, in any language, can read it.
func CheckSetting(kv string) error {
	name, _, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("%.100q is not NAME=VALUE", kv)
	}
	valid := name != "" && !(name[0] >= '0' && name[0] <= '9')
	for _, c := range name {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			valid = false
		}
	}
	if !valid {
		return fmt.Errorf("%.100q: the name must be letters, digits and underscores, not starting with a digit", name)
	}
	if strings.ContainsRune(kv, 0) {
		return fmt.Errorf("%.100q: the value holds a NUL byte", name)
	}
	return nil
}
