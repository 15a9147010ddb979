package group

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
)

// A counted run is the form in which the shuffle keeps sorted lines (the
// map tasks' runs, the pieces fetched of them, a sort's spills): each
// distinct line once, with how many times it was read, as a record
//
//	COUNT SP LINE LF
//
// COUNT in decimal, at least 1. Map outputs repeat lines heavily (word
// count's "the\t1"), and a sort that counts them anyway (chunk) would
// otherwise write every copy, and each merge after it read, compare and
// write them one by one: counted, a run of word count's map output is a
// seventh to a thirteenth of the bytes, a tenth to a twentieth of the
// records (map tasks of 4 and 12 MB of text). The lines are written
// out in full only into what a program reads (SortFiles' output, a reduce
// task's input). A record still starts after a newline, so a counted run
// is searched by key as a plain sorted file is (FindKey).

// maxRecordCount bounds a record's count, so that a count's digits are
// always few and any sum of two fits an int64.
const maxRecordCount = 1 << 40

// writeRecord writes line, read count times, as one record.
func writeRecord(w *bufio.Writer, line []byte, count int64) error {
	var digits [20]byte
	w.Write(strconv.AppendInt(digits[:0], count, 10))
	w.WriteByte(' ')
	w.Write(line)
	return w.WriteByte('\n')
}

// parseRecord splits a record, without its newline, into its line and
// count.
func parseRecord(rec []byte) (line []byte, count int64, err error) {
	sp := bytes.IndexByte(rec, ' ')
	if sp < 1 || sp > 13 {
		return nil, 0, fmt.Errorf("not a counted record: %.40q", rec)
	}
	for _, d := range rec[:sp] {
		if d < '0' || d > '9' {
			return nil, 0, fmt.Errorf("not a counted record: %.40q", rec)
		}
		count = count*10 + int64(d-'0')
	}
	if count < 1 || count > maxRecordCount {
		return nil, 0, fmt.Errorf("counted record with count %d: %.40q", count, rec)
	}
	return rec[sp+1:], count, nil
}

// Writer writes sorted lines, each with its count, in one of the two forms
// of a sorted run: counted records, or plain lines, every copy written out.
// Counted, it adds together the counts of equal lines in a row (a merge
// meets the same line in several runs).
type Writer struct {
	w       *bufio.Writer
	counted bool
	line    []byte // counted: the line held back, not yet written
	count   int64  // its count; 0 if none
}

// NewWriter returns a Writer into w: of counted records if counted, of
// plain lines if not.
func NewWriter(w *bufio.Writer, counted bool) *Writer {
	return &Writer{w: w, counted: counted}
}

// Add writes line, read count times.
func (r *Writer) Add(line []byte, count int64) error {
	if !r.counted {
		return r.writeCopies(line, count)
	}
	if r.count > 0 && r.count+count <= maxRecordCount && bytes.Equal(line, r.line) {
		r.count += count
		return nil
	}
	if err := r.writeHeld(); err != nil {
		return err
	}
	r.line, r.count = append(r.line[:0], line...), count
	return nil
}

// Flush writes what the Writer holds, and flushes its bufio.Writer.
func (r *Writer) Flush() error {
	if err := r.writeHeld(); err != nil {
		return err
	}
	return r.w.Flush()
}

// writeHeld writes the line held back, if any, as a record.
func (r *Writer) writeHeld() error {
	if r.count == 0 {
		return nil
	}
	err := writeRecord(r.w, r.line, r.count)
	r.count = 0
	return err
}

// writeCopies writes line count times, each ending in a newline: as many
// copies at a time as the buffer has room for, made in the buffer itself
// (a common word's line may be read a million times).
func (r *Writer) writeCopies(line []byte, count int64) error {
	n := len(line) + 1
	for count > 0 {
		if r.w.Available() < n {
			if err := r.w.Flush(); err != nil {
				return err
			}
		}
		if r.w.Available() < n {
			// Longer than the buffer: the bufio.Writer writes it through.
			r.w.Write(line)
			if err := r.w.WriteByte('\n'); err != nil {
				return err
			}
			count--
			continue
		}
		buf := r.w.AvailableBuffer()
		copies := min(count, int64(cap(buf)/n))
		for range copies {
			buf = append(append(buf, line...), '\n')
		}
		if _, err := r.w.Write(buf); err != nil {
			return err
		}
		count -= copies
	}
	return nil
}
