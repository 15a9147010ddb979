package program

import (
	"slices"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: "map.py", want: []string{"map.py"}},
		{in: "  python3   m.py\t-n 2 ", want: []string{"python3", "m.py", "-n", "2"}},
		{in: `grep -e 'a b'`, want: []string{"grep", "-e", "a b"}},
		{in: `grep -e "a b"`, want: []string{"grep", "-e", "a b"}},
		{in: `echo 'it''s'`, want: []string{"echo", "its"}},
		{in: `echo "it's"`, want: []string{"echo", "it's"}},
		{in: `echo 'a "b" \n $x'`, want: []string{"echo", `a "b" \n $x`}},
		{in: `echo "a \"b\" \\ \n \$x"`, want: []string{"echo", `a "b" \ \n $x`}},
		{in: `echo a\ b \'c\' \$`, want: []string{"echo", "a b", "'c'", "$"}},
		{in: `echo '' ""`, want: []string{"echo", "", ""}},
		{in: `a"b"'c'd`, want: []string{"abcd"}},
		{in: "a \\\nb", want: []string{"a", "b"}},
		{in: `echo '|' "<>" \;`, want: []string{"echo", "|", "<>", ";"}},
		{in: `café 'naïve'`, want: []string{"café", "naïve"}},
		{in: `awk '{print $1}'`, want: []string{"awk", "{print $1}"}},
		{in: "", err: "empty"},
		{in: "   ", err: "empty"},
		{in: `grep 'abc`, err: "unterminated single quote at character 6"},
		{in: `grep "abc`, err: "unterminated double quote at character 6"},
		{in: `grep "a\"`, err: "unterminated double quote"},
		{in: `grep abc\`, err: "ends with a backslash"},
		{in: `cut -f1 | sort`, err: `unquoted '|' at character 9`},
		{in: `map.py > out`, err: `unquoted '>'`},
		{in: `echo $HOME`, err: `unquoted '$'`},
		{in: `echo "$HOME"`, err: `'$' inside double quotes`},
		{in: "a; b", err: `unquoted ';'`},
	} {
		got, err := Split(c.in)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("Split(%q) = %q, %v; want an error with %q", c.in, got, err, c.err)
		case c.err == "" && (err != nil || !slices.Equal(got, c.want)):
			t.Errorf("Split(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestJoinSplits(t *testing.T) {
	for _, words := range [][]string{
		{"python3", "m.py"},
		{"grep", "-e", "a b", "it's", "", `\$"x"`, "|", "naïve"},
	} {
		got, err := Split(Join(words))
		if err != nil || !slices.Equal(got, words) {
			t.Errorf("Split(Join(%q)) = %q, %v (joined %s)", words, got, err, Join(words))
		}
	}
}
