package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readmeSection is the README section that TestReadmeOwnJob follows.
const readmeSection = "## Write your own job"

// readmeBlock is one fenced block of the section: a shell block to run,
// with the text its output must end with (a text block right after it:
// what its last command prints), or that must fail (a
// <!-- readme-test: fails --> line right before it).
type readmeBlock struct {
	script, want string
	fails        bool
}

// readmeBlocks parses the section's sh and text blocks, in order. Other
// blocks (console: shown, not run) and prose are skipped.
func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n"+readmeSection+"\n")
	if start < 0 {
		t.Fatalf("README.md has no %q section", readmeSection)
	}
	text = text[start+1:]
	if end := strings.Index(text[len(readmeSection):], "\n## "); end >= 0 {
		text = text[:len(readmeSection)+end]
	}
	var blocks []readmeBlock
	lines := strings.Split(text, "\n")
	fails, lastWasSh := false, false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case strings.TrimSpace(line) == "<!-- readme-test: fails -->":
			fails = true
			continue
		case strings.HasPrefix(line, "```"):
			lang := strings.TrimPrefix(line, "```")
			var body []string
			for i++; i < len(lines) && lines[i] != "```"; i++ {
				body = append(body, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("README: unterminated %s block in %q", line, readmeSection)
			}
			content := strings.Join(body, "\n") + "\n"
			switch {
			case lang == "sh":
				blocks = append(blocks, readmeBlock{script: content, fails: fails})
				lastWasSh = true
			case lang == "text" && lastWasSh:
				blocks[len(blocks)-1].want = content
				lastWasSh = false
			default:
				lastWasSh = false
			}
			fails = false
			continue
		case strings.TrimSpace(line) != "":
			lastWasSh = false
		}
		if strings.TrimSpace(line) != "" {
			fails = false
		}
	}
	return blocks
}

// TestReadmeOwnJob follows the README's "Write your own job" literally:
// in a scratch copy of the repository's layout (bin/ holds the binaries
// under test, exec/ the sample programs), with a master and two workers
// up, it runs each sh block in order with bash, in the directory the
// blocks before it left, and checks that each exits 0 and that its output
// ends with its text block, or, marked to fail, fails and names the command that prints the
// tasks' logs, which then shows the program's error. The README's port,
// 6000, is replaced by the test cluster's.
func TestReadmeOwnJob(t *testing.T) {
	blocks := readmeBlocks(t)
	if len(blocks) < 5 {
		t.Fatalf("found %d sh blocks in %q; the parser or the README changed", len(blocks), readmeSection)
	}
	c := newCluster(t)
	c.startWorker()
	c.startWorker()
	root := t.TempDir()
	for name, target := range map[string]string{"bin": binDir, "exec": filepath.Join(repoRoot, "exec")} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	cwdFile := filepath.Join(t.TempDir(), "cwd")
	port := regexp.MustCompile(`\b6000\b`)
	dir := root
	for i, b := range blocks {
		script := "set -e\ncd " + strconv.Quote(dir) + "\n" + port.ReplaceAllString(b.script, strconv.Itoa(c.port)) +
			"pwd > " + strconv.Quote(cwdFile) + "\n"
		cmd := exec.Command("bash", "-c", script)
		out, err := cmd.CombinedOutput()
		text := string(out)
		switch {
		case b.fails && err == nil:
			t.Fatalf("block %d ran, but the README says it fails:\n%s\nprinted:\n%s", i, b.script, text)
		case b.fails:
			logs := regexp.MustCompile(`the tasks' logs: sendjob (--logs \d+ \d+)`).FindStringSubmatch(text)
			if logs == nil {
				t.Fatalf("block %d failed without naming the command for the tasks' logs:\n%s", i, text)
			}
			cmd := exec.Command("bash", "-c", "../bin/sendjob "+logs[1])
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "IndexError: list index out of range") {
				t.Errorf("the printed command %q: %v\n%s\nwant the mapper's traceback", logs[0], err, out)
			}
			continue
		case err != nil:
			t.Fatalf("block %d failed: %v\n%s\nprinted:\n%s", i, err, b.script, text)
		case !strings.HasSuffix(text, b.want):
			t.Errorf("block %d printed:\n%s\nthe README says:\n%s\n(block:\n%s)", i, text, b.want, b.script)
		}
		cwd, err := os.ReadFile(cwdFile)
		if err != nil {
			t.Fatal(err)
		}
		dir = strings.TrimSpace(string(cwd))
	}
}
