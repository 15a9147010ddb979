package split

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"mapreduce/protocol"
)

func TestPlan(t *testing.T) {
	r := func(file string, start, length int64) protocol.InputRange {
		return protocol.InputRange{File: file, Start: start, Length: length}
	}
	tests := []struct {
		name  string
		files []File
		n     int
		want  [][]protocol.InputRange
	}{
		{"no files", nil, 4, nil},
		{"one file cut in four", []File{{"a", 100}}, 4,
			[][]protocol.InputRange{{r("a", 0, 25)}, {r("a", 25, 25)}, {r("a", 50, 25)}, {r("a", 75, 25)}}},
		{"uneven cut", []File{{"a", 10}}, 3,
			[][]protocol.InputRange{{r("a", 0, 3)}, {r("a", 3, 3)}, {r("a", 6, 4)}}},
		{"small files packed", []File{{"a", 5}, {"b", 5}, {"c", 5}, {"d", 5}}, 2,
			[][]protocol.InputRange{{r("a", 0, 5), r("b", 0, 5)}, {r("c", 0, 5), r("d", 0, 5)}}},
		{"a file across a boundary", []File{{"a", 6}, {"b", 6}, {"c", 6}}, 2,
			[][]protocol.InputRange{{r("a", 0, 6), r("b", 0, 3)}, {r("b", 3, 3), r("c", 0, 6)}}},
		{"empty files go where they lie", []File{{"e0", 0}, {"a", 4}, {"e1", 0}, {"b", 4}, {"e2", 0}}, 2,
			[][]protocol.InputRange{{r("e0", 0, 0), r("a", 0, 4), r("e1", 0, 0)}, {r("b", 0, 4), r("e2", 0, 0)}}},
		{"all empty: one split", []File{{"e0", 0}, {"e1", 0}}, 3,
			[][]protocol.InputRange{{r("e0", 0, 0), r("e1", 0, 0)}}},
		{"fewer bytes than splits", []File{{"a", 2}, {"b", 1}}, 8,
			[][]protocol.InputRange{{r("a", 0, 1)}, {r("a", 1, 1)}, {r("b", 0, 1)}}},
		{"one split", []File{{"a", 3}, {"b", 4}}, 1,
			[][]protocol.InputRange{{r("a", 0, 3), r("b", 0, 4)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Plan(tt.files, tt.n)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Plan(%v, %d) =\n%v\nwant\n%v", tt.files, tt.n, got, tt.want)
			}
		})
	}
}

// TestPlanBalanced: splits differ by at most a byte and cover every byte once.
func TestPlanBalanced(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var files []File
		var total int64
		for i := range rng.IntN(20) + 1 {
			size := rng.Int64N(1000)
			if rng.IntN(4) == 0 {
				size = 0
			}
			files = append(files, File{fmt.Sprintf("f%d", i), size})
			total += size
		}
		n := rng.IntN(12) + 1
		splits := Plan(files, n)
		covered := map[string]int64{}
		var sizes []int64
		for _, s := range splits {
			var size int64
			for _, r := range s {
				if r.Start != covered[r.File] {
					t.Fatalf("%v in %d: range %v does not follow the bytes before it", files, n, r)
				}
				covered[r.File] += r.Length
				size += r.Length
			}
			sizes = append(sizes, size)
		}
		for _, f := range files {
			if covered[f.Path] != f.Size {
				t.Fatalf("%v in %d: %s covered %d of %d bytes", files, n, f.Path, covered[f.Path], f.Size)
			}
		}
		if want := int(min(int64(n), max(total, 1))); len(splits) != want {
			t.Fatalf("%v in %d: %d splits, want %d", files, n, len(splits), want)
		}
		if slices.Max(sizes)-slices.Min(sizes) > 1 {
			t.Fatalf("%v in %d: split sizes %v", files, n, sizes)
		}
	}
}

// write makes files of texts in a temporary directory and returns their
// paths and sizes.
func write(t *testing.T, texts ...string) []File {
	t.Helper()
	dir := t.TempDir()
	var files []File
	for i, text := range texts {
		path := filepath.Join(dir, fmt.Sprintf("f%02d", i))
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, File{path, int64(len(text))})
	}
	return files
}

func readAll(t *testing.T, ranges []protocol.InputRange) string {
	t.Helper()
	r := NewReader(ranges)
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", Describe(ranges), err)
	}
	if r.Position() != int64(len(data)) {
		t.Errorf("Position %d after reading %d bytes", r.Position(), len(data))
	}
	return string(data)
}

func TestReader(t *testing.T) {
	long := strings.Repeat("x", 3*bufferSize+17)
	tests := []struct {
		name   string
		texts  []string
		ranges [][3]int64 // file index, start, length
		want   string
	}{
		{"whole file", []string{"a\nbb\nccc\n"}, [][3]int64{{0, 0, 9}}, "a\nbb\nccc\n"},
		{"ends inside a line: reads it to its end", []string{"a\nbb\nccc\n"}, [][3]int64{{0, 0, 3}}, "a\nbb\n"},
		{"starts inside a line: skips it", []string{"a\nbb\nccc\n"}, [][3]int64{{0, 3, 6}}, "ccc\n"},
		{"starts at a line: keeps it", []string{"a\nbb\nccc\n"}, [][3]int64{{0, 2, 7}}, "bb\nccc\n"},
		{"ends at a line: leaves it", []string{"a\nbb\nccc\n"}, [][3]int64{{0, 0, 2}}, "a\n"},
		{"owns no line begun in it", []string{"a\nbbbbbb\nc\n"}, [][3]int64{{0, 3, 3}}, ""},
		{"last line without newline", []string{"a\nbb"}, [][3]int64{{0, 1, 3}}, "bb"},
		{"CRLF cut between CR and LF", []string{"a\r\nb\r\n"}, [][3]int64{{0, 0, 2}, {0, 2, 4}}, "a\r\nb\r\n"},
		{"CRLF second half", []string{"a\r\nb\r\n"}, [][3]int64{{0, 2, 4}}, "b\r\n"},
		{"newline between packed files", []string{"x", "y\n", "z"}, [][3]int64{{0, 0, 1}, {1, 0, 2}, {2, 0, 1}}, "x\ny\nz"},
		{"empty files give nothing", []string{"", "a\n", ""}, [][3]int64{{0, 0, 0}, {1, 0, 2}, {2, 0, 0}}, "a\n"},
		{"no newline owed to a range that gives nothing", []string{"x", "aaaa\n"}, [][3]int64{{0, 0, 1}, {1, 2, 3}}, "x"},
		{"a line longer than the buffer, read past the range", []string{long + "\nb\n"}, [][3]int64{{0, 0, 10}}, long + "\n"},
		{"a line longer than the buffer, skipped", []string{long + "\nb\n"}, [][3]int64{{0, 10, int64(len(long)) - 5}}, "b\n"},
		{"file shorter than planned", []string{"a\n"}, [][3]int64{{0, 0, 100}}, "a\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := write(t, tt.texts...)
			var ranges []protocol.InputRange
			for _, r := range tt.ranges {
				ranges = append(ranges, protocol.InputRange{File: files[r[0]].Path, Start: r[1], Length: r[2]})
			}
			if got := readAll(t, ranges); got != tt.want {
				t.Errorf("read %q, want %q", clip(got), clip(tt.want))
			}
		})
	}
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:30] + fmt.Sprintf("…(%d bytes)…", len(s)-60) + s[len(s)-30:]
	}
	return s
}

// TestEveryLineOnce cuts random files of random lines (long ones, CRLF,
// empty files, no final newline) into random numbers of splits: the
// splits together read each file's lines exactly once, in order.
func TestEveryLineOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 60 {
		var texts []string
		for range rng.IntN(6) + 1 {
			var b strings.Builder
			for range rng.IntN(30) {
				switch rng.IntN(10) {
				case 0:
					b.WriteString(strings.Repeat("L", rng.IntN(3*bufferSize)))
				case 1:
					b.WriteString("\r")
				case 2: // an empty line
				default:
					fmt.Fprintf(&b, "line %d", rng.IntN(1000))
				}
				b.WriteString("\n")
			}
			if rng.IntN(3) == 0 {
				b.WriteString("no final newline")
			}
			texts = append(texts, b.String())
		}
		files := write(t, texts...)
		var want []string
		for _, text := range texts {
			want = append(want, lines(text)...)
		}
		n := rng.IntN(40) + 1
		var got []string
		for _, s := range Plan(files, n) {
			got = append(got, lines(readAll(t, s))...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d, %d splits: %d lines read, want %d", round, n, len(got), len(want))
		}
	}
}

// lines splits text into lines, a last one without newline included.
func lines(text string) []string {
	ls := strings.SplitAfter(text, "\n")
	if ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	for i, l := range ls {
		ls[i] = strings.TrimSuffix(l, "\n")
	}
	return ls
}

func TestReaderContract(t *testing.T) {
	files := write(t, "alpha\nbeta\ngam", "ma\ndelta\n", "", "epsilon")
	ranges := []protocol.InputRange{{File: files[0].Path, Start: 3, Length: 11}, {File: files[1].Path, Start: 0, Length: 9},
		{File: files[2].Path}, {File: files[3].Path, Start: 0, Length: 7}}
	if err := iotest.TestReader(NewReader(ranges), []byte("beta\ngam\nma\ndelta\nepsilon")); err != nil {
		t.Error(err)
	}
}

// TestMissingFile: the error names the range and is the open's PathError,
// so that the worker reports the file missing.
func TestMissingFile(t *testing.T) {
	files := write(t, "a\n")
	gone := filepath.Join(filepath.Dir(files[0].Path), "gone")
	r := NewReader([]protocol.InputRange{{File: files[0].Path, Length: 2}, {File: gone, Start: 5, Length: 10}})
	data, err := io.ReadAll(r)
	var pe *fs.PathError
	if string(data) != "a\n" || !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Path != gone {
		t.Fatalf("read %q, %v; want a\\n and the missing file", data, err)
	}
	if !strings.Contains(err.Error(), gone+":5+10") {
		t.Errorf("error %q does not name the range", err)
	}
	if r.Err() != err {
		t.Errorf("Err() = %v, want %v", r.Err(), err)
	}
}

func TestDescribe(t *testing.T) {
	var ranges []protocol.InputRange
	for i := range 5 {
		ranges = append(ranges, protocol.InputRange{File: fmt.Sprintf("/in/%d", i), Start: 0, Length: 10})
	}
	if got, want := Describe(ranges[:1]), "/in/0:0+10"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	if got, want := Describe(ranges), "/in/0:0+10, /in/1:0+10, /in/2:0+10 and 2 more ranges (50 bytes in all)"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	if got := Files(append(ranges[:2:2], ranges[1])); !bytes.Equal([]byte(strings.Join(got, ",")), []byte("/in/0,/in/1")) {
		t.Errorf("Files = %v", got)
	}
}

// TestPlanBoundsRanges: a split of more than MaxRanges small files is cut,
// so that no task message grows with the number of files; every range is
// kept, in order.
func TestPlanBoundsRanges(t *testing.T) {
	var files []File
	for i := range 2*MaxRanges + 500 {
		files = append(files, File{Path: fmt.Sprintf("/in/f%05d", i), Size: 10})
	}
	files = append(files, File{Path: "/in/big", Size: 1 << 20})
	splits := Plan(files, 2)
	var all []protocol.InputRange
	for i, s := range splits {
		if len(s) > MaxRanges || len(s) == 0 {
			t.Errorf("split %d has %d ranges, want 1 to %d", i, len(s), MaxRanges)
		}
		all = append(all, s...)
	}
	if len(splits) < 3 {
		t.Errorf("%d splits, want more than num_mappers (2) to keep each within MaxRanges", len(splits))
	}
	var files2 []string
	for _, r := range all {
		if len(files2) == 0 || files2[len(files2)-1] != r.File {
			files2 = append(files2, r.File)
		}
	}
	if len(files2) != len(files) || files2[0] != files[0].Path || files2[len(files2)-1] != "/in/big" {
		t.Errorf("the splits hold %d files, want all %d in order", len(files2), len(files))
	}
}

func TestPlanPerFile(t *testing.T) {
	r := func(file string, start, length int64) protocol.InputRange {
		return protocol.InputRange{File: file, Start: start, Length: length}
	}
	tests := []struct {
		name  string
		files []File
		n     int
		want  [][]protocol.InputRange
	}{
		{"no files", nil, 4, nil},
		{"small files never packed", []File{{"a", 5}, {"b", 5}, {"c", 5}}, 2,
			[][]protocol.InputRange{{r("a", 0, 5)}, {r("b", 0, 5)}, {r("c", 0, 5)}}},
		{"a large file cut by its share", []File{{"a", 60}, {"b", 20}, {"e", 0}}, 4,
			[][]protocol.InputRange{{r("a", 0, 20)}, {r("a", 20, 20)}, {r("a", 40, 20)}, {r("b", 0, 20)}, {r("e", 0, 0)}}},
		{"all empty", []File{{"e0", 0}, {"e1", 0}}, 3,
			[][]protocol.InputRange{{r("e0", 0, 0)}, {r("e1", 0, 0)}}},
	}
	for _, tt := range tests {
		got := PlanPerFile(tt.files, tt.n)
		if !slices.EqualFunc(got, tt.want, slices.Equal) {
			t.Errorf("%s: PlanPerFile = %v, want %v", tt.name, got, tt.want)
		}
		for _, s := range got {
			if len(Files(s)) != 1 {
				t.Errorf("%s: split %v packs files", tt.name, s)
			}
		}
	}
}
