// Package program is the one home of how a job's programs are named,
// found and explained when they fail to start: a command split into words
// as a shell would split it (without a shell), a bare name looked up in
// the job's working directory and then on PATH, and the one-line hints
// for the mistakes a newcomer makes (no shebang, CRLF line endings, no
// execute permission, no such program).
package program

import (
	"errors"
	"fmt"
	"strings"
)

// Split splits command into words as a POSIX shell splits a simple
// command, without running one: blanks separate words; 'single quotes'
// keep everything literally; "double quotes" keep everything but a
// backslash before $ ` " \ or a newline; a backslash outside quotes keeps
// the next character (and a backslash-newline joins lines). Nothing is
// expanded: an unquoted character that a shell would treat specially
// ($ ` | & ; < > ( )) is an error that says to quote it or to run a shell,
// rather than a word passed on that does not do what it says.
func Split(command string) ([]string, error) {
	var words []string
	var word strings.Builder
	inWord := false
	end := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	rs := []rune(command)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			end()
		case c == '\\':
			if i+1 == len(rs) {
				return nil, errors.New("the command ends with a backslash that escapes nothing")
			}
			i++
			if rs[i] != '\n' {
				word.WriteRune(rs[i])
				inWord = true
			}
		case c == '\'':
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unterminated single quote at character %d", i+1)
			}
			word.WriteString(string(rs[i+1 : j]))
			inWord = true
			i = j
		case c == '"':
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) && strings.ContainsRune("$`\"\\\n", rs[j+1]) {
					j++
					if rs[j] != '\n' {
						word.WriteRune(rs[j])
					}
					continue
				}
				if rs[j] == '$' || rs[j] == '`' {
					return nil, fmt.Errorf("%q inside double quotes at character %d: nothing is expanded here (no shell runs the command); put it in single quotes, or give the value with --cmdenv", rs[j], j+1)
				}
				word.WriteRune(rs[j])
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unterminated double quote at character %d", i+1)
			}
			inWord = true
			i = j
		case strings.ContainsRune("$`|&;<>()", c):
			return nil, fmt.Errorf("unquoted %q at character %d: the command is split into words, not run by a shell; quote it, or run a shell yourself: sh -c '...'", c, i+1)
		default:
			word.WriteRune(c)
			inWord = true
		}
	}
	end()
	if len(words) == 0 {
		return nil, errors.New("the command is empty")
	}
	return words, nil
}

// Join quotes words so that Split gives them back: for messages and logs
// that show a command.
func Join(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		if w != "" && !strings.ContainsAny(w, " \t\n'\"\\$`|&;<>()*?[]#~=%{}") {
			quoted[i] = w
		} else {
			quoted[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}
