package group

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mapreduce/internal/partition"
	"mapreduce/internal/testutil"
)

// checkRun checks r against the run file data that it describes.
func checkRun(t *testing.T, data []byte, r Run, samples int) {
	t.Helper()
	if r.Size != int64(len(data)) {
		t.Fatalf("Size %d, the output has %d bytes", r.Size, len(data))
	}
	if len(data) == 0 {
		if len(r.Samples) != 0 {
			t.Fatalf("an empty output has samples %v", r.Samples)
		}
		return
	}
	if len(r.Samples) == 0 || len(r.Samples) > samples {
		t.Fatalf("%d samples, want 1 to %d", len(r.Samples), samples)
	}
	longest := 0
	for line := range bytes.Lines(data) {
		longest = max(longest, len(line))
	}
	// Each sample's line starts within a line and a step (at most the
	// size over samples) of where a slice of the output begins.
	most := 2*((r.Size+int64(samples)-1)/int64(samples)) + int64(longest)
	var off int64
	for i, s := range r.Samples {
		if off > 0 && data[off-1] != '\n' {
			t.Fatalf("sample %d at %d is not at a line start", i, off)
		}
		line, _, _ := bytes.Cut(data[off:], []byte{'\n'})
		if k := Key(line); !bytes.Equal(k[:min(len(k), partition.MaxKey)], s.Key) {
			t.Fatalf("sample %d at %d has key %.40q, its line %.40q", i, off, s.Key, line)
		}
		if s.Key == nil {
			t.Fatalf("sample %d has a nil key", i)
		}
		if i > 0 && bytes.Compare(r.Samples[i-1].Key, s.Key) > 0 {
			t.Fatalf("sample keys %q then %q: not in order", r.Samples[i-1].Key, s.Key)
		}
		if s.Bytes <= 0 || s.Bytes > most {
			t.Fatalf("sample %d stands for %d bytes, want 1 to %d (size %d, %d samples)", i, s.Bytes, most, r.Size, samples)
		}
		off += s.Bytes
	}
	if off != r.Size {
		t.Fatalf("samples sum to %d bytes, Size is %d", off, r.Size)
	}
}

func TestSortRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	long := strings.Repeat("long key ", 1000)
	tests := []struct {
		name    string
		inputs  []string
		samples int
		memory  int64
		minRuns int // sorted runs the sort must spill
		// fewest is how many samples there must be at least.
		fewest int
	}{
		{"empty", []string{"", ""}, 10, testMemory, 0, 0},
		{"no inputs", nil, 10, testMemory, 0, 0},
		{"one line", []string{"a\t1"}, 10, testMemory, 0, 1},
		{"one sample", []string{"c\t1\nb\t1\na\t1\n"}, 1, testMemory, 0, 1},
		{"every line a sample", []string{"c\t1\nb\t1\n", "\n\na"}, 100, testMemory, 0, 5},
		{"repeated lines", []string{strings.Repeat("the\t1\n", 100_000) + strings.Repeat("a\t1\n", 1000)}, 10, testMemory, 0, 5},
		{"long lines", []string{long + "b\t1\n" + long + "a\t1\nc\n" + strings.Repeat("x", 100_000)}, 3, testMemory, 0, 1},
		{"random", []string{strings.Join(randomLines(rng, 30_000, 5000), "\n")}, 100, testMemory, 0, 40},
		{"spilling", []string{
			strings.Join(randomLines(rng, 100_000, 5000), "\n") + "\n",
			strings.Join(randomLines(rng, 100_000, 5000), "\n"),
		}, 64, 1 << 20, 2, 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var inputs []string
			for i, data := range tt.inputs {
				p := filepath.Join(dir, fmt.Sprintf("in%d", i))
				writeFile(t, p, data)
				inputs = append(inputs, p)
			}
			want := filepath.Join(dir, "want")
			if err := SortFiles(inputs, want, tt.memory); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			s := &sorter{output: out, counted: true, sample: newSampler(tt.samples)}
			if err := s.sortFiles(inputs, tt.memory); err != nil {
				t.Fatal(err)
			}
			if s.runs < tt.minRuns {
				t.Fatalf("spilled %d sorted runs, want at least %d", s.runs, tt.minRuns)
			}
			r := s.sample.run()
			run, _ := os.ReadFile(out)
			got := writtenOut(t, run)
			if wantData, _ := os.ReadFile(want); !bytes.Equal(got, wantData) {
				t.Fatalf("SortRun's lines differ from SortFiles' (%d bytes, want %d)", len(got), len(wantData))
			}
			if records := bytes.Count(run, []byte{'\n'}); tt.name == "repeated lines" && records != 2 {
				t.Errorf("a run of 2 distinct lines has %d records", records)
			}
			checkRun(t, got, r, tt.samples)
			if len(r.Samples) < tt.fewest {
				t.Errorf("%d samples, want at least %d", len(r.Samples), tt.fewest)
			}
		})
	}
}

func TestSortRunAPI(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	writeFile(t, in, "b\t2\na\t1\n")
	out := filepath.Join(dir, "out")
	r, err := SortRun([]string{in}, out, testMemory, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := Run{Size: 8, Samples: []Sample{{Key: []byte("a"), Bytes: 4}, {Key: []byte("b"), Bytes: 4}}}
	if fmt.Sprint(r) != fmt.Sprint(want) {
		t.Errorf("SortRun = %v, want %v", r, want)
	}
	if got, _ := os.ReadFile(out); string(got) != "1 a\t1\n1 b\t2\n" {
		t.Errorf("SortRun wrote %q", got)
	}
	if _, err := SortRun([]string{in}, out, testMemory, 0); err == nil {
		t.Error("SortRun with 0 samples: no error")
	}
	if _, err := SortRun([]string{filepath.Join(dir, "missing")}, filepath.Join(dir, "out2"), testMemory, 4); err == nil {
		t.Error("SortRun of a missing input: no error")
	}
	if names := testutil.ListDir(t, dir); !slices.Equal(names, []string{"in", "out"}) {
		t.Errorf("directory holds %q", names)
	}
}

// countingReaderAt counts the reads of a bytes.Reader.
type countingReaderAt struct {
	r     *bytes.Reader
	reads int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	return c.r.ReadAt(p, off)
}

// sortedFile returns lines sorted into a counted run, with or without a
// final newline.
func sortedFile(lines []string, finalNewline bool) []byte {
	data := []byte(countedRun(sortedCopy(lines)))
	if !finalNewline && len(data) > 0 {
		data = data[:len(data)-1]
	}
	return data
}

// recordKey is the key of a counted run's record, with or without its
// newline.
func recordKey(rec []byte) []byte {
	_, line, _ := bytes.Cut(bytes.TrimSuffix(rec, []byte{'\n'}), []byte{' '})
	return Key(line)
}

// writtenOut is a counted run's lines, every copy written out.
func writtenOut(t *testing.T, run []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := NewWriter(bufio.NewWriter(&b), false)
	for rec := range bytes.Lines(run) {
		line, count, err := parseRecord(bytes.TrimSuffix(rec, []byte{'\n'}))
		if err != nil {
			t.Fatal(err)
		}
		w.Add(line, count)
	}
	w.Flush()
	return b.Bytes()
}

// findKeyBrute is FindKey by a scan over the records.
func findKeyBrute(data []byte, key []byte) int64 {
	if key == nil {
		return 0
	}
	off := 0
	for rec := range bytes.Lines(data) {
		if bytes.Compare(recordKey(rec), key) >= 0 {
			return int64(off)
		}
		off += len(rec)
	}
	return int64(len(data))
}

// trickyKeys are keys around the awkward ones of randomLines, and long ones.
func trickyKeys() []string {
	long := strings.Repeat("k", 9000)
	return []string{
		"", "a", "a\x00", "a\x01", "a\x01\x01", "a\x08", "a\t", "a b", "a\xff", "ab", "aa", "b", "e", "é", "the",
		"then", "them", "thex", "zzz", "zzzz", "\xff", "\xff\xfe", "\xff\xff", " ", "  lead", "word0001", "word9",
		long, long + "1", long + "2", long + "0", long[:4000],
	}
}

func TestFindKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	long := strings.Repeat("k", 9000)
	tests := []struct {
		name  string
		lines []string
	}{
		{"empty file", nil},
		{"one empty line", []string{""}},
		{"empty lines", []string{"", "", "", "a", "b\t1"}},
		{"one line", []string{"a\t1"}},
		{"duplicates", []string{"a\t1", "a\t1", "a\t1", "a\t2", "b", "b", "b"}},
		{"prefixes", []string{"a", "a\tx", "a\ty", "ab", "ab\t1", "a\x01", "a\x01\t2", "a\x00"}},
		{"low bytes", []string{"\x01", "\x01\x01\t1", "\x00\t3", "\x08", "\x08\x08"}},
		{"long lines", []string{
			long + "1\t" + strings.Repeat("v", 20000), long + "2", "a\t" + strings.Repeat("w", 30000), "b", long[:4000], "z\t" + long,
		}},
		{"random", randomLines(rng, 3000, 300)},
		{"random with long lines", append(randomLines(rng, 200, 20), long+"1\t"+long, long+"0", "the\t"+long, long+"2")},
	}
	for _, tt := range tests {
		for _, final := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/final newline %v", tt.name, final), func(t *testing.T) {
				data := sortedFile(tt.lines, final)
				queries := [][]byte{nil}
				for _, k := range trickyKeys() {
					queries = append(queries, []byte(k))
				}
				for _, l := range tt.lines {
					queries = append(queries, Key([]byte(l)))
				}
				for _, q := range queries {
					r := &countingReaderAt{r: bytes.NewReader(data)}
					got, err := FindKey(r, int64(len(data)), q)
					if err != nil {
						t.Fatal(err)
					}
					if want := findKeyBrute(data, q); got != want {
						t.Fatalf("FindKey(%.30q) = %d, want %d", q, got, want)
					}
					// Short lines take a read or two per probe.
					if tt.name == "random" && float64(r.reads) > 3*math.Log2(float64(len(data)))+3 {
						t.Errorf("FindKey(%.30q) made %d reads of a %d-byte file", q, r.reads, len(data))
					}
				}
			})
		}
	}
}

func TestOpenRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	lines := append(randomLines(rng, 2000, 100), strings.Repeat("x", 10000)+"\t1", "", "")
	for _, final := range []bool{true, false} {
		data := sortedFile(lines, final)
		path := filepath.Join(t.TempDir(), "run")
		writeFile(t, path, string(data))
		bounds := [][]byte{nil}
		for _, k := range trickyKeys() {
			bounds = append(bounds, []byte(k))
		}
		for range 300 {
			lo, hi := bounds[rng.IntN(len(bounds))], bounds[rng.IntN(len(bounds))]
			var want []byte
			for rec := range bytes.Lines(data) {
				k := recordKey(rec)
				if (lo == nil || bytes.Compare(k, lo) >= 0) && (hi == nil || bytes.Compare(k, hi) < 0) {
					want = append(want, rec...)
				}
			}
			rc, n, err := OpenRange(path, lo, hi)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) || n != int64(len(want)) {
				t.Fatalf("OpenRange(%.20q, %.20q): %d bytes, length %d; want %d", lo, hi, len(got), n, len(want))
			}
		}
	}
	if _, _, err := OpenRange(filepath.Join(t.TempDir(), "missing"), nil, nil); err == nil {
		t.Error("OpenRange of a missing file: no error")
	}
}
