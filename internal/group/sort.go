package group

import (
	"bytes"
	"fmt"
	"os"
	"slices"
)

// SortFiles sorts the lines of all inputs into output, each line ending in a
// newline. The output appears whole or not at all.
func SortFiles(inputs []string, output string) error {
	var data []byte
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil {
			return fmt.Errorf("read %s: %w", in, err)
		}
		data = append(data, b...)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			data = append(data, '\n')
		}
	}
	lines := splitLines(data)
	slices.SortStableFunc(lines, Compare)
	out, err := createAtomic(output)
	if err != nil {
		return err
	}
	return writeLines(out, lines)
}

func writeLines(out *atomicFile, lines [][]byte) error {
	for _, line := range lines {
		out.Write(line)
		if err := out.WriteByte('\n'); err != nil {
			out.Abort()
			return fmt.Errorf("write %s: %w", out.target, err)
		}
	}
	return out.Commit()
}

// splitLines returns the lines of data, which ends in a newline, without
// their newlines; the slices share data's memory.
func splitLines(data []byte) [][]byte {
	lines := make([][]byte, 0, bytes.Count(data, []byte{'\n'}))
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		lines = append(lines, data[:i])
		data = data[i+1:]
	}
	return lines
}
