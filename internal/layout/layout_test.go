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
		{Logs("/v", 3), "/v/logs/job-3"},
		{TaskLog("/v", 3, TaskName("map", 12), 2), "/v/logs/job-3/map-12.2.log"},
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

func TestParseTaskLog(t *testing.T) {
	tests := []struct {
		name    string
		task    string
		attempt int
		ok      bool
	}{
		{"map-12.2.log", "map-12", 2, true},
		{"reduce-0.10.log", "reduce-0", 10, true},
		{"map-1.0.log", "", 0, false},
		{"map-1.log", "", 0, false},
		{"map-1.x.log", "", 0, false},
		{"map-1.2", "", 0, false},
	}
	for _, tt := range tests {
		task, attempt, ok := ParseTaskLog(tt.name)
		if task != tt.task || attempt != tt.attempt || ok != tt.ok {
			t.Errorf("ParseTaskLog(%q) = %q, %d, %t; want %q, %d, %t", tt.name, task, attempt, ok, tt.task, tt.attempt, tt.ok)
		}
	}
}

func TestParseTaskName(t *testing.T) {
	tests := []struct {
		name  string
		stage string
		index int
		ok    bool
	}{
		{TaskName("map", 12), "map", 12, true},
		{"reduce-0", "reduce", 0, true},
		{"map", "", 0, false},
		{"map-x", "", 0, false},
		{"map--1", "", 0, false},
	}
	for _, tt := range tests {
		stage, index, ok := ParseTaskName(tt.name)
		if stage != tt.stage || index != tt.index || ok != tt.ok {
			t.Errorf("ParseTaskName(%q) = %q, %d, %t; want %q, %d, %t", tt.name, stage, index, ok, tt.stage, tt.index, tt.ok)
		}
	}
}

func TestLocalRun(t *testing.T) {
	got, err := LocalRun("/l", 3, "map-0")
	if err != nil || got != "/l/job-3/map-0" {
		t.Errorf("LocalRun = %q, %v; want /l/job-3/map-0", got, err)
	}
	for _, run := range []string{"", ".", "..", ".hidden", ".map-0.tmp-1", "a/b", "../x", "/abs", "a\x00b"} {
		if got, err := LocalRun("/l", 3, run); err == nil {
			t.Errorf("LocalRun(%q) = %q, want refused", run, got)
		}
	}
	if _, err := LocalRun("/l", -1, "map-0"); err == nil {
		t.Error("LocalRun of job -1: not refused")
	}
}

func TestAttemptDir(t *testing.T) {
	own := "/v/job-0/mapper-output/a.txt"
	apart := Output(AttemptDir("/v/job-0/mapper-output", "map-3", 2, 5), "a.txt")
	if want := "/v/job-0/mapper-output/.map-3.attempt-2-5/a.txt"; apart != want {
		t.Fatalf("apart output %s, want %s", apart, want)
	}
	for _, c := range []struct {
		output, task string
		want         bool
	}{
		{apart, "map-3", true},
		{apart, "map-30", false}, // another task's
		{apart, "map-", false},
		{"/v/job-0/mapper-output/.map-3.attempt-2-5/b.txt", "map-3", false},   // another output
		{"/v/job-0/reducer-output/.map-3.attempt-2-5/a.txt", "map-3", false},  // another directory
		{"/v/job-0/mapper-output/x/.map-3.attempt-2-5/a.txt", "map-3", false}, // deeper
		{own, "map-3", false},
	} {
		if got := IsApart(c.output, own, c.task); got != c.want {
			t.Errorf("IsApart(%s, %s, %s) = %v, want %v", c.output, own, c.task, got, c.want)
		}
	}
}
