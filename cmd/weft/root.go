package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/internal/logagg"
)

// app holds what every command shares: streams, logging and bus flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	logLevel  string
	logFormat string
	log       zerolog.Logger
	// logAggs sum up repeated log lines, one per setupLog; closed when
	// the command ends.
	logAggs []*logagg.Writer

	// busReady, when set, sees the bus as soon as it is open (tests watch
	// the subjects with it).
	busReady func(*bus.Bus)
	// metricsReady, when set, sees the address of the metrics listener
	// ("" when --metrics-optional let weft run without one).
	metricsReady func(addr string)
	// hangup, when set, stands for SIGHUP (tests send on it).
	hangup chan os.Signal

	// telemetry flags of the long-running commands.
	metricsListen   string
	metricsOptional bool
	readyMaxPending uint64
	// stageConfig is the config of weft normalize --serve.
	stageConfig string
	// sigma chooses the Sigma rules loaded (sigma.go).
	sigma sigmaSelection

	// bus flags; applied over the config file's bus section when set.
	natsURL, natsListen, natsCreds, natsUser, natsCA, natsCert, natsKey string
}

func execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return (&app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}).execute(ctx, args)
}

func (a *app) execute(ctx context.Context, args []string) int {
	stderr := a.stderr
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	a.closeLog()
	if err != nil {
		fmt.Fprintf(stderr, "weft: %v\n", err)
	}
	return codeOf(err)
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "weft",
		Short: "Windows event logs to detections: EVTX and forwarded events, ECS, Elastic EQL rules, alerts",
		Long: `weft reads Windows event logs (EVTX files, rendered event XML), normalizes
Sysmon events to the Elastic Common Schema, runs Elastic EQL detection rules
as a streaming correlator over NATS, and delivers alerts to stdout, webhooks,
Slack and syslog.

  weft hunt PATH...        DFIR: run the rules over EVTX/XML files and print alerts
  weft run --config FILE   the long-running service
  weft dump PATH...        raw events as the collector sees them

Every flag can also be set with a WEFT_* environment variable: --log-level is
WEFT_LOG_LEVEL, --nats is WEFT_NATS, and so on. The NATS password is read from
WEFT_NATS_PASSWORD only. Every key of weft.yaml can be set the same way:
WEFT_BUS_URL, WEFT_CORRELATOR_LATENESS (see weft config check --help).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.applyEnv(cmd); err != nil {
				return err
			}
			return a.setupLog()
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: trace, debug, info, warn, error")
	pf.StringVar(&a.logFormat, "log-format", "auto", "log format: auto (console on a terminal, else json), json, or console (readable lines, coloured only on a terminal)")
	pf.StringVar(&a.natsURL, "nats", "", "URL of an external NATS server or cluster (default: an embedded server in-process)")
	pf.StringVar(&a.natsListen, "nats-listen", "", "let other processes join the embedded NATS server on this [host:]port (loopback unless a host is given)")
	pf.StringVar(&a.natsCreds, "nats-creds", "", "NATS credentials file for an external server")
	pf.StringVar(&a.natsUser, "nats-user", "", "NATS user for an external server (password from WEFT_NATS_PASSWORD)")
	pf.StringVar(&a.natsCA, "nats-ca", "", "CA certificate file to verify an external NATS server")
	pf.StringVar(&a.natsCert, "nats-cert", "", "client certificate file for an external NATS server")
	pf.StringVar(&a.natsKey, "nats-key", "", "client key file for an external NATS server")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError("%w", err) })

	root.AddCommand(a.huntCmd(), profiled(a.runCmd()), profiled(a.dumpCmd()), a.normalizeCmd(), a.eqlCmd(), a.rulesCmd(), a.alertsCmd(), a.serviceCmd(), a.configCmd(), a.collectCmd(), a.correlateCmd(), a.sinkCmd(), newVersionCmd())
	usageArgs(root)
	return root
}

// usageArgs makes every wrong command line exit with exitUsage, as the
// README's table says: a command's check of its arguments (hunt without a
// path), and a word that names no subcommand (weft huntt x), which cobra
// reports as a plain error, or, below the root, takes for an argument and
// answers with help and exit 0.
func usageArgs(c *cobra.Command) {
	switch {
	case c.HasSubCommands() && c.Args == nil:
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if cmd.SuggestionsMinimumDistance <= 0 {
				cmd.SuggestionsMinimumDistance = 2 // cobra's own default
			}
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return usageError("%s", msg)
		}
		if !c.Runnable() {
			// cobra checks arguments of runnable commands only.
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
	case c.Args != nil:
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError("%w (usage: %s)", err, cmd.UseLine())
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// applyEnv sets every flag the command line left alone from WEFT_<FLAG>.
func (a *app) applyEnv(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		name := "WEFT_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := a.getenv(name); v != "" {
			if e := cmd.Flags().Set(f.Name, v); e != nil {
				err = usageError("%s=%q: %w", name, v, e)
			}
		}
	})
	return err
}

func (a *app) setupLog() error {
	level, err := zerolog.ParseLevel(strings.ToLower(a.logLevel))
	if err != nil || a.logLevel == "" {
		return usageError("--log-level %q: want trace, debug, info, warn or error", a.logLevel)
	}
	w, err := logWriter(a.logFormat, a.stderr, isTerminal(a.stderr), a.getenv("NO_COLOR") != "")
	if err != nil {
		return err
	}
	// One warning per bad event would let an input multiply the log:
	// repeated lines of one kind and source are counted instead, and
	// summed up every interval (the console format formats the sums too).
	agg := logagg.New(w, logagg.Options{})
	a.logAggs = append(a.logAggs, agg)
	a.log = zerolog.New(agg).Level(level).With().Timestamp().Logger()
	return nil
}

// logWriter is where log lines go in format: people read them on a
// terminal (auto picks the console format there, JSON for files, pipes and
// log collectors), and colour codes are written only to a terminal, never
// into a file, nor when NO_COLOR is set (https://no-color.org).
func logWriter(format string, stderr io.Writer, terminal, noColor bool) (io.Writer, error) {
	switch format {
	case "auto":
		if !terminal {
			return stderr, nil
		}
	case "json":
		return stderr, nil
	case "console":
	default:
		return nil, usageError("--log-format %q: want auto, json or console", format)
	}
	return zerolog.ConsoleWriter{Out: stderr, TimeFormat: "15:04:05", NoColor: !terminal || noColor}, nil
}

// flushLog writes the counts of the log lines held back so far, before a
// command's summary.
func (a *app) flushLog() {
	for _, w := range a.logAggs {
		w.Flush()
	}
}

// closeLog writes the counts of the log lines held back and ends the
// aggregators' goroutines; later lines pass through.
func (a *app) closeLog() {
	for i := len(a.logAggs) - 1; i >= 0; i-- {
		_ = a.logAggs[i].Close()
	}
	a.logAggs = nil
}

// skipped logs a problem with the input, with the file it is in as a
// field, so that the problems of one file are summed up apart from
// another's.
func (a *app) skipped(msg string) collector.ReportFunc {
	return func(err error) {
		ev := a.log.Warn().Err(err)
		if ce, ok := errors.AsType[*collector.Error](err); ok {
			ev = ev.Str("file", ce.Path)
		}
		if collector.IsWarning(err) {
			// Nothing was skipped: say so, not msg.
			ev.Msg("damage read around: no event lost")
			return
		}
		ev.Msg(msg)
	}
}

// busConfig lays the bus flags over base (from a config file, or zero).
func (a *app) busConfig(base bus.Config) bus.Config {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&base.URL, a.natsURL)
	set(&base.Listen, a.natsListen)
	set(&base.CredsFile, a.natsCreds)
	set(&base.User, a.natsUser)
	set(&base.TLS.CAFile, a.natsCA)
	set(&base.TLS.CertFile, a.natsCert)
	set(&base.TLS.KeyFile, a.natsKey)
	if base.User != "" && base.PasswordEnv == "" {
		base.PasswordEnv = "WEFT_NATS_PASSWORD"
	}
	return base
}
