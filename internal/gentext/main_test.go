package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// readAll returns the files of dir by name, in order, and their bytes
// concatenated as cat dir/* would.
func readAll(t *testing.T, dir string) ([]string, []byte) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var all []byte
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, e.Name())
		all = append(all, data...)
	}
	return names, all
}

func testConfig(out string) config {
	return config{out: out, bytes: 200_000, files: 7, seed: 42, vocabulary: 5000, zipfS: 1.1}
}

func TestSameFlagsSameBytes(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if _, err := generate(testConfig(a)); err != nil {
		t.Fatal(err)
	}
	if _, err := generate(testConfig(b)); err != nil {
		t.Fatal(err)
	}
	namesA, dataA := readAll(t, a)
	namesB, dataB := readAll(t, b)
	if strings.Join(namesA, " ") != strings.Join(namesB, " ") || !bytes.Equal(dataA, dataB) {
		t.Fatalf("two runs with the same flags differ: %v vs %v", namesA, namesB)
	}

	other := testConfig(t.TempDir())
	other.seed++
	if _, err := generate(other); err != nil {
		t.Fatal(err)
	}
	if _, dataC := readAll(t, other.out); bytes.Equal(dataA, dataC) {
		t.Fatal("another seed gave the same text")
	}
}

func TestSizesAndShape(t *testing.T) {
	cfg := testConfig(t.TempDir())
	written, err := generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	names, data := readAll(t, cfg.out)
	if len(names) != cfg.files {
		t.Fatalf("%d files, want %d", len(names), cfg.files)
	}
	if int64(len(data)) != written {
		t.Fatalf("generate says %d bytes, the files hold %d", written, len(data))
	}
	if written > cfg.bytes || float64(written) < 0.99*float64(cfg.bytes) {
		t.Fatalf("wrote %d bytes, want at most %d and within 1%%", written, cfg.bytes)
	}
	for _, name := range names {
		info, err := os.Stat(filepath.Join(cfg.out, name))
		if err != nil {
			t.Fatal(err)
		}
		share := cfg.bytes / int64(cfg.files)
		if size := info.Size(); size > share+1 || size < share-share/50 {
			t.Errorf("%s is %d bytes, want about %d", name, info.Size(), share)
		}
	}

	if !utf8.Valid(data) {
		t.Fatal("output is not valid UTF-8")
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	short, nonASCII := 0, 0
	for _, line := range lines {
		words := bytes.Split(line, []byte(" "))
		if len(words) > maxWords {
			t.Fatalf("line of %d words: %q", len(words), line)
		}
		if len(words) < minWords {
			short++ // only a file's last line may be cut short
		}
		for _, w := range words {
			if len(w) == 0 {
				t.Fatalf("empty word in line %q", line)
			}
			if utf8.RuneCount(w) != len(w) {
				nonASCII++
			}
		}
	}
	if short > cfg.files {
		t.Errorf("%d lines under %d words, want at most one per file", short, minWords)
	}
	if nonASCII == 0 {
		t.Error("no word with a non-ASCII letter")
	}
}

func TestVocabularyDistinct(t *testing.T) {
	words := newVocabulary(20000, 7)
	seen := make(map[string]bool, len(words))
	for _, w := range words {
		if seen[string(w)] {
			t.Fatalf("word %q twice", w)
		}
		seen[string(w)] = true
		if bytes.ContainsAny(w, " \t\n") {
			t.Fatalf("word %q has whitespace", w)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1000": 1000, "512K": 512 << 10, "100M": 100 << 20, "1G": 1 << 30, "2gb": 2 << 30, "3k": 3 << 10,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "M", "-1", "1.5G", "10X", "1T"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) succeeded", in)
		}
	}
}

func TestRefusesNonEmptyDir(t *testing.T) {
	cfg := testConfig(t.TempDir())
	if err := os.WriteFile(filepath.Join(cfg.out, "old.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := generate(cfg); err == nil {
		t.Fatal("wrote into a non-empty directory")
	}
}
