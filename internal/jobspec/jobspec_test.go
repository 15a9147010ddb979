package jobspec

import (
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
	if spec != want {
		t.Errorf("Resolve gave %+v, want %+v", spec, want)
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
		{"longest path", func(j *protocol.NewMasterJob) { j.InputDirectory = strings.Repeat("d", MaxPath) }, ""},
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
