package group

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mapreduce/internal/layout"

	"mapreduce/internal/testutil"
)

// testMemory is enough for every SortFiles here that is not meant to spill.
const testMemory = 64 << 20

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
			if err := SortFiles(inputs, out, testMemory); err != nil {
				t.Fatalf("SortFiles: %v", err)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("output %q, want %q", got, tt.want)
			}
			if names := testutil.ListDir(t, outDir); !slices.Equal(names, []string{"sorted_0"}) {
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
	if err := SortFiles([]string{in}, out, testMemory); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); string(got) != "a\nb\n" {
		t.Errorf("output %q", got)
	}
	if names := testutil.ListDir(t, dir); !slices.Equal(names, []string{"in", "out"}) {
		t.Errorf("directory holds %q", names)
	}
}

func TestSortFilesErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	writeFile(t, good, "a\n")
	missing := filepath.Join(dir, "missing-input")
	out := filepath.Join(dir, "out")

	err := SortFiles([]string{good, missing}, out, testMemory)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing input: %v; want an error naming %s", err, missing)
	}
	if names := testutil.ListDir(t, dir); !slices.Equal(names, []string{"good"}) {
		t.Errorf("after a failed sort the directory holds %q, want only the input", names)
	}

	noDir := filepath.Join(dir, "no-such-dir", "out")
	err = SortFiles([]string{good}, noDir, testMemory)
	if err == nil || !strings.Contains(err.Error(), noDir) {
		t.Errorf("output in a missing directory: %v; want an error naming %s", err, noDir)
	}
}

// randomLines returns n lines drawn from a small set of awkward keys, so
// that keys repeat across files and some extend others, plus extra plain
// keys.
func randomLines(rng *rand.Rand, n, extra int) []string {
	keys := []string{
		"", "a", "a b", "a\x01", "a\x08", "ab", "b", "é", "e", "\xff", "\xff\xfe", "x y z",
		"the", "then", "them", "zzz", " ", "  lead",
	}
	for i := range extra {
		keys = append(keys, fmt.Sprintf("word%04d", i))
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
		keys     int // plain keys beside the awkward ones
	}{
		{"one reducer", 3, 200, 1, 0},
		{"three reducers", 4, 300, 3, 0},
		{"many small files", 12, 15, 5, 0},
		{"reducers outnumber keys", 2, 40, 64, 0},
		{"single file", 1, 100, 7, 0},
		{"some empty inputs", 5, 3, 4, 0},
		{"many keys, balanced", 6, 2000, 4, 500},
		{"many keys, many reducers", 3, 3000, 37, 2000},
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
				lines := randomLines(rng, rng.IntN(tt.lines+1), tt.keys)
				all = append(all, lines...)
				data := strings.Join(lines, "\n")
				// A last line that is empty needs its newline to exist.
				if len(lines) > 0 && (rng.IntN(2) == 0 || lines[len(lines)-1] == "") {
					data += "\n"
				}
				raw := filepath.Join(inDir, fmt.Sprintf("map_%d", i))
				writeFile(t, raw, data)
				s := filepath.Join(sortDir, fmt.Sprintf("sorted_%d", i))
				if err := SortFiles([]string{raw}, s, testMemory); err != nil {
					t.Fatalf("SortFiles: %v", err)
				}
				sorted = append(sorted, s)
			}
			resorted, err := MergePartition(sorted, outDir, tt.reducers, nil)
			if err != nil {
				t.Fatalf("MergePartition: %v", err)
			}
			if len(resorted) != 0 {
				t.Errorf("resorted %q: SortFiles output must already be in merge order", resorted)
			}

			checkPartitions(t, outDir, tt.reducers, all)
		})
	}
}

// checkPartitions checks outDir/input_0 … input_{reducers-1} against the
// lines of the inputs: each partition sorted, every key in exactly one
// partition and contiguous there, the partitions in key order (together
// the whole sorted input), the multiset of lines kept, and the partitions
// balanced in bytes: none more than an equal share plus its largest key.
func checkPartitions(t *testing.T, outDir string, reducers int, all []string) {
	t.Helper()
	var wantNames []string
	for i := range reducers {
		wantNames = append(wantNames, layout.ReduceInputName(i))
	}
	slices.Sort(wantNames)
	if names := testutil.ListDir(t, outDir); !slices.Equal(names, wantNames) {
		t.Fatalf("output directory holds %q, want %q", names, wantNames)
	}
	keyPartition := map[string]int{}
	keyBytes := map[string]int{}
	var total int
	for _, l := range all {
		keyBytes[string(Key([]byte(l)))] += len(l) + 1
		total += len(l) + 1
	}
	maxKey := 0
	for _, n := range keyBytes {
		maxKey = max(maxKey, n)
	}
	share := (total + reducers - 1) / reducers
	var got []string
	var prevLast []byte
	empty := 0
	for i := range reducers {
		name := layout.ReduceInputName(i)
		lines := readLines(t, filepath.Join(outDir, name))
		if len(lines) == 0 {
			empty++
			continue
		}
		size := 0
		var bs [][]byte
		for j, l := range lines {
			size += len(l) + 1
			if j > 0 && Compare([]byte(lines[j-1]), []byte(l)) > 0 {
				t.Errorf("%s not sorted at line %d: %q before %q", name, j+1, lines[j-1], l)
			}
			bs = append(bs, []byte(l))
			k := string(Key([]byte(l)))
			if p, ok := keyPartition[k]; ok && p != i {
				t.Errorf("key %q in both %s and %s", k, layout.ReduceInputName(p), name)
			}
			keyPartition[k] = i
		}
		checkContiguous(t, name, bs)
		if prevLast != nil && Compare(prevLast, []byte(lines[0])) > 0 {
			t.Errorf("%s starts with %q, before the previous partition's last line %q", name, lines[0], prevLast)
		}
		prevLast = []byte(lines[len(lines)-1])
		if size > share+maxKey {
			t.Errorf("%s holds %d bytes, more than a share %d plus the largest key %d", name, size, share, maxKey)
		}
		got = append(got, lines...)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(all))
	if !slices.Equal(got, want) {
		t.Errorf("output lines differ from input lines: %d out, %d in", len(got), len(want))
	}
	if maxKey < total/reducers && empty > 0 {
		t.Errorf("%d of %d partitions empty though no key (max %d bytes) fills a share (%d bytes)", empty, reducers, maxKey, total/reducers)
	}
	if nkeys := len(keyBytes); reducers > nkeys && empty < reducers-nkeys {
		t.Errorf("%d keys in %d partitions but only %d empty", nkeys, reducers, empty)
	}
}

func TestMergePartitionEdges(t *testing.T) {
	t.Run("no inputs writes every partition empty", func(t *testing.T) {
		out := t.TempDir()
		if _, err := MergePartition(nil, out, 3, nil); err != nil {
			t.Fatal(err)
		}
		if names := testutil.ListDir(t, out); !slices.Equal(names, []string{"input_0", "input_1", "input_2"}) {
			t.Fatalf("got %q", names)
		}
		for i := range 3 {
			if lines := readLines(t, filepath.Join(out, layout.ReduceInputName(i))); len(lines) != 0 {
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
		if _, err := MergePartition([]string{a, b}, out, 1, nil); err != nil {
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
		if _, err := MergePartition([]string{a, b}, out, 1, nil); err != nil {
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
		if _, err := MergePartition([]string{a, b}, out, 1, nil); err != nil {
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
			_, err := MergePartition(inputs, out, tt.reducers, nil)
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
			if names := testutil.ListDir(t, out); len(names) != 0 {
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
			err := mergePartitionOnce(inputs, out, nil, func(int) {})
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
			if names := testutil.ListDir(t, out); len(names) != 0 {
				t.Errorf("after the error the output directory holds %q", names)
			}
		})
	}
}

// TestMergePartitionResortsUnsorted: MergePartition sorts an input that is
// out of order (as a reference worker's may be) and merges again.
func TestMergePartitionResortsUnsorted(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	good := filepath.Join(in, "good")
	bad1 := filepath.Join(in, "bad1")
	bad2 := filepath.Join(in, "bad2")
	writeFile(t, good, "a\t1\nk\t0\n")
	writeFile(t, bad1, "k\t1\nk\na\x01\t1\na\t2") // Python order, no final newline
	writeFile(t, bad2, "z\t1\nb\t1\n")
	resorted, err := MergePartition([]string{good, bad1, bad2}, out, 1, nil)
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
	if names := testutil.ListDir(t, out); !slices.Equal(names, []string{"input_0"}) {
		t.Errorf("output directory holds %q", names)
	}
	if names := testutil.ListDir(t, in); !slices.Equal(names, []string{"bad1", "bad2", "good"}) {
		t.Errorf("input directory holds %q (temporary files left?)", names)
	}

	// Sorted inputs are not resorted.
	resorted, err = MergePartition([]string{good, bad1, bad2}, out, 2, nil)
	if err != nil || len(resorted) != 0 {
		t.Errorf("second merge: resorted %q, %v; want none", resorted, err)
	}
}

// sortedCopy returns lines sorted by Compare.
func sortedCopy(lines []string) []string {
	out := slices.Clone(lines)
	slices.SortFunc(out, func(a, b string) int { return Compare([]byte(a), []byte(b)) })
	return out
}

// TestSortFilesSpills sorts more lines than fit in memory, so that sorted
// runs spill to disk and are merged; the result must be the same as an
// in-memory sort, and no run file may be left behind.
func TestSortFilesSpills(t *testing.T) {
	tests := []struct {
		name    string
		files   int
		lines   int // per file
		inPlace bool
	}{
		{"several inputs", 4, 25000, false},
		{"one input sorted in place", 1, 80000, true},
	}
	for seed, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			dir := t.TempDir()
			var inputs, all []string
			size := 0
			for i := range tt.files {
				lines := randomLines(rng, tt.lines, 3000)
				for j := range lines {
					lines[j] += strings.Repeat("v", rng.IntN(40))
				}
				all = append(all, lines...)
				data := strings.Join(lines, "\n") + "\n"
				size += len(data)
				p := filepath.Join(dir, fmt.Sprintf("in%d", i))
				writeFile(t, p, data)
				inputs = append(inputs, p)
			}
			if size < 2<<20 {
				t.Fatalf("only %d bytes: too few to spill with 1 MiB", size)
			}
			out := filepath.Join(dir, "out")
			if tt.inPlace {
				out = inputs[0]
			}
			sortSpilling(t, inputs, out, 1<<20, 2)
			got := readLines(t, out)
			if want := sortedCopy(all); !slices.Equal(got, want) {
				t.Errorf("spilled sort differs from the in-memory sort (%d lines, want %d)", len(got), len(want))
			}
			var want []string
			for _, p := range inputs {
				want = append(want, filepath.Base(p))
			}
			if !tt.inPlace {
				want = append(want, "out")
			}
			slices.Sort(want)
			if names := testutil.ListDir(t, dir); !slices.Equal(names, want) {
				t.Errorf("directory holds %q, want %q (run files left behind?)", names, want)
			}
		})
	}
}

// TestSortFilesLongLines: lines longer than any read buffer come out whole.
func TestSortFilesLongLines(t *testing.T) {
	// A long line whose every part differs, so that any mix-up shows.
	long := func(key string, n int) string {
		var b strings.Builder
		b.WriteString(key + "\t")
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, "%08d,", i)
		}
		return b.String()
	}
	tests := []struct {
		name   string
		lines  []string
		memory int64
		// minRuns is how many sorted runs the sort must spill.
		minRuns int
	}{
		{"1.5 MiB line", []string{"b\t1", long("a", 3<<19), "c\t1"}, testMemory, 0},
		{"3 MiB line last, no final newline", []string{"b\t1", "c\t1", long("a", 3<<20)}, testMemory, 0},
		// Each long line is over the budget, alone in its run.
		{"two long lines and spills", []string{long("z", 2<<20), "m\t1", long("a", 2<<20), "b\t2"}, 1 << 20, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in")
			writeFile(t, in, strings.Join(tt.lines, "\n"))
			out := filepath.Join(dir, "out")
			sortSpilling(t, []string{in}, out, tt.memory, tt.minRuns)
			got := readLines(t, out)
			want := sortedCopy(tt.lines)
			if !slices.Equal(got, want) {
				detail := ""
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						j := 0
						for j < min(len(got[i]), len(want[i])) && got[i][j] == want[i][j] {
							j++
						}
						detail = fmt.Sprintf("line %d (%d bytes, want %d) differs from byte %d: %.30q… want %.30q…", i+1, len(got[i]), len(want[i]), j, got[i][j:], want[i][j:])
						break
					}
				}
				t.Fatalf("SortFiles garbled lines longer than its 1 MiB read buffer: got %d lines of lengths %v, want %v; %s",
					len(got), lineLengths(got), lineLengths(want), detail)
			}
		})
	}
}
