package group

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"mapreduce/internal/testutil"
)

// testStreams opens in-memory streams and keeps count of them.
type testStreams struct {
	data           []string
	opens          []int // how many times each stream was opened
	open, mostOpen int
	// openErr and readErr, if not nil, fail opening or reading a stream.
	openErr func(i int) error
	readErr func(i int) error
}

func (s *testStreams) openStream(i int) (io.ReadCloser, error) {
	s.opens[i]++
	if s.openErr != nil {
		if err := s.openErr(i); err != nil {
			return nil, err
		}
	}
	s.open++
	s.mostOpen = max(s.mostOpen, s.open)
	var r io.Reader = strings.NewReader(s.data[i])
	if s.readErr != nil {
		if err := s.readErr(i); err != nil {
			// Half of the stream, then the error.
			r = io.MultiReader(strings.NewReader(s.data[i][:len(s.data[i])/2]), &errReader{err})
		}
	}
	return &testStream{Reader: r, s: s}, nil
}

// failAt returns err for stream bad, nil for stream i of the others.
func failAt(i, bad int, err error) error {
	if i == bad {
		return err
	}
	return nil
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

type testStream struct {
	io.Reader
	s      *testStreams
	closed bool
}

func (t *testStream) Close() error {
	if !t.closed {
		t.closed = true
		t.s.open--
	}
	return nil
}

// newTestStreams splits lines among n counted runs, some without a final
// newline.
func newTestStreams(rng *rand.Rand, lines []string, n int) *testStreams {
	parts := make([][]string, n)
	for _, l := range lines {
		i := rng.IntN(n)
		parts[i] = append(parts[i], l)
	}
	s := &testStreams{data: make([]string, n), opens: make([]int, n)}
	for i, p := range parts {
		if len(p) > 0 {
			s.data[i] = countedRun(sortedCopy(p))
			if rng.IntN(2) == 0 {
				s.data[i] = strings.TrimSuffix(s.data[i], "\n")
			}
		}
	}
	return s
}

// countedRun is the counted run of sorted lines (counted.go), with equal
// lines in a row counted in one record or, at random, in several.
func countedRun(sorted []string) string {
	var b strings.Builder
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[i] && j%3 != 0 {
			j++
		}
		fmt.Fprintf(&b, "%d %s\n", j-i, sorted[i])
		i = j
	}
	return b.String()
}

// mergeTestStreams runs MergeStreams over s and returns what it emitted,
// each line as many times as its count.
func mergeTestStreams(t *testing.T, s *testStreams, fanIn int, tmpDir string) ([]string, error) {
	t.Helper()
	var got []string
	err := MergeStreams(len(s.data), s.openStream, func(line []byte, count int64) error {
		for range count {
			got = append(got, string(line))
		}
		return nil
	}, fanIn, tmpDir)
	if s.mostOpen > fanIn {
		t.Errorf("%d streams open at once, fan-in %d", s.mostOpen, fanIn)
	}
	if s.open != 0 {
		t.Errorf("%d streams left open", s.open)
	}
	if names := testutil.ListDir(t, tmpDir); len(names) > 0 {
		t.Errorf("temporary files left behind: %q", names)
	}
	return got, err
}

func TestMergeStreams(t *testing.T) {
	long := func(key string) string { return key + "\t" + strings.Repeat("v", 3*mergeBuffer/2) }
	tests := []struct {
		name      string
		streams   int
		fanIn     int
		lines     int
		longLines []string
	}{
		{"no streams", 0, 4, 0, nil},
		{"one stream", 1, 4, 100, nil},
		{"fewer than the fan-in", 3, 64, 2000, nil},
		{"one more than the fan-in", 5, 4, 2000, nil},
		{"fan-in 2", 9, 2, 3000, nil},
		{"several passes", 40, 3, 5000, nil},
		{"many empty streams", 30, 4, 5, nil},
		{"long lines", 6, 2, 500, []string{long("a"), long("the"), long("zzz"), long(""), long("a")}},
	}
	for seed, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 9))
			lines := append(randomLines(rng, tt.lines, 200), tt.longLines...)
			s := newTestStreams(rng, lines, tt.streams)
			got, err := mergeTestStreams(t, s, tt.fanIn, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if want := sortedCopy(lines); !slices.Equal(got, want) {
				t.Fatalf("merged %d lines of lengths %v, want %d", len(got), lineLengths(got)[:min(len(got), 10)], len(want))
			}
			for i, n := range s.opens {
				if n != 1 {
					t.Errorf("stream %d opened %d times", i, n)
				}
			}
		})
	}
}

func TestMergeStreamsErrors(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		streams int
		fanIn   int
		bad     int
		// break_ makes stream bad fail.
		break_ func(s *testStreams, bad int)
	}{
		{"open, first pass", 10, 3, 1, func(s *testStreams, bad int) {
			s.openErr = func(i int) error { return failAt(i, bad, errBoom) }
		}},
		{"open, later pass", 10, 3, 9, func(s *testStreams, bad int) {
			s.openErr = func(i int) error { return failAt(i, bad, errBoom) }
		}},
		{"read, first pass", 10, 3, 2, func(s *testStreams, bad int) {
			s.readErr = func(i int) error { return failAt(i, bad, errBoom) }
		}},
		{"read, one merge", 4, 8, 3, func(s *testStreams, bad int) {
			s.readErr = func(i int) error { return failAt(i, bad, errBoom) }
		}},
		{"unsorted, first pass", 10, 3, 0, func(s *testStreams, bad int) {
			s.data[bad] = "1 b\t1\n2 a\t1\n" + s.data[bad]
		}},
		{"unsorted, later pass", 10, 3, 8, func(s *testStreams, bad int) {
			s.data[bad] = strings.TrimSuffix(s.data[bad], "\n") + "\n1 \n"
		}},
		{"not a counted run", 10, 3, 4, func(s *testStreams, bad int) {
			s.data[bad] = "a\t1\n" + s.data[bad]
		}},
		{"count zero", 6, 8, 5, func(s *testStreams, bad int) {
			s.data[bad] = "0 a\t1\n" + s.data[bad]
		}},
	}
	for seed, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 10))
			s := newTestStreams(rng, randomLines(rng, 2000, 100), tt.streams)
			tt.break_(s, tt.bad)
			_, err := mergeTestStreams(t, s, tt.fanIn, t.TempDir())
			var streamErr *StreamError
			if !errors.As(err, &streamErr) || streamErr.Index != tt.bad {
				t.Fatalf("MergeStreams: %v; want a *StreamError for stream %d", err, tt.bad)
			}
			var unsorted *UnsortedError
			if !errors.Is(err, errBoom) && !errors.As(err, &unsorted) && !strings.Contains(err.Error(), "record") {
				t.Errorf("MergeStreams: %v; want the stream's own error within", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("stream %d", tt.bad)) {
				t.Errorf("error %q does not name stream %d", err, tt.bad)
			}
		})
	}
}

func TestMergeStreamsEmitError(t *testing.T) {
	errStop := errors.New("stop")
	rng := rand.New(rand.NewPCG(1, 11))
	s := newTestStreams(rng, randomLines(rng, 1000, 100), 7)
	dir := t.TempDir()
	err := MergeStreams(len(s.data), s.openStream, func([]byte, int64) error { return errStop }, 2, dir)
	var streamErr *StreamError
	if !errors.Is(err, errStop) || errors.As(err, &streamErr) {
		t.Errorf("MergeStreams with a failing emit: %v; want emit's error, not a stream's", err)
	}
	if names := testutil.ListDir(t, dir); len(names) > 0 || s.open != 0 {
		t.Errorf("%d streams open, temporary files %q", s.open, names)
	}
	if err := MergeStreams(1, s.openStream, func([]byte, int64) error { return nil }, 1, dir); err == nil {
		t.Error("MergeStreams with fan-in 1: no error")
	}
}

func BenchmarkMergeStreams(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 12))
	lines := make([]string, 200_000)
	for i := range lines {
		lines[i] = fmt.Sprintf("word%05d\t%d", rng.IntN(50_000), rng.IntN(10))
	}
	s := newTestStreams(rng, lines, 16)
	dir := b.TempDir()
	b.SetBytes(int64(len(strings.Join(lines, "\n")) + 1)) // the lines written out
	for b.Loop() {
		err := MergeStreams(len(s.data), s.openStream, func([]byte, int64) error { return nil }, 4, dir)
		if err != nil {
			b.Fatal(err)
		}
	}
}
