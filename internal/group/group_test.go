package group

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestKey(t *testing.T) {
	tests := []struct {
		line, key string
	}{
		{"hello\t1", "hello"},
		{"hello world\t1", "hello world"},
		{"no tab here", "no tab here"},
		{"", ""},
		{"\t1", ""},
		{"a\tb\tc", "a"},
		{"trailing tab\t", "trailing tab"},
		{"\xff\xfe\t1", "\xff\xfe"},
		{"é\t2", "é"},
		{"a\x01\tx", "a\x01"},
		{" lead space\t1", " lead space"},
	}
	for _, tt := range tests {
		if got := Key([]byte(tt.line)); string(got) != tt.key {
			t.Errorf("Key(%q) = %q, want %q", tt.line, got, tt.key)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"a\t1", "a\t1", 0},
		{"a\t1", "a\t2", -1},
		{"a\t2", "b\t1", -1},
		{"", "", 0},
		{"", "a", -1},
		{"", "\t1", -1}, // same empty key; the shorter line first
		{"a", "a\t1", -1},
		{"a b\t1", "a\t1", 1}, // key "a b" > key "a"
		{"a b\t1", "a c\t0", -1},
		{"a b\t1", "ab\t1", -1}, // space sorts below letters
		{"z\t1", "\xff\t1", -1},
		{"\xff", "\xfe\t9", 1},
		{"e\t1", "é\t1", -1}, // é is 0xc3 0xa9, above ASCII
		{"é\t1", "f\t1", 1},
		{"é", "é\t0", -1},
		// A key that extends another with a byte below tab sorts after all
		// of the shorter key's lines, though bytewise "a\x01" < "a\t...".
		{"a\tzzz", "a\x01", -1},
		{"a\x01", "a\tzzz", 1},
		{"a", "a\x01", -1},
		{"a\x01\t1", "a\t1", 1},
		{"a\x00", "a\t\x00", 1},
	}
	for _, tt := range tests {
		a, b := []byte(tt.a), []byte(tt.b)
		if got := sign(Compare(a, b)); got != tt.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := sign(Compare(b, a)); got != -tt.want {
			t.Errorf("Compare(%q, %q) = %d, want %d (antisymmetry)", tt.b, tt.a, got, -tt.want)
		}
	}
}

// TestCompareKeepsKeysContiguous sorts awkward lines and checks that every
// key's lines are contiguous, the property the reducers rely on.
func TestCompareKeepsKeysContiguous(t *testing.T) {
	lines := [][]byte{
		[]byte("a\t1"), []byte("a\x01\t1"), []byte("a\t\x00"), []byte("a"), []byte("a\x01"),
		[]byte("a b\t2"), []byte("a\t0"), []byte(""), []byte("\t"), []byte("\xff"), []byte("é\t1"),
		[]byte("a\x01\t0"), []byte("a\x08\tq"), []byte("a\ttail"),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
		sorted := slices.Clone(lines)
		slices.SortFunc(sorted, Compare)
		checkContiguous(t, "sorted lines", sorted)
	}
}

func checkContiguous(t *testing.T, what string, lines [][]byte) {
	t.Helper()
	seen := map[string]bool{}
	for i, line := range lines {
		k := string(Key(line))
		if i > 0 && string(Key(lines[i-1])) == k {
			continue
		}
		if seen[k] {
			t.Errorf("%s: key %q appears again at line %d after other keys", what, k, i+1)
		}
		seen[k] = true
	}
}

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSortFiles(t *testing.T) {
	tests := []struct {
		name   string
		inputs []string
		want   string
	}{
		{"one file", []string{"b\t1\na\t1\nc\t1\n"}, "a\t1\nb\t1\nc\t1\n"},
		{"no final newline", []string{"b\t1\na\t1"}, "a\t1\nb\t1\n"},
		{"several without final newlines", []string{"z\t1", "y\t1", "x\t1"}, "x\t1\ny\t1\nz\t1\n"},
		{"empty files around", []string{"", "b\t1\n", "", "a\t2", ""}, "a\t2\nb\t1\n"},
		{"all empty", []string{"", ""}, ""},
		{"no inputs", nil, ""},
		{"empty lines kept", []string{"b\n\na\n", "\n"}, "\n\na\nb\n"},
		{"duplicates kept", []string{"a\t1\na\t1\n", "a\t1"}, "a\t1\na\t1\na\t1\n"},
		{"keys with spaces", []string{"hello world\t1\nhello\t1\nhello there\t1\n"}, "hello\t1\nhello there\t1\nhello world\t1\n"},
		{"byte below tab", []string{"a\x01\t1\na\t2\na\t1\n"}, "a\t1\na\t2\na\x01\t1\n"},
		{"non-ASCII", []string{"\xff\t1\né\t1\ne\t1\n"}, "e\t1\né\t1\n\xff\t1\n"},
		{"lines without tabs", []string{"b\na b\na\n"}, "a\na b\nb\n"},
		{"carriage returns are data", []string{"b\r\na\r\n"}, "a\r\nb\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir, outDir := t.TempDir(), t.TempDir()
			var inputs []string
			for i, data := range tt.inputs {
				p := filepath.Join(inDir, fmt.Sprintf("in%d", i))
				writeFile(t, p, data)
				inputs = append(inputs, p)
			}
			out := filepath.Join(outDir, "sorted_0")
			if err := SortFiles(inputs, out); err != nil {
				t.Fatalf("SortFiles: %v", err)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("output %q, want %q", got, tt.want)
			}
			if names := listDir(t, outDir); !slices.Equal(names, []string{"sorted_0"}) {
				t.Errorf("output directory holds %q, want only sorted_0 (no temporary files)", names)
			}
			// Inputs are left alone.
			for i, p := range inputs {
				if b, _ := os.ReadFile(p); string(b) != tt.inputs[i] {
					t.Errorf("input %s changed to %q", p, b)
				}
			}
		})
	}
}

func TestSortFilesOverwrites(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	out := filepath.Join(dir, "out")
	writeFile(t, in, "b\na\n")
	writeFile(t, out, "old contents that are longer than the new ones\n")
	if err := SortFiles([]string{in}, out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); string(got) != "a\nb\n" {
		t.Errorf("output %q", got)
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"in", "out"}) {
		t.Errorf("directory holds %q", names)
	}
}

func TestSortFilesErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	writeFile(t, good, "a\n")
	missing := filepath.Join(dir, "missing-input")
	out := filepath.Join(dir, "out")

	err := SortFiles([]string{good, missing}, out)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing input: %v; want an error naming %s", err, missing)
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"good"}) {
		t.Errorf("after a failed sort the directory holds %q, want only the input", names)
	}

	noDir := filepath.Join(dir, "no-such-dir", "out")
	err = SortFiles([]string{good}, noDir)
	if err == nil || !strings.Contains(err.Error(), noDir) {
		t.Errorf("output in a missing directory: %v; want an error naming %s", err, noDir)
	}
}

// randomLines returns n lines drawn from a small set of awkward keys, so that
// keys repeat across files and some extend others.
func randomLines(rng *rand.Rand, n int) []string {
	keys := []string{
		"", "a", "a b", "a\x01", "a\x08", "ab", "b", "é", "e", "\xff", "\xff\xfe", "x y z",
		"the", "then", "them", "zzz", " ", "  lead",
	}
	lines := make([]string, n)
	for i := range lines {
		k := keys[rng.IntN(len(keys))]
		switch rng.IntN(5) {
		case 0:
			lines[i] = k // no tab
		case 1:
			lines[i] = k + "\t" // empty value
		default:
			lines[i] = fmt.Sprintf("%s\t%d", k, rng.IntN(10))
		}
	}
	return lines
}

// readLines returns the lines of a file that ends in a newline (or is empty).
func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		return nil
	}
	if data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end in a newline", path)
	}
	return strings.Split(string(data[:len(data)-1]), "\n")
}

func TestMergePartitionRandom(t *testing.T) {
	tests := []struct {
		name     string
		files    int
		lines    int
		reducers int
	}{
		{"one reducer", 3, 200, 1},
		{"three reducers", 4, 300, 3},
		{"many small files", 12, 15, 5},
		{"reducers outnumber keys", 2, 40, 64},
		{"single file", 1, 100, 7},
		{"some empty inputs", 5, 3, 4},
	}
	for seed, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 99))
			inDir, sortDir, outDir := t.TempDir(), t.TempDir(), t.TempDir()
			var all []string
			var sorted []string
			for i := range tt.files {
				// Split each file's lines unevenly, some files empty, some
				// without a final newline, and sort with SortFiles as a
				// worker would.
				lines := randomLines(rng, rng.IntN(tt.lines+1))
				all = append(all, lines...)
				data := strings.Join(lines, "\n")
				if len(lines) > 0 && rng.IntN(2) == 0 {
					data += "\n"
				}
				raw := filepath.Join(inDir, fmt.Sprintf("map_%d", i))
				writeFile(t, raw, data)
				s := filepath.Join(sortDir, fmt.Sprintf("sorted_%d", i))
				if err := SortFiles([]string{raw}, s); err != nil {
					t.Fatalf("SortFiles: %v", err)
				}
				sorted = append(sorted, s)
			}
			resorted, err := MergePartition(sorted, outDir, tt.reducers)
			if err != nil {
				t.Fatalf("MergePartition: %v", err)
			}
			if len(resorted) != 0 {
				t.Errorf("resorted %q: SortFiles output must already be in merge order", resorted)
			}

			var wantNames []string
			for i := range tt.reducers {
				wantNames = append(wantNames, PartitionName(i))
			}
			slices.Sort(wantNames)
			if names := listDir(t, outDir); !slices.Equal(names, wantNames) {
				t.Fatalf("output directory holds %q, want %q", names, wantNames)
			}

			keyPartition := map[string]int{}
			var got []string
			empty := 0
			for i := range tt.reducers {
				name := PartitionName(i)
				lines := readLines(t, filepath.Join(outDir, name))
				if len(lines) == 0 {
					empty++
				}
				for j := 1; j < len(lines); j++ {
					if Compare([]byte(lines[j-1]), []byte(lines[j])) > 0 {
						t.Errorf("%s not sorted at line %d: %q before %q", name, j+1, lines[j-1], lines[j])
					}
				}
				var bs [][]byte
				for _, l := range lines {
					bs = append(bs, []byte(l))
					k := string(Key([]byte(l)))
					if p, ok := keyPartition[k]; ok && p != i {
						t.Errorf("key %q in both %s and %s", k, PartitionName(p), name)
					}
					keyPartition[k] = i
					if p := Partition([]byte(k), tt.reducers); p != i {
						t.Errorf("key %q in %s, but Partition says %d", k, name, p)
					}
				}
				checkContiguous(t, name, bs)
				got = append(got, lines...)
			}
			slices.Sort(got)
			slices.Sort(all)
			if !slices.Equal(got, all) {
				t.Errorf("output lines differ from input lines: %d out, %d in", len(got), len(all))
			}
			if tt.reducers > len(keyPartition) && empty < tt.reducers-len(keyPartition) {
				t.Errorf("%d keys in %d partitions but only %d empty", len(keyPartition), tt.reducers, empty)
			}
		})
	}
}

func TestMergePartitionEdges(t *testing.T) {
	t.Run("no inputs writes every partition empty", func(t *testing.T) {
		out := t.TempDir()
		if _, err := MergePartition(nil, out, 3); err != nil {
			t.Fatal(err)
		}
		if names := listDir(t, out); !slices.Equal(names, []string{"input_0", "input_1", "input_2"}) {
			t.Fatalf("got %q", names)
		}
		for i := range 3 {
			if lines := readLines(t, filepath.Join(out, PartitionName(i))); len(lines) != 0 {
				t.Errorf("input_%d holds %q", i, lines)
			}
		}
	})
	t.Run("input without final newline and empty lines", func(t *testing.T) {
		in, out := t.TempDir(), t.TempDir()
		a := filepath.Join(in, "a")
		b := filepath.Join(in, "b")
		writeFile(t, a, "\n\nx\t1\ny\t2")
		writeFile(t, b, "\nx\t0\n")
		if _, err := MergePartition([]string{a, b}, out, 1); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(out, "input_0"))
		if want := "\n\n\nx\t0\nx\t1\ny\t2\n"; string(got) != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("lines longer than the read buffer", func(t *testing.T) {
		in, out := t.TempDir(), t.TempDir()
		long := strings.Repeat("k", 700<<10)
		a := filepath.Join(in, "a")
		b := filepath.Join(in, "b")
		writeFile(t, a, "a\t1\n"+long+"\t1\n"+long+"\t3\n")
		writeFile(t, b, long+"\t2\nzz\t1\n")
		if _, err := MergePartition([]string{a, b}, out, 1); err != nil {
			t.Fatal(err)
		}
		got := readLines(t, filepath.Join(out, "input_0"))
		want := []string{"a\t1", long + "\t1", long + "\t2", long + "\t3", "zz\t1"}
		if !slices.Equal(got, want) {
			t.Errorf("got %d lines (lengths %v), want %d", len(got), lineLengths(got), len(want))
		}
	})
	t.Run("byte below tab across files", func(t *testing.T) {
		in, out := t.TempDir(), t.TempDir()
		a := filepath.Join(in, "a")
		b := filepath.Join(in, "b")
		writeFile(t, a, "a\t1\na\x01\t1\n")
		writeFile(t, b, "a\t2\na\x01\t0\n")
		if _, err := MergePartition([]string{a, b}, out, 1); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(out, "input_0"))
		if want := "a\t1\na\t2\na\x01\t0\na\x01\t1\n"; string(got) != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func lineLengths(lines []string) []int {
	var n []int
	for _, l := range lines {
		n = append(n, len(l))
	}
	return n
}

func TestMergePartitionErrors(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string // name → contents, created in the input dir
		inputs   []string          // names in the input dir
		reducers int
		want     []string // substrings of the error; "$name" is the path of that input
	}{
		{"missing input", map[string]string{"good": "a\n"}, []string{"good", "gone"}, 2, []string{"$gone"}},
		{"missing input after an unsorted one", map[string]string{"bad": "b\na\n"}, []string{"bad", "gone"}, 2, []string{"$gone"}},
		{"zero reducers", map[string]string{"good": "a\n"}, []string{"good"}, 0, []string{"0 reducers"}},
		{"negative reducers", map[string]string{"good": "a\n"}, []string{"good"}, -1, []string{"-1 reducers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, out := t.TempDir(), t.TempDir()
			for name, data := range tt.files {
				writeFile(t, filepath.Join(in, name), data)
			}
			var inputs []string
			for _, name := range tt.inputs {
				inputs = append(inputs, filepath.Join(in, name))
			}
			_, err := MergePartition(inputs, out, tt.reducers)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if strings.HasPrefix(w, "$") {
					w = filepath.Join(in, w[1:])
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			// Nothing is left behind: no partial input_i, no temporary files.
			if names := listDir(t, out); len(names) != 0 {
				t.Errorf("after the error the output directory holds %q", names)
			}
		})
	}
}

// TestMergeOnceUnsorted checks the single merge pass: an input out of order
// (by Compare) is an *UnsortedError naming the file and line, and nothing is
// left in the output directory.
func TestMergeOnceUnsorted(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		bad   string
		line  int
	}{
		{"third line", map[string]string{"good": "a\nb\n", "bad": "a\nc\nb\n"}, "bad", 3},
		{"first pair", map[string]string{"bad": "b\na\n"}, "bad", 2},
		{"sorted bytewise, not by Compare", map[string]string{"bad": "a\x01\t1\na\t2\n"}, "bad", 2},
		{"python order: whole line with newline", map[string]string{"good": "k\t0\n", "bad": "k\t1\nk\n"}, "bad", 2},
		{"unsorted late in a long file", map[string]string{"bad": strings.Repeat("a\n", 1000) + "c\nb\n"}, "bad", 1002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, out := t.TempDir(), t.TempDir()
			var inputs []string
			for _, name := range slices.Sorted(maps.Keys(tt.files)) {
				writeFile(t, filepath.Join(in, name), tt.files[name])
				inputs = append(inputs, filepath.Join(in, name))
			}
			err := mergeOnce(inputs, out, 2)
			var ue *UnsortedError
			if !errors.As(err, &ue) {
				t.Fatalf("got %v, want an *UnsortedError", err)
			}
			if want := filepath.Join(in, tt.bad); ue.File != want || ue.Line != tt.line {
				t.Errorf("UnsortedError{%s, %d}, want {%s, %d}", ue.File, ue.Line, want, tt.line)
			}
			if !strings.Contains(err.Error(), filepath.Join(in, tt.bad)) {
				t.Errorf("error %q does not name the file", err)
			}
			if names := listDir(t, out); len(names) != 0 {
				t.Errorf("after the error the output directory holds %q", names)
			}
		})
	}
}

// TestMergePartitionResortsUnsorted: MergePartition sorts an input that is
// out of order (as a seed worker's may be) and merges again.
func TestMergePartitionResortsUnsorted(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	good := filepath.Join(in, "good")
	bad1 := filepath.Join(in, "bad1")
	bad2 := filepath.Join(in, "bad2")
	writeFile(t, good, "a\t1\nk\t0\n")
	writeFile(t, bad1, "k\t1\nk\na\x01\t1\na\t2") // Python order, no final newline
	writeFile(t, bad2, "z\t1\nb\t1\n")
	resorted, err := MergePartition([]string{good, bad1, bad2}, out, 1)
	if err != nil {
		t.Fatalf("MergePartition: %v", err)
	}
	if !slices.Equal(resorted, []string{bad1, bad2}) {
		t.Errorf("resorted %q, want %q", resorted, []string{bad1, bad2})
	}
	got, _ := os.ReadFile(filepath.Join(out, "input_0"))
	if want := "a\t1\na\t2\na\x01\t1\nb\t1\nk\nk\t0\nk\t1\nz\t1\n"; string(got) != want {
		t.Errorf("merged %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(bad1); string(b) != "a\t2\na\x01\t1\nk\nk\t1\n" {
		t.Errorf("bad1 now holds %q, want it sorted", b)
	}
	if names := listDir(t, out); !slices.Equal(names, []string{"input_0"}) {
		t.Errorf("output directory holds %q", names)
	}
	if names := listDir(t, in); !slices.Equal(names, []string{"bad1", "bad2", "good"}) {
		t.Errorf("input directory holds %q (temporary files left?)", names)
	}

	// Sorted inputs are not resorted.
	resorted, err = MergePartition([]string{good, bad1, bad2}, out, 2)
	if err != nil || len(resorted) != 0 {
		t.Errorf("second merge: resorted %q, %v; want none", resorted, err)
	}
}

func TestPartition(t *testing.T) {
	keys := [][]byte{nil, []byte(""), []byte("a"), []byte("hello world"), []byte("\xff"), []byte("é"), []byte("a\x01")}
	for _, n := range []int{1, 2, 3, 7, 100} {
		for _, k := range keys {
			p := Partition(k, n)
			if p < 0 || p >= n {
				t.Errorf("Partition(%q, %d) = %d, out of range", k, n, p)
			}
			if q := Partition(bytes.Clone(k), n); q != p {
				t.Errorf("Partition(%q, %d) not deterministic: %d then %d", k, n, p, q)
			}
		}
	}
	// Many keys spread over every partition.
	seen := map[int]bool{}
	for i := range 1000 {
		seen[Partition([]byte(fmt.Sprintf("word%d", i)), 8)] = true
	}
	if len(seen) != 8 {
		t.Errorf("1000 keys reached only %d of 8 partitions", len(seen))
	}
	if got := PartitionName(3); got != "input_3" {
		t.Errorf("PartitionName(3) = %q", got)
	}
}
