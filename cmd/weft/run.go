package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/correlator"
	"github.com/weft-dev/weft/sinks"
)

func (a *app) runCmd() *cobra.Command {
	var configPath, dataDir string
	var shutdownTimeout time.Duration
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "run --config weft.yaml",
		Short: "Run weft as a service: sources, rules and sinks from a config file",
		Long: `run starts every stage — sources, normalizer, correlator and sinks — on the
bus (an embedded NATS server unless --nats names one) and runs until SIGINT or
SIGTERM. On a signal it stops reading, lets the events already read go through
every stage and the sinks deliver their alerts, then exits 0. The drain lasts
at most shutdown_timeout (--shutdown-timeout, default 30s): what is not
through by then (alerts a receiver does not take, say) stays in the streams
and goes on after the next start, the exit is still 0, and the log says how
much was left. Only with streams in memory (no --data-dir, no external NATS)
is that lost, and the exit is then 1. SIGHUP reloads the rule files: a rule
whose id and query are unchanged keeps its pending sequences.

--metrics-listen serves Prometheus metrics on /metrics, /healthz (alive)
and /readyz (bus connected, streams present, consumers no further behind
than --ready-max-pending). An address that cannot be bound stops weft with
exit 1 before anything is read, unless --metrics-optional.

The config file is YAML (see weft.example.yaml); unknown keys are errors.
Before anything starts the config, with the WEFT_* environment over it, is
checked exactly as weft config check does, and every problem is printed on
stderr as "file:line: key.path: message" (exit 1). --dry-run stops there:
exit 0 ("FILE: ok" on stdout) when weft run would start, 1 with the problems
otherwise.
--data-dir keeps the embedded server's streams on disk so a restart finds
undelivered events and alerts.

Sources of type "files" read their files once; sources of type "watch" read
each file that appears in a folder (Windows' Archive-*.evtx, dropped backups)
once its size has stayed the same for "settle", oldest first. How far each
file was read is kept in the bus (key-value bucket weft_checkpoints, by file
content, so renames do not matter): after a restart, even a kill, reading
resumes after the last event that reached the bus.

Forwarded events come in live: "tcp" takes streams of rendered event XML or
NDJSON (OpenWEC, NXLog om_tcp), "http" takes POST /v1/events with an XML or
NDJSON body (NXLog om_http, scripts), "beats" speaks the Beats protocol
(Winlogbeat's Logstash output), and "winlog" subscribes to event log
channels on Windows (ForwardedEvents and Sysmon's by default). Listeners
take "listen: [host:]port" (loopback unless a host is given), "tls"
(cert_file, key_file, client_ca_file to require client certificates),
max_event_size, max_connections, max_connections_per_peer, idle_timeout,
handshake_timeout, event_timeout, max_batch_bytes, and for http
token/token_env/token_file and publish_timeout. A sender is acknowledged
only once its events are stored on the bus; while the bus is behind, TCP
stops reading, HTTP answers 503 with Retry-After and Beats get no ACK.
See collector/listen/README.md for each sender's configuration.`,
		Example: `  weft run --config weft.yaml
  weft run --config weft.yaml --data-dir /var/lib/weft --nats-listen 4222`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath == "" {
				return usageError("--config is required")
			}
			// The same check as weft config check, before anything starts.
			cfg, err := a.checkedConfig(cmd, configPath, a.stderr)
			if err != nil {
				return err
			}
			if dataDir != "" {
				cfg.Bus.DataDir = dataDir
			}
			if cmd.Flags().Changed("shutdown-timeout") {
				if shutdownTimeout <= 0 {
					return usageError("--shutdown-timeout must be positive")
				}
				cfg.ShutdownTimeout = shutdownTimeout
			}
			if dryRun {
				fmt.Fprintf(a.stdout, "%s: ok\n", configPath)
				return nil
			}
			return a.run(cmd.Context(), cfg)
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "the weft.yaml to run")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check the config as weft config check does and exit (0 valid, 1 with its problems on stderr) without starting anything")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "keep the embedded NATS server's streams in this folder (overrides bus.data_dir); weft holds it while it runs (lock file weft.lock), and a second weft on it is refused")
	cmd.Flags().DurationVar(&shutdownTimeout, "shutdown-timeout", defaultShutdownTimeout, "how long the drain on SIGINT/SIGTERM may last; what is left stays in the streams for the next start (overrides shutdown_timeout)")
	a.telemetryFlags(cmd.Flags())
	return cmd
}

func (a *app) run(ctx context.Context, cfg *config) error {
	a.useSigmaConfig(cfg.Rules.Sigma)
	rules, err := a.loadRules(ctx, cfg.Rules.seed(), cfg.Rules.Paths)
	if err != nil {
		return err
	}
	ver, _ := buildVersion()
	outs := map[string]sinks.Sink{}
	closeAll := func() {
		for _, s := range outs {
			_ = s.Close()
		}
	}
	for _, sc := range cfg.Sinks {
		s, err := openSink(sc, ver)
		if err != nil {
			closeAll()
			return err
		}
		outs[sc.Name] = s
	}
	live, err := a.openLive(cfg.Sources)
	if err != nil {
		closeAll()
		return err
	}
	defer live.close()
	inMemory := cfg.Bus.URL == "" && cfg.Bus.DataDir == "" && a.natsURL == ""
	if inMemory {
		a.log.Warn().Msg("streams are kept in memory: events and alerts not yet delivered are lost on a restart; use --data-dir to keep them on disk")
	}
	if len(outs) == 0 {
		a.log.Warn().Msg("no sinks configured: alerts stay on the bus (weft.alerts.*)")
	}
	reg := newRegistry()
	srcMetrics, err := newSourceMetrics(reg)
	if err != nil {
		closeAll()
		return err
	}
	p, err := startPipeline(ctx, pipelineConfig{
		bus:     a.busConfig(cfg.Bus),
		rules:   rules,
		engine:  correlator.Options{Lateness: cfg.lateness(), MaxPending: cfg.Correlator.MaxPending, Tiebreaker: "winlog.record_id"},
		durable: true,
		sinks:   outs,
		tick:    time.Second,
		onOpen:  a.busReady,
		metrics: reg,
	}, a.log)
	if err != nil {
		closeAll()
		return err
	}
	defer p.stop()
	tel, err := a.serveTelemetry(reg, p.ready(a.readyMaxPending))
	if err != nil {
		return err
	}
	defer tel.close()
	stopReload := a.reloadOnHangup(ctx, p.stage, cfg.Rules, &p.rawFields)
	defer stopReload()
	a.log.Info().Int("rules", len(rules)).Int("sinks", len(outs)).Int("sources", len(cfg.Sources)).Msg("weft running")

	sourcesDone := make(chan struct{})
	checkpoints, err := openCheckpoints(ctx, p.bus)
	switch {
	case err == nil:
		go func() {
			defer close(sourcesDone)
			a.serveSources(ctx, p.bus, checkpoints, cfg.Sources, live, srcMetrics)
		}()
	case ctx.Err() != nil:
		// Stopped while starting: no source ran, and the stages drain
		// what they were given, as on any stop.
		close(sourcesDone)
	default:
		return err
	}

	<-ctx.Done()
	timeout := cfg.shutdownTimeout()
	a.log.Info().Dur("shutdown_timeout", timeout).Msg("stopping: draining in-flight events")
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	select {
	case <-sourcesDone:
		err = p.drain(dctx)
	case <-dctx.Done():
		err = dctx.Err()
	}
	switch {
	case err == nil:
		a.log.Info().Msg("stopped")
		return nil
	case dctx.Err() == nil:
		return fmt.Errorf("drain on shutdown: %w", err)
	}
	return a.drainTimedOut(p, timeout, inMemory)
}

// drainTimedOut reports what the drain left behind once shutdown_timeout
// ran out: kept in the streams for the next start, unless they live in
// memory, which is the one case where something is lost.
func (a *app) drainTimedOut(p *pipeline, timeout time.Duration, inMemory bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev := a.log.Warn()
	var left uint64
	for _, c := range p.consumers {
		n, err := p.bus.Backlog(ctx, c)
		if err != nil {
			continue
		}
		left += n
		ev = ev.Uint64(c.Durable, n)
	}
	switch {
	case left == 0 && !inMemory:
		// Everything got through as the time ran out (in memory, the
		// documents the correlator held unevaluated are gone all the same).
		ev.Discard()
		a.log.Info().Msg("stopped")
		return nil
	case inMemory:
		ev.Discard()
		return fmt.Errorf("drain on shutdown: shutdown_timeout %s ran out before the drain ended, with %d messages not through every stage; what was not delivered is lost: the streams are kept in memory (use --data-dir)", timeout, left)
	}
	ev.Dur("shutdown_timeout", timeout).Uint64("messages", left).
		Msg("stopped before everything was delivered (shutdown_timeout): what is left stays in the streams and is delivered after the next start")
	return nil
}
