package worker

import (
	"bytes"
	"io"
)

// keyedReader gives each line of src prefixed with the path of the file
// it comes from and a tab (protocol.InputKeyFile), as Hadoop gives a
// mapper the key its input format made: a mapper reads FILE<tab>LINE
// however its split packs files. file names the file of the bytes src's
// last Read gave. It holds one buffer of src's bytes and one key,
// however short the lines.
type keyedReader struct {
	src  io.Reader
	file func() string
	buf  []byte
	// in is what was read from src and not yet given out, from file
	// name; key is name and a tab, and prefix what is left to give of it
	// before the line being given; midLine: the next byte of in is not
	// the start of a line.
	in      []byte
	name    string
	key     []byte
	prefix  []byte
	midLine bool
	err     error
}

func newKeyedReader(src io.Reader, file func() string) *keyedReader {
	return &keyedReader{src: src, file: file, buf: make([]byte, 32<<10)}
}

func (k *keyedReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case len(k.prefix) > 0:
			c := copy(p[n:], k.prefix)
			k.prefix = k.prefix[c:]
			n += c
		case len(k.in) == 0:
			if n > 0 {
				return n, nil
			}
			if k.err != nil {
				return 0, k.err
			}
			m, err := k.src.Read(k.buf)
			k.in, k.err = k.buf[:m], err
			if m > 0 {
				if name := k.file(); name != k.name || k.key == nil {
					k.name, k.key = name, append([]byte(name), '\t')
				}
			}
		case !k.midLine:
			k.prefix, k.midLine = k.key, true
		default:
			end := len(k.in)
			if i := bytes.IndexByte(k.in, '\n'); i >= 0 {
				end = i + 1
			}
			c := copy(p[n:], k.in[:end])
			if c == end && k.in[end-1] == '\n' {
				k.midLine = false
			}
			k.in = k.in[c:]
			n += c
		}
	}
	return n, nil
}
