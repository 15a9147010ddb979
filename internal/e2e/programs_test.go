package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The programs of a job as a user writes them: commands with arguments,
// cmdenv, the job's working directory, the input's name, and the errors
// that say how to fix a program that cannot start. Jobs go through the
// sendjob binary, run in a job directory, as the README has it.

// sendjob runs sendjob --wait in dir against the cluster's master and
// returns what it printed, stdout and stderr.
func (c *cluster) sendjob(dir string, args ...string) (string, error) {
	c.t.Helper()
	args = append(append([]string{"--wait", "--timeout", "1m"}, args...), strconv.Itoa(c.port))
	cmd := exec.Command(filepath.Join(binDir, "sendjob"), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// writeTree writes files (name to text) under dir, with mode.
func writeTree(t *testing.T, dir string, mode os.FileMode, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// indexFiles are three files of different sizes; "lazy" is in a.txt and
// c.txt, as in the issue that found a packed split naming the wrong file.
var indexFiles = map[string]string{
	"input/a.txt": "the quick brown fox\njumps over the lazy dog\n",
	"input/b.txt": "a fox\n",
	"input/c.txt": strings.Repeat("the dog is lazy\nand sleeps all day\n", 40),
}

// indexPrograms are an inverted index's programs: a mapper that takes each
// record's file from mapreduce_map_input_file, one that takes it from the
// record's key (--input-key file), and the reducer.
var indexPrograms = map[string]string{
	"map_env.py": `#!/usr/bin/env python3
import os, sys
name = os.path.basename(os.environ["mapreduce_map_input_file"])
for line in sys.stdin:
    for word in line.split():
        print(f"{word}\t{name}")
`,
	"map_key.py": `#!/usr/bin/env python3
import os, sys
for line in sys.stdin:
    path, _, text = line.partition("\t")
    for word in text.split():
        print(f"{word}\t{os.path.basename(path)}")
`,
	"reduce.py": `#!/usr/bin/env python3
import sys
files = {}
for line in sys.stdin:
    word, name = line.rstrip("\n").split("\t")
    files.setdefault(word, set()).add(name)
for word in sorted(files):
    print(f"{word}\t{','.join(sorted(files[word]))}")
`,
}

// wantIndex is the inverted index of indexFiles.
func wantIndex() string {
	files := map[string][]string{}
	for path, text := range indexFiles {
		name := filepath.Base(path)
		for _, w := range strings.Fields(text) {
			if !slices.Contains(files[w], name) {
				files[w] = append(files[w], name)
			}
		}
	}
	var lines []string
	for w, names := range files {
		slices.Sort(names)
		lines = append(lines, w+"\t"+strings.Join(names, ","))
	}
	return sortLines(strings.Join(lines, "\n") + "\n")
}

// TestInvertedIndex: the index comes out right with several files per map
// task (each record keyed by its file, --input-key file) and with one file
// per map task (--split-per-file, mapreduce_map_input_file), on the
// shuffle's workers and on workers that take splits but no shuffle. A
// mapper that reads mapreduce_map_input_file in a task that packs files
// fails, rather than naming one file for all.
func TestInvertedIndex(t *testing.T) {
	for _, flags := range [][]string{nil, {"--shuffle=false"}} {
		t.Run(strings.Join(append([]string{"worker"}, flags...), " "), func(t *testing.T) {
			c := newCluster(t)
			c.startWorkerWith(flags)
			c.startWorkerWith(flags)
			dir := t.TempDir()
			writeTree(t, dir, 0o644, indexFiles)
			writeTree(t, dir, 0o755, indexPrograms)
			for _, run := range []struct {
				name string
				args []string
			}{
				{"several files per task, input key", []string{"--mapper", "./map_key.py", "--input-key", "file", "--num-mappers", "1"}},
				{"one file per task", []string{"--mapper", "./map_env.py", "--split-per-file", "--num-mappers", "2"}},
			} {
				out := "out-" + strings.ReplaceAll(run.name, " ", "-")
				args := append([]string{"--reducer", "./reduce.py", "--input-directory", "input", "--output-directory", out, "--num-reducers", "2"}, run.args...)
				if text, err := c.sendjob(dir, args...); err != nil {
					t.Fatalf("%s: sendjob: %v\n%s", run.name, err, text)
				}
				if got, want := sortedOutput(t, filepath.Join(dir, out)), wantIndex(); got != want {
					t.Errorf("%s: index:\n%s\nwant:\n%s", run.name, got, want)
				}
			}
			text, err := c.sendjob(dir, "--mapper", "./map_env.py", "--reducer", "./reduce.py", "--input-directory", "input",
				"--output-directory", "out-packed", "--num-mappers", "1")
			if err == nil || !strings.Contains(text, "KeyError: 'mapreduce_map_input_file'") {
				t.Errorf("a packed split's mapper that reads mapreduce_map_input_file: %v\n%s\nwant the job failed with the KeyError", err, text)
			}
		})
	}
}

// TestCmdenvGrep: --cmdenv reaches every program of the job: exec/grep
// reads its pattern from GREP_PATTERN, which the worker's environment does
// not hold.
func TestCmdenvGrep(t *testing.T) {
	c := newCluster(t)
	c.startWorker("GREP_PATTERN=nothing-matches-this")
	dir := t.TempDir()
	writeTree(t, dir, 0o644, map[string]string{"in/a.txt": "a fox\nno\nfoxes two\n", "in/b.txt": "fox\nfox\ndog\n"})
	text, err := c.sendjob(dir, "--cmdenv", "GREP_PATTERN=fox", "--cmdenv", "UNUSED=a=b",
		"--mapper-executable", filepath.Join(repoRoot, "exec/grep/map.py"), "--reducer-executable", filepath.Join(repoRoot, "exec/grep/reduce.py"),
		"--input-directory", "in", "--output-directory", "out")
	if err != nil {
		t.Fatalf("sendjob: %v\n%s", err, text)
	}
	if got, want := sortedOutput(t, filepath.Join(dir, "out")), sortLines("a fox\t1\nfox\t2\nfoxes two\t1\n"); got != want {
		t.Errorf("grep with --cmdenv GREP_PATTERN=fox gave:\n%s\nwant:\n%s", got, want)
	}
	text, err = c.sendjob(dir, "--cmdenv", "GREP-PATTERN=fox", "--output-directory", "out2")
	if err == nil || !strings.Contains(text, `cmdenv: "GREP-PATTERN": the name must be`) {
		t.Errorf("a bad --cmdenv name: %v\n%s", err, text)
	}
}

// TestCommandWithArguments: --mapper and --reducer take commands with
// arguments, split as a shell would; the programs run in the directory
// sendjob ran in, so a relative data file is found, and a bare program
// name is looked for there first. The job's environment names the job's
// numbers of map and reduce tasks.
func TestCommandWithArguments(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	c.startWorker()
	dir := t.TempDir()
	writeTree(t, dir, 0o644, map[string]string{
		"input/a.txt":   "The cat and the dog\n",
		"input/b.txt":   "a dog, a cat; the end\n",
		"stopwords.txt": "the\na\nand\n",
		// Not executable: run through python3, as its argument.
		"filter.py": `import os, sys
stop = set(open(sys.argv[1]).read().split())
sep = sys.argv[2]
for line in sys.stdin:
    for word in line.lower().replace(",", " ").replace(";", " ").split():
        if word not in stop:
            print(f"{word}{sep}1")
print(f"maps={os.environ['mapreduce_job_maps']} reduces={os.environ['mapreduce_job_reduces']}{sep}0")
`,
	})
	writeTree(t, dir, 0o755, map[string]string{"reduce.sh": "#!/bin/sh\nawk -F'\\t' '{n[$1] += $2} END {for (w in n) print w \"\\t\" n[w]}'\n"})
	// No shell runs the command: a variable in it is refused, not passed
	// on unexpanded.
	text, err := c.sendjob(dir, "--mapper", `python3 filter.py stopwords.txt "$SEP"`, "--output-directory", "out")
	if err == nil || !strings.Contains(text, "nothing is expanded here") {
		t.Errorf("a command with \"$SEP\": %v\n%s\nwant refused: nothing is expanded", err, text)
	}
	// A real tab between the quotes: the separator the reducer splits on.
	text, err = c.sendjob(dir, "--mapper", "python3 filter.py stopwords.txt '\t'", "--reducer", "reduce.sh",
		"--input-directory", "input", "--output-directory", "out2", "--num-mappers", "2", "--num-reducers", "3")
	if err != nil {
		t.Fatalf("sendjob: %v\n%s", err, text)
	}
	if got, want := sortedOutput(t, filepath.Join(dir, "out2")), sortLines("cat\t2\ndog\t2\nend\t1\nmaps=2 reduces=3\t0\n"); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

// TestTeachingErrors: a program that cannot start fails its job with a
// one-line hint that names the fix, in the error sendjob prints: a script
// without a #! line (exec format error, met by the worker), one with CRLF
// line endings, one not executable, and a program that does not exist
// (met by the master's check before any task runs).
func TestTeachingErrors(t *testing.T) {
	c := newCluster(t)
	c.startWorker()
	dir := t.TempDir()
	writeTree(t, dir, 0o644, map[string]string{"input/a.txt": "hello\n", "private.py": "#!/usr/bin/env python3\nprint('x')\n"})
	writeTree(t, dir, 0o755, map[string]string{
		"noshebang.py": "import sys\nfor line in sys.stdin:\n    print(line, end='')\n",
		"crlf.py":      "#!/usr/bin/env python3\r\nimport sys\r\nprint('x')\r\n",
	})
	for i, tc := range []struct {
		name, mapper, hint string
	}{
		{"no shebang", "./noshebang.py", "hint: the program does not start with a #! line (a shebang) naming its interpreter: add one as its first line, such as #!/usr/bin/env python3"},
		{"CRLF line endings", "./crlf.py", "hint: the program has Windows (CRLF) line endings: convert them with dos2unix " + filepath.Join(dir, "crlf.py")},
		{"not executable", "./private.py", "hint: make it executable: chmod +x " + filepath.Join(dir, "private.py")},
		{"not found", "mapper-that-is-nowhere.py", "hint: give the program's path (./mapper-that-is-nowhere.py for one in the job's working directory), or install it on the workers' PATH"},
		{"not found by path", "./nowhere.py", "hint: check the path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, err := c.sendjob(dir, "--mapper", tc.mapper, "--reducer", "cat", "--input-directory", "input",
				"--output-directory", "out-"+strconv.Itoa(i))
			if err == nil || !strings.Contains(text, tc.hint) {
				t.Errorf("sendjob: %v\n%s\nwant the job failed with %q", err, text, tc.hint)
			}
		})
	}
}

// TestProgramsNeedTheirWorker: a job whose programs need the program
// field (here --cmdenv) is not given to a reference-only worker, which
// would drop it: it waits, and runs once one of our workers joins.
func TestProgramsNeedTheirWorker(t *testing.T) {
	c := newCluster(t)
	c.startReferenceWorker()
	dir := t.TempDir()
	writeTree(t, dir, 0o644, map[string]string{"in/a.txt": "a fox\nno\n"})
	cmd := exec.Command(filepath.Join(binDir, "sendjob"), "--wait", "--timeout", "1m", "--cmdenv", "GREP_PATTERN=fox",
		"--mapper-executable", filepath.Join(repoRoot, "exec/grep/map.py"), "--reducer-executable", filepath.Join(repoRoot, "exec/grep/reduce.py"),
		"--input-directory", "in", "--output-directory", "out", strconv.Itoa(c.port))
	cmd.Dir = dir
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.waitLog(c.master, "tasks wait for a worker that can run them", `"needs_programs":true`)
	c.startWorker()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sendjob: %v\n%s", err, out.String())
	}
	if got, want := sortedOutput(t, filepath.Join(dir, "out")), sortLines("a fox\t1\n"); got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}
