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
// long it is; ok is false when no one file is true of every record. A
// split of one file names it, from its first range's start, with the
// ranges' bytes in all. A split that packs several files names none: it
// is not run once per file, which would cost an interpreter start per
// file (the mapper that needs each record's file gets it from the input
// key, sendjob --input-key file, or from a split per file).
func (in programInput) mapInput() (file string, start, length int64, ok bool) {
	if in.ranges == nil {
		if info, err := os.Stat(in.file); err == nil {
			length = info.Size()
		}
		return in.file, 0, length, true
	}
	if len(split.Files(in.ranges)) != 1 {
		return "", 0, 0, false
	}
	for _, r := range in.ranges {
		length += r.Length
	}
	return in.ranges[0].File, in.ranges[0].Start, length, true
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

// open opens the input; with key, each line comes as FILE<tab>LINE
// (protocol.InputKeyFile). Records are counted before the key.
func (in programInput) open(key bool) (*stdin, error) {
	if in.ranges != nil {
		r := split.NewReader(in.ranges)
		c := &countingReader{r: r}
		var reader io.Reader = c
		if key {
			reader = newKeyedReader(c, r.File)
		}
		return &stdin{reader: reader, position: r.Position, err: r.Err, close: r.Close, count: c.lines}, nil
	}
	f, err := os.Open(in.file)
	if err != nil {
		return nil, err
	}
	var reader io.Reader = f
	if key {
		reader = newKeyedReader(f, func() string { return in.file })
	}
	// The program's stdin shares its file offset with ours, so the offset
	// says how far the program (or any child it passed stdin to) has read.
	position := func() int64 {
		off, _ := f.Seek(0, io.SeekCurrent)
		return off
	}
	return &stdin{reader: reader, position: position, err: func() error { return nil }, close: f.Close,
		count: func() (lines, error) { return countLines(f) }}, nil
}
