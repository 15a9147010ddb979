// Package stopsignal turns SIGINT and SIGTERM into a clean stop.
package stopsignal

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"
)

// OnStop calls stop, once, when the process gets SIGINT or SIGTERM.
func OnStop(log zerolog.Logger, stop func()) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-signals
		log.Info().Str("signal", sig.String()).Msg("stopping")
		stop()
	}()
}
