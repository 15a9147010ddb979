package layout

import "testing"

func TestNames(t *testing.T) {
	j := JobDir("/v", 3)
	tests := []struct{ got, want string }{
		{string(j), "/v/job-3"},
		{j.MapperOutput(), "/v/job-3/mapper-output"},
		{j.Sorted(2), "/v/job-3/grouper-output/sorted_2"},
		{j.ReduceInput(12), "/v/job-3/grouper-output/input_12"},
		{ReduceInputName(0), "input_0"},
		{Output("/v/job-3/reducer-output", "/v/job-3/grouper-output/input_1"), "/v/job-3/reducer-output/input_1"},
		{CommitDir("/out", 3), "/out/_temporary-3"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if got := len(j.Dirs(false)); got != 3 {
		t.Errorf("Dirs(false) has %d directories, want the reference protocol's 3", got)
	}
}
