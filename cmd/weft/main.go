// Command weft turns Windows event logs into detections: it reads EVTX files
// and rendered event XML, normalizes Sysmon events to ECS, runs Elastic EQL
// rules as a streaming correlator over NATS, and delivers alerts.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, documented in the README.
const (
	exitOK      = 0
	exitFailure = 1 // weft could not do its job: unreadable config, no input readable, bus failure
	exitUsage   = 2 // the command line is wrong
	exitStrict  = 3 // --strict and some input had to be skipped
)

func main() {
	// golang-evtx writes a line, often a stack trace, to the standard logger
	// for every damaged record; the collector reports those itself, located.
	log.SetOutput(io.Discard)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func codeOf(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailure
}
