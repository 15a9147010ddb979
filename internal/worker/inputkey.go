package worker

import (
	"bytes"
	"io"
)

// keyedReader gives each line of src prefixed with the path of the file
// it comes from and a tab (protocol.InputKeyFile), as Hadoop gives a
// mapper the key its input format made: a mapper reads FILE<tab>LINE
// however its split packs files. file names the file of the bytes src's
// last Read gave.
type keyedReader struct {
	src  io.Reader
	file func() string
	buf  []byte
	// out is what is ready to be read; midLine: the last byte read from
	// src did not end a line.
	out     []byte
	midLine bool
}

func newKeyedReader(src io.Reader, file func() string) *keyedReader {
	return &keyedReader{src: src, file: file, buf: make([]byte, 32<<10)}
}

func (k *keyedReader) Read(p []byte) (int, error) {
	for len(k.out) == 0 {
		n, err := k.src.Read(k.buf)
		if n > 0 {
			k.key(k.buf[:n])
		}
		if err != nil && len(k.out) == 0 {
			return 0, err
		}
	}
	n := copy(p, k.out)
	k.out = k.out[n:]
	return n, nil
}

// key puts b into out, with the key before each line that begins in it.
// out is empty: its backing array is reused.
func (k *keyedReader) key(b []byte) {
	out := k.out[:0]
	prefix := k.file() + "\t"
	for len(b) > 0 {
		if !k.midLine {
			out = append(out, prefix...)
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, b...)
			k.midLine = true
			break
		}
		out = append(out, b[:i+1]...)
		b = b[i+1:]
		k.midLine = false
	}
	k.out = out
}
