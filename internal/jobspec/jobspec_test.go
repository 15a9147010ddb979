package jobspec

import (
	"reflect"
	"strings"
	"testing"

	"mapreduce/protocol"
)

func TestResolve(t *testing.T) {
	spec := protocol.NewMasterJob{
		InputDirectory: "in", OutputDirectory: "/abs/out/", MapperExecutable: "exec/map.py",
		ReducerExecutable: "cat", NumMappers: 1, NumReducers: 1,
	}
	Resolve(&spec, "/work")
	want := protocol.NewMasterJob{
		InputDirectory: "/work/in", OutputDirectory: "/abs/out", MapperExecutable: "/work/exec/map.py",
		ReducerExecutable: "cat", NumMappers: 1, NumReducers: 1,
	}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("Resolve gave %+v, want %+v", spec, want)
	}
}

func TestResolveWorkDir(t *testing.T) {
	spec := protocol.NewMasterJob{InputDirectory: "in", OutputDirectory: "out", MapperExecutable: "./m.py",
		ReducerExecutable: "r.py", JobPrograms: protocol.JobPrograms{WorkDir: "/home/u/job", MapperArgs: []string{"data.txt"}}}
	Resolve(&spec, "/master")
	if spec.InputDirectory != "/home/u/job/in" || spec.MapperExecutable != "/home/u/job/m.py" ||
		spec.ReducerExecutable != "r.py" || spec.MapperArgs[0] != "data.txt" {
		t.Errorf("Resolve gave %+v", spec)
	}
}

func TestValidate(t *testing.T) {
	good := protocol.NewMasterJob{InputDirectory: "i", OutputDirectory: "o", MapperExecutable: "m", ReducerExecutable: "r", NumMappers: 1, NumReducers: 1}
	tests := []struct {
		name   string
		change func(*protocol.NewMasterJob)
		want   string // in the error; "" for none
	}{
		{"good", func(*protocol.NewMasterJob) {}, ""},
		{"no mapper", func(j *protocol.NewMasterJob) { j.MapperExecutable = "" }, "mapper_executable is empty"},
		{"no mappers", func(j *protocol.NewMasterJob) { j.NumMappers = 0 }, "num_mappers is 0"},
		{"too many reducers", func(j *protocol.NewMasterJob) { j.NumReducers = MaxReducers + 1 }, "num_reducers is 1001"},
		{"negative reducers", func(j *protocol.NewMasterJob) { j.NumReducers = -1 }, "num_reducers is -1, must be from 0 (a map-only job)"},
		{"map-only", func(j *protocol.NewMasterJob) { j.NumReducers = 0 }, ""},
		{"map-only without reducer", func(j *protocol.NewMasterJob) { j.NumReducers, j.ReducerExecutable = 0, "" }, ""},
		{"no reducer", func(j *protocol.NewMasterJob) { j.ReducerExecutable = "" }, "reducer_executable is empty"},
		{"map-only with combiner", func(j *protocol.NewMasterJob) { j.NumReducers, j.CombinerExecutable = 0, "c" }, "has no combiner"},
		{"too many mappers", func(j *protocol.NewMasterJob) { j.NumMappers = MaxMappers + 1 }, "num_mappers is 10001"},
		{"longest path", func(j *protocol.NewMasterJob) { j.InputDirectory = strings.Repeat("d", MaxPath) }, ""},
		{"cmdenv", func(j *protocol.NewMasterJob) { j.Cmdenv = []string{"GREP_PATTERN=a=b", "_X1=", "y="} }, ""},
		{"cmdenv without =", func(j *protocol.NewMasterJob) { j.Cmdenv = []string{"GREP_PATTERN"} }, `cmdenv: "GREP_PATTERN" is not NAME=VALUE`},
		{"cmdenv bad name", func(j *protocol.NewMasterJob) { j.Cmdenv = []string{"1X=a"} }, `cmdenv: "1X": the name must be`},
		{"cmdenv dash", func(j *protocol.NewMasterJob) { j.Cmdenv = []string{"A-B=a"} }, `cmdenv: "A-B"`},
		{"arguments too long", func(j *protocol.NewMasterJob) { j.MapperArgs = []string{strings.Repeat("a", MaxCommand)} }, "at most 65536"},
		{"relative work_dir", func(j *protocol.NewMasterJob) { j.WorkDir = "here" }, `work_dir "here" is not an absolute path`},
		{"input key", func(j *protocol.NewMasterJob) { j.InputKey = "file" }, ""},
		{"unknown input key", func(j *protocol.NewMasterJob) { j.InputKey = "offset" }, `input_key is "offset"`},
		{"path too long", func(j *protocol.NewMasterJob) { j.OutputDirectory = strings.Repeat("d", 10<<20) }, "output_directory is 10485760 bytes long"},
	}
	for _, tt := range tests {
		spec := good
		tt.change(&spec)
		err := Validate(spec)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: Validate = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestCheckDirectories(t *testing.T) {
	tests := []struct {
		in, out string
		want    string // in the error; "" for none
	}{
		{"/data/in", "/data/out", ""},
		{"/data/in", "/data/input", ""}, // a shared prefix is not a parent
		{"/data/in", "/data", ""},       // the input inside the output: refused by the master if not empty
		{"/data/in", "/data/in", "output_directory /data/in is the input directory"},
		{"/data/in", "/data/in/out", "output_directory /data/in/out is inside input_directory /data/in"},
		{"/data/in", "/data/in/a/b", "inside input_directory /data/in"},
		{"/", "/out", "inside input_directory /"},
	}
	for _, tt := range tests {
		err := CheckDirectories(protocol.NewMasterJob{InputDirectory: tt.in, OutputDirectory: tt.out})
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("input %s, output %s: CheckDirectories = %v, want %q", tt.in, tt.out, err, tt.want)
		}
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		path, dir string
		want      bool
	}{
		{"/a", "/a", true},
		{"/a/b", "/a", true},
		{"/a/b/c", "/a", true},
		{"/ab", "/a", false},
		{"/a", "/a/b", false},
		{"/..a", "/", true},
		{"/a/..b", "/a", true},
		{"/x", "/a", false},
	}
	for _, tt := range tests {
		if got := Within(tt.path, tt.dir); got != tt.want {
			t.Errorf("Within(%q, %q) = %v, want %v", tt.path, tt.dir, got, tt.want)
		}
	}
}
