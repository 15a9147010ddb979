// Command worker runs a MapReduce worker: worker MASTER_PORT WORKER_PORT.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"mapreduce/internal/bytesize"
	"mapreduce/internal/logging"
	"mapreduce/internal/profile"
	"mapreduce/internal/secret"
	"mapreduce/internal/stopsignal"
	"mapreduce/internal/usage"
	"mapreduce/internal/version"
	"mapreduce/internal/worker"
)

// memoryHeadroom is the Go heap a worker may use beyond its sort budget:
// buffers, messages, and the garbage of a sort's growing buffers.
const memoryHeadroom = 48 << 20

func main() {
	cfg := worker.DefaultConfig(0, 0)
	pflag.StringVar(&cfg.MasterHost, "master-host", cfg.MasterHost, "the master's host")
	pflag.StringVar(&cfg.Host, "host", cfg.Host, "address to listen on")
	pflag.StringVar(&cfg.AdvertiseHost, "advertise-host", "", "host the master reaches this worker at (default: --host, or this host's name if --host is 0.0.0.0 or ::)")
	secretFlag := secret.AddFlag(pflag.CommandLine)
	pflag.BoolVar(&cfg.Insecure, "insecure", false, "allow listening where other machines reach the worker without a secret (anyone who reaches it can then run programs as this user)")
	pflag.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", cfg.HeartbeatInterval, "how often to send a heartbeat")
	pflag.DurationVar(&cfg.RegisterTimeout, "register-timeout", cfg.RegisterTimeout, "how long to keep trying to register, or to deliver a status")
	pflag.IntVar(&cfg.Parallel, "parallel", cfg.Parallel, "how many executables to run at once")
	pflag.StringVar(&cfg.LocalDir, "local-dir", "", "the worker's own directory, for the runs it keeps for the shuffle; wiped when the worker starts, so it must be missing, empty or a worker's (default: mapreduce-worker-PORT in the temporary directory)")
	pflag.BoolVar(&cfg.KeepIntermediates, "keep-intermediates", false, "keep a job's runs in --local-dir after the job ends")
	pflag.BoolVar(&cfg.Shuffle, "shuffle", cfg.Shuffle, "take part in the shuffle between workers: keep map outputs in --local-dir and fetch reducers' inputs from the workers that hold them, so that workers share no var directory (a job uses it when every live worker has it; --shuffle=false for the reference path's sort tasks and merge)")
	pflag.Var((*bytesize.Size)(&cfg.SortMemory), "sort-memory", "how much of its lines a sort task holds in memory before spilling sorted runs to disk (bytes, or 256MiB, 1GiB...)")
	showVersion := pflag.Bool("version", false, "print the version and exit")
	pflag.IntVar(&cfg.DropTasks, "drop-tasks", 0, "for tests: drop the first N task messages, as a network that loses them would")
	pflag.CommandLine.MarkHidden("drop-tasks")
	pflag.BoolVar(&cfg.NoCgroups, "no-cgroups", false, "for tests: track the processes programs start through /proc, not in a cgroup per program, even where the worker may make cgroups")
	pflag.CommandLine.MarkHidden("no-cgroups")
	cpuProfile := pflag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	level := pflag.String("log-level", "info", "log level: debug, info, warn, error")
	format := pflag.String("log-format", "auto", "log format: json, console, or auto (console on a terminal)")
	usage.Parse("worker", "usage: worker [flags] MASTER_PORT WORKER_PORT")
	if *showVersion {
		fmt.Println(version.String("worker"))
		return
	}
	if pflag.NArg() != 2 {
		usage.Fail("worker", "want two arguments, MASTER_PORT and WORKER_PORT; got %d", pflag.NArg())
	}
	var err error
	if cfg.MasterPort, err = strconv.Atoi(pflag.Arg(0)); err != nil {
		usage.Fail("worker", "bad MASTER_PORT %q", pflag.Arg(0))
	}
	if cfg.Port, err = strconv.Atoi(pflag.Arg(1)); err != nil {
		usage.Fail("worker", "bad WORKER_PORT %q", pflag.Arg(1))
	}
	var secretFrom string
	if cfg.Secret, secretFrom, err = secretFlag.Load(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
	log, err := logging.New("worker", *level, *format)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
	if secretFrom != "" {
		log.Info().Str("secret_file", secretFrom).Msg("messages are authenticated")
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// Make the garbage collector run before the heap grows far past the
		// sort's budget, rather than at twice what is live.
		debug.SetMemoryLimit(cfg.SortMemory + memoryHeadroom)
	}
	stopProfile, err := profile.Start(*cpuProfile)
	if err != nil {
		log.Error().Err(err).Msg("worker stopped")
		os.Exit(1)
	}
	err = run(cfg, log)
	stopProfile()
	if err != nil {
		log.Error().Err(err).Msg("worker stopped")
		os.Exit(1)
	}
}

// run serves until a shutdown message, or until SIGINT or SIGTERM, which
// stop the worker cleanly: its programs are killed before it exits.
func run(cfg worker.Config, log zerolog.Logger) error {
	w, err := worker.Start(cfg, log)
	if err != nil {
		return err
	}
	stopsignal.OnStop(log, w.Stop)
	w.Wait()
	return nil
}
