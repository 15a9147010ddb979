package master

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mapreduce/protocol"
)

func TestCheckSubmitted(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "in")
	if err := os.Mkdir(input, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "prog")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\ncat\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	good := protocol.NewMasterJob{InputDirectory: input, OutputDirectory: filepath.Join(dir, "new", "out"),
		MapperExecutable: exe, ReducerExecutable: exe, NumMappers: 1, NumReducers: 1}
	tests := []struct {
		name   string
		change func(*protocol.NewMasterJob)
		want   string // in the error; "" for none
	}{
		{"good", func(*protocol.NewMasterJob) {}, ""},
		{"missing input", func(j *protocol.NewMasterJob) { j.InputDirectory = filepath.Join(dir, "nope") }, "input directory: open"},
		{"input is a file", func(j *protocol.NewMasterJob) { j.InputDirectory = file }, "not a directory"},
		{"missing reducer", func(j *protocol.NewMasterJob) { j.ReducerExecutable = filepath.Join(dir, "nope") }, "nope: no such file"},
		{"map-only: no reducer checked", func(j *protocol.NewMasterJob) { j.NumReducers, j.ReducerExecutable = 0, filepath.Join(dir, "nope") }, ""},
		{"output under a file", func(j *protocol.NewMasterJob) { j.OutputDirectory = filepath.Join(file, "out") }, file + " is not a directory"},
		{"output is the input", func(j *protocol.NewMasterJob) { j.OutputDirectory = input }, "is the input directory"},
	}
	for _, tt := range tests {
		spec := good
		tt.change(&spec)
		err := checkSubmitted(spec, filepath.Join(dir, "var"))
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: checkSubmitted = %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); !os.IsNotExist(err) {
		t.Errorf("checkSubmitted made the output directory's parent: %v", err)
	}
}
