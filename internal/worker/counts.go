package worker

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"mapreduce/protocol"
)

// lines counts the records (lines; a last one without a newline counts)
// and bytes of a file a program read or wrote.
type lines struct{ records, bytes int64 }

// ioCounts is what a task's programs read and wrote.
type ioCounts struct{ in, out lines }

func (c *ioCounts) add(o ioCounts) {
	c.in.records += o.in.records
	c.in.bytes += o.in.bytes
	c.out.records += o.out.records
	c.out.bytes += o.out.bytes
}

// addTo adds the built-in counters of a task of stage to counters.
func (c ioCounts) addTo(counters protocol.Counters, stage string) {
	counters.Add(protocol.CounterGroup, protocol.BuiltinCounter(stage, "input_records"), c.in.records)
	counters.Add(protocol.CounterGroup, protocol.BuiltinCounter(stage, "input_bytes"), c.in.bytes)
	counters.Add(protocol.CounterGroup, protocol.BuiltinCounter(stage, "output_records"), c.out.records)
	counters.Add(protocol.CounterGroup, protocol.BuiltinCounter(stage, "output_bytes"), c.out.bytes)
}

// countLines counts the lines of f, from its start, whatever its offset.
// The file was just read or written, so it is in the page cache: counting
// costs a copy and a scan at memory speed.
func countLines(f *os.File) (lines, error) {
	buf := make([]byte, 256<<10)
	var n lines
	var last byte = '\n'
	for off := int64(0); ; {
		k, err := f.ReadAt(buf, off)
		if k > 0 {
			n.records += int64(bytes.Count(buf[:k], []byte{'\n'}))
			n.bytes += int64(k)
			last = buf[k-1]
			off += int64(k)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return lines{}, err
		}
	}
	if last != '\n' {
		n.records++
	}
	return n, nil
}

// countingReader counts the lines and bytes read through it. exec's copying
// goroutine reads it; lines is called once the program has ended, when
// that goroutine is done.
type countingReader struct {
	r    io.Reader
	n    lines
	last byte
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if k > 0 {
		c.n.records += int64(bytes.Count(p[:k], []byte{'\n'}))
		c.n.bytes += int64(k)
		c.last = p[k-1]
	}
	return k, err
}

func (c *countingReader) lines() (lines, error) {
	n := c.n
	if n.bytes > 0 && c.last != '\n' {
		n.records++
	}
	return n, nil
}

// sortCounts counts what a sort task read and wrote: its inputs' bytes, and
// its output's lines and bytes. A sort keeps every line, so it read as many
// records as it wrote; the output was just written, so counting its lines
// costs a scan of the page cache.
func sortCounts(inputs []string, output string) (ioCounts, error) {
	var c ioCounts
	for _, in := range inputs {
		fi, err := os.Stat(in)
		if err != nil {
			return ioCounts{}, fmt.Errorf("size of sort input: %w", err)
		}
		c.in.bytes += fi.Size()
	}
	f, err := os.Open(output)
	if err != nil {
		return ioCounts{}, fmt.Errorf("count sort output: %w", err)
	}
	defer f.Close()
	if c.out, err = countLines(f); err != nil {
		return ioCounts{}, fmt.Errorf("count sort output: %w", err)
	}
	c.in.records = c.out.records
	return c, nil
}
