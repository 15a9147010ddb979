// Package split divides a map stage's input into splits and reads them:
// the one home of the rule that says which lines a byte range owns.
//
// A split is a list of byte ranges of the input files, read as one stream
// by one run of the mapper. Plan cuts large files at byte offsets and packs
// small ones together, so that every split holds about the same number of
// bytes; Reader turns a split's ranges into the lines they own, as Hadoop's
// LineRecordReader turns a FileSplit: each line is read by the split in
// which it begins.
package split

import (
	"fmt"
	"strings"

	"mapreduce/protocol"
)

// File is an input file and its size in bytes.
type File struct {
	Path string
	Size int64
}

// MaxRanges bounds the ranges of a split, and so the size of its task
// message: 1000 ranges of paths up to 4 KiB stay well within
// protocol.MaxMessageSize, with the input_files that repeat them.
const MaxRanges = 1000

// Plan cuts files, laid end to end in order, into n splits of balanced
// bytes: split i holds bytes [i·total/n, (i+1)·total/n) of the whole, so a
// file larger than a split is cut into several ranges and small files are
// packed together. There are fewer splits only when the files hold fewer
// than n bytes (one a byte), and one holding every file when all are
// empty; none when there are no files; more only when a split would hold
// more than MaxRanges ranges (over MaxRanges small files a split): it is
// cut after each MaxRanges. An empty file goes with the split being filled
// where it lies, so that each file is read by some task.
func Plan(files []File, n int) [][]protocol.InputRange {
	var bounded [][]protocol.InputRange
	for _, s := range plan(files, n) {
		for len(s) > MaxRanges {
			bounded = append(bounded, s[:MaxRanges:MaxRanges])
			s = s[MaxRanges:]
		}
		bounded = append(bounded, s)
	}
	return bounded
}

// PlanPerFile cuts files into splits that never pack two files: each file
// is at least one split, and a file holding more than its share of n
// splits' bytes is cut into about as many splits as its share, as Plan
// would cut it. There are at least as many splits as files, so a mapper
// run always reads one file and may be told its name.
func PlanPerFile(files []File, n int) [][]protocol.InputRange {
	var total int64
	for _, f := range files {
		total += f.Size
	}
	var splits [][]protocol.InputRange
	for _, f := range files {
		k := 1
		if total > 0 {
			k = max(1, int(int64(n)*f.Size/total))
		}
		splits = append(splits, Plan([]File{f}, k)...)
	}
	return splits
}

// plan is Plan without MaxRanges.
func plan(files []File, n int) [][]protocol.InputRange {
	if len(files) == 0 || n < 1 {
		return nil
	}
	var total int64
	for _, f := range files {
		total += f.Size
	}
	n = int(min(int64(n), max(total, 1)))
	splits := make([][]protocol.InputRange, n)
	i := 0       // the split being filled
	var at int64 // where the file begins in the whole
	for _, f := range files {
		var start int64 // the file's bytes already placed
		for {
			end := total * int64(i+1) / int64(n) // split i's end in the whole
			take := min(f.Size-start, end-(at+start))
			if take > 0 || f.Size == 0 {
				splits[i] = append(splits[i], protocol.InputRange{File: f.Path, Start: start, Length: take})
			}
			start += take
			if start >= f.Size {
				break
			}
			i++
		}
		at += f.Size
	}
	return splits
}

// Files lists the files of ranges, each once, in order.
func Files(ranges []protocol.InputRange) []string {
	var files []string
	for _, r := range ranges {
		if len(files) == 0 || files[len(files)-1] != r.File {
			files = append(files, r.File)
		}
	}
	return files
}

// describedRanges is how many ranges Describe names before it counts the
// rest: error messages stay short whatever the split.
const describedRanges = 3

// Describe names ranges for people, as Hadoop prints a FileSplit
// (path:start+length): "/in/a.txt:0+4194304", or for a packed split the
// first few and how many more, with the split's size.
func Describe(ranges []protocol.InputRange) string {
	var b strings.Builder
	var total int64
	for i, r := range ranges {
		total += r.Length
		if i < describedRanges {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s:%d+%d", r.File, r.Start, r.Length)
		}
	}
	if len(ranges) > describedRanges {
		fmt.Fprintf(&b, " and %d more ranges (%d bytes in all)", len(ranges)-describedRanges, total)
	}
	return b.String()
}
