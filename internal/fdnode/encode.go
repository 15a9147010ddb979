package fdnode

import (
	"fmt"
	"strings"
	"unicode/utf16"
)

// The failure-detector spec's expected output (an exercise's, not in this repository) is
// what Python's json.dumps writes with its defaults: ", " and ": " separators, keys in insertion order and
// ensure_ascii escaping. encoding/json spaces and escapes differently, so
// replies are written by the few functions below.

// field is one key of a reply object and its value, already encoded as JSON.
type field struct {
	key   string
	value string
}

// object encodes fields, in order, as a JSON object.
func object(fields ...field) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(f.key))
		b.WriteString(": ")
		b.WriteString(f.value)
	}
	b.WriteByte('}')
	return b.String()
}

// stringList encodes ss as a JSON array of strings; nil gives [].
func stringList(ss []string) string {
	quoted := make([]string, len(ss))
	for i, s := range ss {
		quoted[i] = quote(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// quote encodes s as a JSON string the way Python's json.dumps does with
// ensure_ascii: printable ASCII as is, the usual short escapes, and every
// other character as \uXXXX (lower-case hex, a surrogate pair beyond the
// Basic Multilingual Plane).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r >= ' ' && r <= '~':
			b.WriteRune(r)
		case r > 0xFFFF:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, hi, lo)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
