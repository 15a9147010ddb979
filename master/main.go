// Command master runs the MapReduce master: master PORT.
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"mapreduce/internal/fdnode"
	"mapreduce/internal/logging"
	"mapreduce/internal/master"
	"mapreduce/internal/profile"
	"mapreduce/internal/secret"
	"mapreduce/internal/stopsignal"
	"mapreduce/internal/usage"
	"mapreduce/internal/version"
)

func main() {
	cfg := master.DefaultConfig(0)
	sc := &cfg.Scheduler
	pflag.StringVar(&cfg.Host, "host", cfg.Host, "address to listen on (one other machines reach needs a secret, or --insecure)")
	pflag.StringVar(&cfg.AdvertiseHost, "advertise-host", "", "host others reach this master at, in the addresses it prints (default: --host, or this host's name if --host is 0.0.0.0 or ::)")
	secretFlag := secret.AddFlag(pflag.CommandLine)
	pflag.BoolVar(&cfg.Insecure, "insecure", false, "allow listening where other machines reach the master without a secret (anyone who reaches it can then run programs as this user)")
	pflag.StringVar(&sc.VarDir, "var", sc.VarDir, "directory for job files and the journal; a master locks it, and takes up the jobs its journal kept; refused if a master did not make it (it holds .mapreduce-var)")
	pflag.BoolVar(&cfg.Fresh, "fresh", false, "empty --var and its journal first: forget the jobs of an earlier master (job ids still count on)")
	pflag.BoolVar(&sc.KeepIntermediates, "keep-intermediates", false, "keep each job's directory under --var when the job ends, for debugging (removed by default)")
	pflag.DurationVar(&sc.HeartbeatInterval, "heartbeat-interval", sc.HeartbeatInterval, "how often workers send heartbeats")
	pflag.IntVar(&sc.MissedHeartbeats, "missed-heartbeats", sc.MissedHeartbeats, "heartbeat intervals without one before a worker is dead")
	pflag.DurationVar(&sc.AckRetry, "ack-retry", sc.AckRetry, "how long to keep trying to deliver register_ack")
	pflag.StringVar(&cfg.HTTPAddr, "http", "", "serve the status page on this address, e.g. localhost:8080 (off if empty)")
	pflag.BoolVar(&sc.Speculate, "speculate", false, "run a copy of a straggling task on an idle worker; the first to finish wins")
	pflag.DurationVar(&sc.SpeculateAfter, "speculate-after", sc.SpeculateAfter, "with --speculate, the least a task runs before it is copied (and at least 1.5x the median of its stage's finished tasks)")
	pflag.DurationVar(&sc.TaskTimeout, "task-timeout", sc.TaskTimeout, "end an attempt that makes no progress for this long (doubled for each further attempt of its task)")
	pflag.IntVar(&sc.MaxAttempts, "max-attempts", sc.MaxAttempts, "attempts of a task that may time out, or fail for a fault of their worker's own, before its job fails")
	pflag.IntVar(&sc.ExcludeAfter, "exclude-after", sc.ExcludeAfter, "failures of a worker's own (its disk, its files) within --exclude-window that exclude it: it takes no task for --exclude-for")
	pflag.DurationVar(&sc.ExcludeWindow, "exclude-window", sc.ExcludeWindow, "how recent a worker's failures of its own must be to count towards --exclude-after")
	pflag.DurationVar(&sc.ExcludeFor, "exclude-for", sc.ExcludeFor, "how long an excluded worker takes no task; then it is given its chance again")
	pflag.DurationVar(&sc.ForgetDeadAfter, "forget-dead-after", sc.ForgetDeadAfter, "how long a dead worker stays listed before it is forgotten (a reference-only worker forgotten must register again)")
	pflag.IntVar(&sc.KeepLogs, "keep-logs", sc.KeepLogs, "how many ended jobs keep their task logs (the newest; sendjob --logs)")
	showVersion := pflag.Bool("version", false, "print the version and exit")
	stdio := pflag.Bool("stdio", false, "run the failure-detector node on stdin/stdout instead (no PORT)")
	cpuProfile := pflag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	level := pflag.String("log-level", "info", "log level: debug, info, warn, error")
	format := pflag.String("log-format", "auto", "log format: json, console, or auto (console on a terminal)")
	usage.Parse("master", "usage: master [flags] PORT\n       master --stdio")
	if *showVersion {
		fmt.Println(version.String("master"))
		return
	}

	if *stdio {
		if err := fdnode.Run(os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "master:", err)
			os.Exit(1)
		}
		return
	}
	if pflag.NArg() != 1 {
		usage.Fail("master", "want one argument, PORT; got %d", pflag.NArg())
	}
	port, err := strconv.Atoi(pflag.Arg(0))
	if err != nil || port < 2 || port > 65535 {
		usage.Fail("master", "bad PORT %q", pflag.Arg(0))
	}
	cfg.Port = port
	var secretFrom string
	if cfg.Secret, secretFrom, err = secretFlag.Load(); err != nil {
		fmt.Fprintln(os.Stderr, "master:", err)
		os.Exit(2)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "master:", err)
		os.Exit(2)
	}
	log, err := logging.New("master", *level, *format)
	if err != nil {
		fmt.Fprintln(os.Stderr, "master:", err)
		os.Exit(2)
	}
	if secretFrom != "" {
		log.Info().Str("secret_file", secretFrom).Msg("messages are authenticated")
	}
	stopProfile, err := profile.Start(*cpuProfile)
	if err != nil {
		log.Error().Err(err).Msg("master stopped")
		os.Exit(1)
	}
	err = run(cfg, log)
	stopProfile()
	if err != nil {
		log.Error().Err(err).Msg("master stopped")
		os.Exit(1)
	}
}

// run serves until a shutdown message, or until SIGINT or SIGTERM, which
// stop the master cleanly and leave its workers for the next one.
func run(cfg master.Config, log zerolog.Logger) error {
	srv, err := master.Start(cfg, log)
	if err != nil {
		return err
	}
	stopsignal.OnStop(log, srv.Stop)
	srv.Wait()
	return nil
}
