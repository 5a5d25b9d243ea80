package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/correlator"
	"github.com/weft-dev/weft/sinks"
)

func (a *app) runCmd() *cobra.Command {
	var configPath, dataDir string
	cmd := &cobra.Command{
		Use:   "run --config weft.yaml",
		Short: "Run weft as a service: sources, rules and sinks from a config file",
		Long: `run starts every stage — sources, normalizer, correlator and sinks — on the
bus (an embedded NATS server unless --nats names one) and runs until SIGINT or
SIGTERM. On a signal it stops reading, lets the events already read go through
every stage and the sinks deliver their alerts, then exits 0.

The config file is YAML (see weft.example.yaml); unknown keys are errors.
--data-dir keeps the embedded server's streams on disk so a restart finds
undelivered events and alerts.`,
		Example: `  weft run --config weft.yaml
  weft run --config weft.yaml --data-dir /var/lib/weft --nats-listen 4222`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath == "" {
				return usageError("--config is required")
			}
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			if dataDir != "" {
				cfg.Bus.DataDir = dataDir
			}
			return a.run(cmd.Context(), cfg)
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "the weft.yaml to run")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "keep the embedded NATS server's streams in this folder (overrides bus.data_dir)")
	return cmd
}

const drainTimeout = 30 * time.Second

func (a *app) run(ctx context.Context, cfg *config) error {
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
	if len(outs) == 0 {
		a.log.Warn().Msg("no sinks configured: alerts stay on the bus (weft.alerts.*)")
	}
	p, err := startPipeline(ctx, pipelineConfig{
		bus:    a.busConfig(cfg.Bus),
		rules:  rules,
		engine: correlator.Options{Lateness: cfg.lateness(), MaxPending: cfg.Correlator.MaxPending},
		sinks:  outs,
		tick:   time.Second,
		onOpen: a.busReady,
	}, a.log)
	if err != nil {
		closeAll()
		return err
	}
	defer p.stop()
	a.log.Info().Int("rules", len(rules)).Int("sinks", len(outs)).Int("sources", len(cfg.Sources)).Msg("weft running")

	sourcesDone := make(chan struct{})
	go func() {
		defer close(sourcesDone)
		for _, src := range cfg.Sources {
			report := func(err error) { a.log.Warn().Err(err).Msg("skipped input") }
			inputs := collector.Expand(src.Paths, report)
			st, err := collector.Publish(ctx, p.bus, inputs, a.stdin, collector.Options{}, report)
			if err != nil && ctx.Err() == nil {
				a.log.Error().Err(err).Msg("source stopped")
			}
			a.log.Info().Int("files", len(inputs)).Int("events", st.Records).Int("errors", st.Errors).Msg("files read")
		}
	}()

	<-ctx.Done()
	a.log.Info().Msg("stopping: draining in-flight events")
	<-sourcesDone
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	if err := p.drain(dctx); err != nil {
		return fmt.Errorf("drain on shutdown: %w", err)
	}
	a.log.Info().Msg("stopped")
	return nil
}
