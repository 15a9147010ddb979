// Command gentext writes deterministic synthetic text for benchmarks:
//
//	go run ./internal/gentext --out DIR --bytes 100M [--files 64] [--seed 1]
//
// The words come from a synthetic vocabulary of pronounceable syllable
// combinations (a small fraction with non-ASCII letters such as é or ü),
// drawn with a Zipf distribution, the most frequent words being the
// shortest, as in natural language. Lines have 5 to 15 words separated by
// single spaces. The files, DIR/part-00000.txt and on, are of nearly equal
// size and together at most --bytes long (each is short of its share by
// less than one word).
//
// The same flags give byte-identical output: the vocabulary and every file
// have their own random stream, seeded from --seed (and the file's number),
// so files can be written in parallel.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
)

// config is what the flags set.
type config struct {
	out        string  // directory to write into
	bytes      int64   // total size to aim for
	files      int     // number of files
	seed       uint64  // seed of every random stream
	vocabulary int     // number of distinct words
	zipfS      float64 // Zipf exponent, > 1
}

// Line lengths, in words.
const (
	minWords = 5
	maxWords = 15
)

func main() {
	var cfg config
	var size string
	pflag.StringVar(&cfg.out, "out", "", "directory to write the files into (created; must be empty)")
	pflag.StringVar(&size, "bytes", "100M", "total size: a number of bytes, optionally with a suffix K, M or G (powers of 1024)")
	pflag.IntVar(&cfg.files, "files", 64, "number of files")
	pflag.Uint64Var(&cfg.seed, "seed", 1, "random seed; the same flags give the same bytes")
	pflag.IntVar(&cfg.vocabulary, "vocabulary", 100000, "number of distinct words")
	pflag.Float64Var(&cfg.zipfS, "zipf-s", 1.1, "exponent s of the Zipf distribution of words (> 1)")
	pflag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: gentext --out DIR [flags]\n\nWrites deterministic Zipf-distributed text into DIR/part-NNNNN.txt.\n\n")
		pflag.PrintDefaults()
	}
	pflag.Parse()
	n, err := parseSize(size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gentext: --bytes:", err)
		os.Exit(2)
	}
	cfg.bytes = n
	if cfg.out == "" || pflag.NArg() != 0 {
		pflag.Usage()
		os.Exit(2)
	}
	start := time.Now()
	written, err := generate(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gentext:", err)
		os.Exit(1)
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "gentext: wrote %d bytes in %d files to %s in %.2fs (%.0f MB/s)\n",
		written, cfg.files, cfg.out, secs, float64(written)/1e6/secs)
}

// parseSize reads a byte count such as 1048576, 512K, 100M or 1G; the
// suffixes (either case, optionally followed by B) are powers of 1024.
func parseSize(s string) (int64, error) {
	num := strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B")
	mult := int64(1)
	if k := len(num); k > 0 {
		switch num[k-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			num = num[:k-1]
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q (want e.g. 1000, 512K, 100M, 1G)", s)
	}
	return n * mult, nil
}

// generate writes cfg.files files into cfg.out, at most runtime.NumCPU() at
// once, and returns how many bytes it wrote.
func generate(cfg config) (int64, error) {
	switch {
	case cfg.files < 1:
		return 0, errors.New("--files must be at least 1")
	case cfg.vocabulary < 1:
		return 0, errors.New("--vocabulary must be at least 1")
	case !(cfg.zipfS > 1):
		return 0, errors.New("--zipf-s must be greater than 1")
	case cfg.bytes < 0:
		return 0, errors.New("--bytes must not be negative")
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return 0, err
	}
	if entries, err := os.ReadDir(cfg.out); err != nil {
		return 0, err
	} else if len(entries) > 0 {
		return 0, fmt.Errorf("%s is not empty; remove it first", cfg.out)
	}

	vocab := newVocabulary(cfg.vocabulary, cfg.seed)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		total   int64
		errs    []error
		workers = make(chan struct{}, runtime.NumCPU())
	)
	for i := range cfg.files {
		// Spread the remainder over the first files: sizes differ by at most 1.
		size := cfg.bytes / int64(cfg.files)
		if int64(i) < cfg.bytes%int64(cfg.files) {
			size++
		}
		path := filepath.Join(cfg.out, fmt.Sprintf("part-%05d.txt", i))
		wg.Add(1)
		workers <- struct{}{}
		go func() {
			defer func() { <-workers; wg.Done() }()
			n, err := writeFile(path, size, vocab, cfg.zipfS, cfg.seed, uint64(i))
			mu.Lock()
			defer mu.Unlock()
			total += n
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	return total, errors.Join(errs...)
}

// writeFile writes one file of at most size bytes, from the random stream
// numbered stream, and returns its length.
func writeFile(path string, size int64, vocab [][]byte, zipfS float64, seed, stream uint64) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	n := writeText(w, size, vocab, zipfS, seed, stream)
	if err := w.Flush(); err != nil {
		f.Close()
		return n, err
	}
	return n, f.Close()
}

// writeText writes lines of Zipf-distributed words to w until the next word
// would not fit in size bytes (counting the line's newline), and returns the
// number of bytes written. Write errors are left for w.Flush to report.
func writeText(w *bufio.Writer, size int64, vocab [][]byte, zipfS float64, seed, stream uint64) int64 {
	// Stream 0 is the vocabulary's; the files' are 1 and up.
	r := rand.New(rand.NewPCG(seed, stream+1))
	zipf := rand.NewZipf(r, zipfS, 1, uint64(len(vocab)-1))
	line := make([]byte, 0, 1024)
	var written int64
	for {
		words := minWords + r.IntN(maxWords-minWords+1)
		line = line[:0]
		full := false
		for range words {
			word := vocab[zipf.Uint64()]
			sep := 0
			if len(line) > 0 {
				sep = 1
			}
			if written+int64(len(line)+sep+len(word)+1) > size {
				full = true
				break
			}
			if sep == 1 {
				line = append(line, ' ')
			}
			line = append(line, word...)
		}
		if len(line) > 0 {
			line = append(line, '\n')
			w.Write(line)
			written += int64(len(line))
		}
		if full {
			return written
		}
	}
}

// Syllable parts: a word is one to four onset+vowel(+coda) syllables.
var (
	onsets = []string{"b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
		"br", "ch", "cl", "dr", "fr", "gr", "pl", "qu", "sh", "sk", "st", "th", "tr", ""}
	vowels = []string{"a", "e", "i", "o", "u", "y", "ai", "au", "ea", "ee", "ie", "oo", "ou"}
	codas  = []string{"", "", "", "", "n", "r", "s", "l", "m", "t", "nd", "st", "ck"}
	// accents replaces a letter in the words given non-ASCII letters.
	accents = map[byte][]string{
		'a': {"á", "à", "ä", "â"}, 'e': {"é", "è", "ë", "ê"}, 'i': {"í", "ï"},
		'o': {"ó", "ö", "ô"}, 'u': {"ú", "ü", "û"}, 'n': {"ñ"}, 'c': {"ç"},
	}
)

// accentedShare is the fraction of the vocabulary, past the hundred most
// frequent words, with a non-ASCII letter.
const accentedShare = 0.03

// newVocabulary returns n distinct words; word i is the i-th most frequent
// in the text, so the first words are drawn with fewer syllables.
func newVocabulary(n int, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 0))
	seen := make(map[string]bool, n)
	words := make([][]byte, 0, n)
	for rank := 0; len(words) < n; rank++ {
		maxSyllables := 4
		switch {
		case rank < 100:
			maxSyllables = 2
		case rank < 5000:
			maxSyllables = 3
		}
		// Draw until the word is new, allowing more syllables after many
		// collisions (the short words run out).
		for tries := 0; ; tries++ {
			if tries > 0 && tries%20 == 0 && maxSyllables < 8 {
				maxSyllables++
			}
			w := newWord(r, 1+r.IntN(maxSyllables), rank >= 100)
			if !seen[w] {
				seen[w] = true
				words = append(words, []byte(w))
				break
			}
		}
	}
	return words
}

// newWord makes one word of the given number of syllables. If mayAccent,
// a letter is accented in accentedShare of them: not in the hundred most
// frequent words, which would otherwise make the share of non-ASCII words in
// the text a lottery.
func newWord(r *rand.Rand, syllables int, mayAccent bool) string {
	var b strings.Builder
	for range syllables {
		b.WriteString(onsets[r.IntN(len(onsets))])
		b.WriteString(vowels[r.IntN(len(vowels))])
		b.WriteString(codas[r.IntN(len(codas))])
	}
	w := b.String()
	if mayAccent && r.Float64() < accentedShare {
		// Accent the first letter that has an accented form, from a random
		// position on (wrapping around).
		start := r.IntN(len(w))
		for k := range len(w) {
			i := (start + k) % len(w)
			if alts, ok := accents[w[i]]; ok {
				return w[:i] + alts[r.IntN(len(alts))] + w[i+1:]
			}
		}
	}
	return w
}
