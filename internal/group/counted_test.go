package group

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// TestWriter writes lines with counts in both forms: plain, every copy
// written out; counted, one record per line, equal lines in a row added
// together, and read back by parseRecord.
func TestWriter(t *testing.T) {
	long := strings.Repeat("x", 100)
	type add struct {
		line  string
		count int64
	}
	tests := []struct {
		name string
		adds []add
		// records is the counted form.
		records string
	}{
		{"nothing", nil, ""},
		{"one line", []add{{"a\t1", 1}}, "1 a\t1\n"},
		{"empty line", []add{{"", 2}}, "2 \n"},
		{"spaces and digits", []add{{"12 34", 1}, {" 5\t6 ", 3}}, "1 12 34\n3  5\t6 \n"},
		{"equal lines in a row", []add{{"a", 1}, {"a", 4}, {"b", 1}, {"a", 2}}, "5 a\n1 b\n2 a\n"},
		{"many copies", []add{{"the\t1", 100_000}}, "100000 the\t1\n"},
		{"longer than the buffer", []add{{long, 3}, {"z", 1}}, "3 " + long + "\n1 z\n"},
		{"copies filling the buffer unevenly", []add{{"abc", 37}, {long[:9], 29}}, "37 abc\n29 " + long[:9] + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var plain, counted bytes.Buffer
			// A small buffer: copies and records cross its end.
			pw := NewWriter(bufio.NewWriterSize(&plain, 32), false)
			cw := NewWriter(bufio.NewWriterSize(&counted, 32), true)
			var want strings.Builder
			for _, a := range tt.adds {
				if err := pw.Add([]byte(a.line), a.count); err != nil {
					t.Fatal(err)
				}
				if err := cw.Add([]byte(a.line), a.count); err != nil {
					t.Fatal(err)
				}
				want.WriteString(strings.Repeat(a.line+"\n", int(a.count)))
			}
			if err := pw.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := cw.Flush(); err != nil {
				t.Fatal(err)
			}
			if plain.String() != want.String() {
				t.Errorf("plain: %d bytes %.40q, want %d bytes %.40q", plain.Len(), plain.String(), want.Len(), want.String())
			}
			if counted.String() != tt.records {
				t.Errorf("counted: %q, want %q", counted.String(), tt.records)
			}
			if got := writtenOut(t, counted.Bytes()); string(got) != want.String() {
				t.Errorf("records read back: %.40q, want %.40q", got, want.String())
			}
		})
	}
}

func TestParseRecord(t *testing.T) {
	for _, tt := range []struct {
		rec   string
		line  string
		count int64
		ok    bool
	}{
		{"1 a", "a", 1, true},
		{"12 a b\tc", "a b\tc", 12, true},
		{"3 ", "", 3, true},
		{"1099511627776 x", "x", maxRecordCount, true},
		{"1099511627777 x", "", 0, false}, // past maxRecordCount
		{"99999999999999 x", "", 0, false},
		{"0 a", "", 0, false},
		{"a", "", 0, false},
		{"", "", 0, false},
		{" a", "", 0, false},
		{"1a b", "", 0, false},
		{"-1 a", "", 0, false},
	} {
		line, count, err := parseRecord([]byte(tt.rec))
		if (err == nil) != tt.ok || string(line) != tt.line || count != tt.count {
			t.Errorf("parseRecord(%q) = %q, %d, %v; want %q, %d, ok %v", tt.rec, line, count, err, tt.line, tt.count, tt.ok)
		}
	}
}

// TestWriterCountsStayBounded: equal lines whose counts would add past
// maxRecordCount take a second record.
func TestWriterCountsStayBounded(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(bufio.NewWriter(&b), true)
	w.Add([]byte("a"), maxRecordCount-1)
	w.Add([]byte("a"), 2)
	w.Flush()
	if want := "1099511627775 a\n2 a\n"; b.String() != want {
		t.Errorf("wrote %q, want %q", b.String(), want)
	}
}
