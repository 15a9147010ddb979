// Command sendjob posts a job to a MapReduce master, asks it for the state
// of its jobs, or shuts it down: sendjob [flags] PORT.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/pflag"

	"mapreduce/internal/secret"
	"mapreduce/internal/usage"
	"mapreduce/internal/version"
	"mapreduce/protocol"
)

func main() {
	var o options
	pflag.StringVar(&o.host, "host", "localhost", "the master's host")
	pflag.StringVar(&o.job.InputDirectory, "input-directory", "input", "directory of input files")
	pflag.StringVar(&o.job.OutputDirectory, "output-directory", "output", "directory for the reducers' output")
	pflag.StringVar(&o.job.MapperExecutable, "mapper-executable", "exec/word_count/map.py", "map program")
	pflag.StringVar(&o.job.ReducerExecutable, "reducer-executable", "exec/word_count/reduce.py", "reduce program (none by default for a map-only job, --num-reducers 0)")
	pflag.StringVar(&o.job.CombinerExecutable, "combiner-executable", "", "optional combiner, run over each sorted map output before the merge (like Hadoop Streaming's -combiner)")
	pflag.StringVar(&o.commands.mapper, "mapper", "", `map command, split into words as a shell would, without one: --mapper "python3 m.py stopwords.txt" (instead of --mapper-executable)`)
	pflag.StringVar(&o.commands.reducer, "reducer", "", "reduce command, as --mapper (instead of --reducer-executable)")
	pflag.StringVar(&o.commands.combiner, "combiner", "", "combine command, as --mapper (instead of --combiner-executable)")
	pflag.StringArrayVar(&o.job.Cmdenv, "cmdenv", nil, "NAME=VALUE added to every program's environment (repeatable), as Hadoop Streaming's -cmdenv")
	pflag.StringVar(&o.job.InputKey, "input-key", "", `"file": the mapper reads each record as FILE<tab>LINE, FILE the path of the input file it comes from`)
	pflag.BoolVar(&o.job.SplitPerFile, "split-per-file", false, "give each input file map tasks of its own (never pack files into one map task), so that mapreduce_map_input_file is always set")
	pflag.IntVar(&o.job.NumMappers, "num-mappers", 2, "number of map tasks")
	pflag.IntVar(&o.job.NumReducers, "num-reducers", 2, "number of reduce tasks; 0 for a map-only job, whose outputs are the mappers' (unsorted)")
	pflag.BoolVar(&o.wait, "wait", false, "wait for the job to end, showing its progress; exit non-zero if it fails")
	pflag.DurationVar(&o.timeout, "timeout", 0, "with --wait, give up after this long (0: never)")
	pflag.DurationVar(&o.reconnect, "reconnect-for", 2*time.Minute, "keep trying for this long a master that drops connections unread (busy: at its connection bound); with --wait, once the job is queued, one that cannot be reached or does not answer too (one restarting keeps its jobs). A port where nothing listens fails --status and a submit at once")
	pflag.BoolVar(&o.status, "status", false, "print the state of the jobs (or of job ID, given after PORT) and workers")
	pflag.BoolVar(&o.json, "json", false, "with --status, print the master's answer as JSON (the job_status reply, tasks included) instead of tables")
	pflag.BoolVar(&o.shutdown, "shutdown", false, "shut the master and its workers down")
	pflag.BoolVar(&o.cancel, "cancel", false, "cancel job ID (given after PORT), queued or running; its programs are killed")
	pflag.BoolVar(&o.logs, "logs", false, "print what job ID's tasks wrote to stderr, or task TASK's (map-0, reduce-1, ...): sendjob --logs PORT ID [TASK]")
	secretFlag := secret.AddFlag(pflag.CommandLine)
	showVersion := pflag.Bool("version", false, "print the version and exit")
	usage.Parse("sendjob", "usage: sendjob [flags] PORT\n       sendjob --status [--json] PORT [ID]\n       sendjob --cancel PORT ID\n       sendjob --logs PORT ID [TASK]\n       sendjob --shutdown PORT")
	if err := o.commands.apply(&o.job, pflag.CommandLine.Changed); err != nil {
		usage.Fail("sendjob", "%v", err)
	}
	if *showVersion {
		fmt.Println(version.String("sendjob"))
		return
	}
	if o.job.NumReducers == 0 && !pflag.CommandLine.Changed("reducer-executable") {
		o.job.ReducerExecutable = "" // a map-only job runs no reducer: none is checked
	}
	modes := 0
	for _, on := range []bool{o.status, o.cancel, o.logs, o.shutdown, o.wait} {
		if on {
			modes++
		}
	}
	switch {
	case modes > 1:
		usage.Fail("sendjob", "--status, --cancel, --logs, --shutdown and --wait go one at a time")
	case o.json && !o.status:
		usage.Fail("sendjob", "--json goes with --status")
	case pflag.NArg() >= 2 && !o.status && !o.cancel && !o.logs:
		usage.Fail("sendjob", "unexpected argument %q: a job ID goes with --status, --cancel or --logs", pflag.Arg(1))
	case (o.cancel || o.logs) && pflag.NArg() < 2:
		usage.Fail("sendjob", "--cancel and --logs need the job ID after PORT")
	case o.logs && pflag.NArg() == 3:
		o.task = pflag.Arg(2)
	case pflag.NArg() < 1:
		usage.Fail("sendjob", "want the master's PORT")
	case pflag.NArg() > 2:
		usage.Fail("sendjob", "too many arguments: %q", pflag.Args())
	}
	port, err := strconv.Atoi(pflag.Arg(0))
	if err != nil {
		usage.Fail("sendjob", "bad PORT %q", pflag.Arg(0))
	}
	o.port = port
	if pflag.NArg() >= 2 {
		id, err := strconv.Atoi(pflag.Arg(1))
		if err != nil {
			usage.Fail("sendjob", "bad job ID %q", pflag.Arg(1))
		}
		o.jobID = &id
	}
	key, _, err := secretFlag.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendjob:", err)
		os.Exit(2)
	}
	if key != nil {
		// sendjob listens for nothing: it takes only the answers to its
		// requests, all to the master.
		o.tcp.Auth, o.tcp.Master = protocol.NewAuth(key, protocol.Self{}), o.addr()
	}
	o.terminal = isatty.IsTerminal(os.Stdout.Fd())
	if err := o.run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sendjob:", err)
		os.Exit(1)
	}
}

// --wait asks for the job's progress with wait_ms: our master answers as
// soon as it changes, or after statusWait. A master that answers at once
// whatever wait_ms says is polled instead, a tenth of the time waited so
// far apart, within these bounds: a job's end is seen within 20 ms, a
// short job's at once. A poll asks for the job without its tasks (brief),
// which costs the master little.
const (
	statusWait = 2000 // ms
	minPoll    = 5 * time.Millisecond
	maxPoll    = 20 * time.Millisecond
)
