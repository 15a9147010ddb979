// Package logging builds the zerolog logger every command uses: JSON lines
// on stderr, or a human console format on request or on a terminal.
package logging

import (
	"fmt"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// New returns a logger at level ("debug", "info", "warn", "error") in
// format ("json", "console" or "auto": console on a terminal).
func New(name, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("log level: %w", err)
	}
	var console bool
	switch format {
	case "json":
	case "console":
		console = true
	case "auto":
		console = isatty.IsTerminal(os.Stderr.Fd())
	default:
		return zerolog.Logger{}, fmt.Errorf("log format %q: want json, console or auto", format)
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	var log zerolog.Logger
	if console {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"})
	} else {
		log = zerolog.New(os.Stderr)
	}
	return log.Level(lvl).With().Timestamp().Str("node", name).Logger(), nil
}
