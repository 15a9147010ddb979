package bytesize

import "testing"

func TestSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{"268435456", 256 << 20, false}, {"256MiB", 256 << 20, false}, {"256M", 256 << 20, false},
		{"1G", 1 << 30, false}, {"512kib", 512 << 10, false}, {"64 MB", 64 << 20, false},
		{"lots", 0, true}, {"-1", 0, true}, {"1TiB", 0, true},
	}
	for _, tt := range tests {
		var s Size
		err := s.Set(tt.in)
		if tt.bad != (err != nil) || !tt.bad && int64(s) != tt.want {
			t.Errorf("Set(%q) = %d, %v; want %d, error %v", tt.in, s, err, tt.want, tt.bad)
		}
	}
	s := Size(256 << 20)
	if got := s.String(); got != "256MiB" {
		t.Errorf("String() = %q, want 256MiB", got)
	}
}
