package worker

import (
	"io"
	"os"

	"mapreduce/internal/split"
	"mapreduce/protocol"
)

// programInput is what one run of a program reads on stdin: a whole file,
// as the reference protocol has it, or a split (new_worker_job's split
// field), the lines its ranges own. describe, if set, names it in errors
// instead (the file a reduce task of the shuffle merged).
type programInput struct {
	file     string
	ranges   []protocol.InputRange
	describe string
}

// String names the input in error messages: the file, or the split's
// ranges as path:start+length.
func (in programInput) String() string {
	if in.describe != "" {
		return in.describe
	}
	if in.ranges != nil {
		return split.Describe(in.ranges)
	}
	return in.file
}

// mapInput is what Hadoop Streaming's mapreduce_map_input_* variables say
// of the input: the file, where the program's part of it starts, and how
// long it is. A packed split names its first range's file and start, and
// its length is the split's bytes in all.
func (in programInput) mapInput() (file string, start, length int64) {
	if in.ranges == nil {
		if info, err := os.Stat(in.file); err == nil {
			length = info.Size()
		}
		return in.file, 0, length
	}
	for _, r := range in.ranges {
		length += r.Length
	}
	if len(in.ranges) > 0 {
		file, start = in.ranges[0].File, in.ranges[0].Start
	}
	return file, start, length
}

// stdin is an input opened for a program.
type stdin struct {
	// reader is the program's stdin: the file itself, which the program
	// then reads directly, or a split.Reader, which the worker copies in.
	reader io.Reader
	// position counts what the program has read so far.
	position func() int64
	// err is why reading the input failed, if it did: a split's file
	// that went missing, say.
	err   func() error
	close func() error
	// count counts the records and bytes the program was given, once it
	// has ended.
	count func() (lines, error)
}

// open opens the input.
func (in programInput) open() (*stdin, error) {
	if in.ranges != nil {
		r := split.NewReader(in.ranges)
		c := &countingReader{r: r}
		return &stdin{reader: c, position: r.Position, err: r.Err, close: r.Close, count: c.lines}, nil
	}
	f, err := os.Open(in.file)
	if err != nil {
		return nil, err
	}
	// The program's stdin shares its file offset with ours, so the offset
	// says how far the program (or any child it passed stdin to) has read.
	position := func() int64 {
		off, _ := f.Seek(0, io.SeekCurrent)
		return off
	}
	return &stdin{reader: f, position: position, err: func() error { return nil }, close: f.Close,
		count: func() (lines, error) { return countLines(f) }}, nil
}
