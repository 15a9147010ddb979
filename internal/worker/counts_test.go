package worker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCountLines(t *testing.T) {
	tests := []struct {
		text string
		want lines
	}{
		{"", lines{0, 0}},
		{"a\n", lines{1, 2}},
		{"a\nb", lines{2, 3}},
		{"\n\n", lines{2, 2}},
		{"a\r\nb\r\n", lines{2, 6}},
		{strings.Repeat("word\n", 100000), lines{100000, 500000}},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		f.Seek(1, 0) // the offset does not matter
		got, err := countLines(f)
		f.Close()
		if err != nil || got != tt.want {
			t.Errorf("countLines(%.20q) = %+v, %v; want %+v", tt.text, got, err, tt.want)
		}
	}
}
