package worker

import "testing"

func TestEchoPath(t *testing.T) {
	tests := []struct{ dir, name, want string }{
		{"var/job-0/mapper-output", "f.txt", "var/job-0/mapper-output/f.txt"},
		{"var/job-0/mapper-output/", "f.txt", "var/job-0/mapper-output/f.txt"},
		{"./var//job-1/reducer-output", "input_0", "./var//job-1/reducer-output/input_0"},
		{"/abs/dir", "x", "/abs/dir/x"},
		{"", "x", "x"},
	}
	for _, tt := range tests {
		if got := echoPath(tt.dir, tt.name); got != tt.want {
			t.Errorf("echoPath(%q, %q) = %q, want %q", tt.dir, tt.name, got, tt.want)
		}
	}
}
