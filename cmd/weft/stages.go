package main

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/correlator"
	"github.com/weft-dev/weft/normalizer"
	"github.com/weft-dev/weft/sinks"
)

// The stage commands run one stage each, as its own process, against an
// external NATS server or cluster: the distributed form of weft run.

// loadStageConfig reads weft.yaml with the WEFT_* environment laid over it;
// an empty path is an empty config (the bus from the flags alone).
func (a *app) loadStageConfig(path string) (*config, error) {
	return a.loadConfig(path, nil)
}

// openStageBus connects a stage process to the external bus and creates
// the consumers it reads.
func (a *app) openStageBus(ctx context.Context, cfg *config, consumers []bus.Consumer) (*bus.Bus, error) {
	bc := a.busConfig(cfg.Bus)
	if bc.URL == "" {
		return nil, usageError("--nats (or bus.url) is required: the stages of weft meet on an external NATS server")
	}
	b, err := bus.Open(ctx, bc, a.log)
	if err != nil {
		return nil, err
	}
	for _, c := range consumers {
		if err := b.EnsureConsumer(ctx, c); err != nil {
			b.Close()
			return nil, err
		}
	}
	if a.busReady != nil {
		a.busReady(b)
	}
	return b, nil
}

// serveStage registers the bus metrics of a stage process, for the
// consumers it reads, and starts the telemetry listener.
func (a *app) serveStage(reg *prometheus.Registry, b *bus.Bus, consumers bus.ConsumerSet) (*telemetry, error) {
	if _, err := bus.NewMetrics(reg, b, consumers); err != nil {
		return nil, err
	}
	return a.serveTelemetry(reg, func(ctx context.Context) error { return b.Ready(ctx, consumers(), a.readyMaxPending) })
}

func (a *app) collectCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "collect --config weft.yaml --nats URL",
		Short: "Run the sources of a config, publishing raw events to an external NATS",
		Long: `collect runs the sources section of the config, as weft run does, and
publishes the raw events to the bus. Checkpoints are kept in the bus, so a
restarted collector resumes where it stopped. With only "files" sources it
exits once they are read; otherwise it runs until SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath == "" {
				return usageError("--config is required")
			}
			cfg, err := a.loadStageConfig(configPath)
			if err != nil {
				return err
			}
			return a.collect(cmd.Context(), cfg)
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "the weft.yaml whose sources to run")
	a.telemetryFlags(cmd.Flags())
	return cmd
}

func (a *app) collect(ctx context.Context, cfg *config) error {
	if len(cfg.Sources) == 0 {
		return usageError("the config has no sources")
	}
	live, err := a.openLive(cfg.Sources)
	if err != nil {
		return err
	}
	defer live.close()
	reg := newRegistry()
	m, err := newSourceMetrics(reg)
	if err != nil {
		return err
	}
	b, err := a.openStageBus(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	tel, err := a.serveStage(reg, b, bus.Consumers())
	if err != nil {
		return err
	}
	defer tel.close()
	checkpoints, err := openCheckpoints(ctx, b)
	if err != nil {
		return err
	}
	a.log.Info().Int("sources", len(cfg.Sources)).Msg("weft collect running")
	a.serveSources(ctx, b, checkpoints, cfg.Sources, live, m)
	a.log.Info().Int64("events", m.counters.Records.Load()).Int64("errors", m.counters.Errors.Load()).Msg("weft collect stopped")
	return nil
}

// serveNormalizer is weft normalize --serve.
func (a *app) serveNormalizer(ctx context.Context) error {
	cfg, err := a.loadStageConfig(a.stageConfig)
	if err != nil {
		return err
	}
	reg := newRegistry()
	// The consumers depend on the partitions of the stream; the bus
	// config says how many, before the bus is opened.
	opts := normalizer.Options{Partitions: a.busConfig(cfg.Bus).Partitions, Origin: true}
	// The correlators run Sigma rules from the same rules.paths: they read
	// the raw fields.
	opts.RawFields = sigmaFiles(cfg.Rules.Paths)
	if opts.Partitions == 0 {
		opts.Partitions = bus.DefaultPartitions
	}
	var counters normalizer.Counters
	if _, err := normalizer.NewMetrics(reg, &counters); err != nil {
		return err
	}
	b, err := a.openStageBus(ctx, cfg, opts.Consumers())
	if err != nil {
		return err
	}
	defer b.Close()
	tel, err := a.serveStage(reg, b, bus.Consumers(opts.Consumers()...))
	if err != nil {
		return err
	}
	defer tel.close()
	a.log.Info().Int("partitions", opts.Partitions).Msg("weft normalize serving")
	return ignoreCanceled(opts.Serve(ctx, b, &counters, a.log))
}

func (a *app) correlateCmd() *cobra.Command {
	var configPath string
	var group correlator.Group
	cmd := &cobra.Command{
		Use:   "correlate --config weft.yaml --nats URL [--group NAME]",
		Short: "Run the rules of a config on the ECS stream of an external NATS",
		Long: `correlate runs the rules section of the config on the normalized events of
the bus and publishes alerts.

Correlators with the same --group share the hosts: the ECS stream is split
by host into bus.partitions partitions, and the members alive share them
out, so start as many as the load needs (up to the number of partitions;
more wait as standbys). Each partition is read by one member at a time,
with a durable consumer that keeps its progress whoever reads it. When a
member joins or leaves, the partitions move: the member that takes one
over first replays the events of the partition it had already been given
within the rules' longest maxspan (plus the lateness), so a sequence in
flight still completes, and alert ids already published are not published
again. SIGINT or SIGTERM hands the member's partitions over at once; a
member that dies loses them once --group-ttl has passed without its
heartbeat.

SIGHUP reloads the rule files, keeping the pending sequences of unchanged
rules.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadStageConfig(configPath)
			if err != nil {
				return err
			}
			// The config (and WEFT_CORRELATOR_*) fills what no flag set.
			fl := cmd.Flags()
			if c := cfg.Correlator; c.Group != "" && !fl.Changed("group") {
				group.Name = c.Group
			}
			if c := cfg.Correlator; c.GroupTTL != 0 && !fl.Changed("group-ttl") {
				group.TTL = c.GroupTTL
			}
			if c := cfg.Correlator; c.Member != "" && !fl.Changed("member") {
				group.Member = c.Member
			}
			if err := group.Validate(); err != nil {
				return usageError("%w", err)
			}
			return a.correlate(cmd.Context(), cfg, group)
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "the weft.yaml whose rules and correlator settings to use")
	cmd.Flags().StringVar(&group.Name, "group", correlator.DefaultGroup, "the group of correlators that share the hosts")
	cmd.Flags().DurationVar(&group.TTL, "group-ttl", correlator.DefaultGroupTTL,
		"how long a member counts as alive after its last heartbeat (the first member of a group sets it)")
	cmd.Flags().StringVar(&group.Member, "member", "", "this correlator's name, unique in the group (default: host name, process id and a random suffix)")
	a.telemetryFlags(cmd.Flags())
	return cmd
}

// dedupTTL is how long published alert ids are kept, as weft run keeps them.
const dedupTTL = 24 * time.Hour

func (a *app) correlate(ctx context.Context, cfg *config, group correlator.Group) error {
	a.useSigmaConfig(cfg.Rules.Sigma)
	rules, err := a.loadRules(ctx, cfg.Rules.seed(), cfg.Rules.Paths)
	if err != nil {
		return err
	}
	engine, err := correlator.Compile(rules, correlator.Options{Lateness: cfg.lateness(), MaxPending: cfg.Correlator.MaxPending, Tiebreaker: "winlog.record_id", Log: a.log})
	if err != nil {
		return err
	}
	b, err := a.openStageBus(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	stage := correlator.NewStage(b, engine, a.log, correlator.WithGroup(group),
		correlator.WithRebuild(engine.RebuildWindow()),
		correlator.WithAlertDedup(correlator.DefaultDedupBucket, dedupTTL))
	reg := newRegistry()
	if _, err := correlator.NewMetrics(reg, stage); err != nil {
		return err
	}
	tel, err := a.serveStage(reg, b, stage.Consumers)
	if err != nil {
		return err
	}
	defer tel.close()
	stopReload := a.reloadOnHangup(ctx, stage, cfg.Rules, nil)
	defer stopReload()
	a.log.Info().Int("rules", len(rules)).Str("group", group.Name).Msg("weft correlate running")
	return ignoreCanceled(stage.Serve(ctx, time.Second))
}

func (a *app) sinkCmd() *cobra.Command {
	var configPath string
	var names []string
	cmd := &cobra.Command{
		Use:   "sink --config weft.yaml --nats URL [--name NAME]...",
		Short: "Deliver the alerts of an external NATS to the sinks of a config",
		Long: `sink delivers the alerts on the bus to the sinks of the config (or only the
ones named by --name). Each sink has a durable consumer: processes running
the same sink share its alerts, and a restart resumes after the last alert
delivered. Failed deliveries are retried, then dead-lettered (weft alerts dlq).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath == "" {
				return usageError("--config is required")
			}
			cfg, err := a.loadStageConfig(configPath)
			if err != nil {
				return err
			}
			return a.sink(cmd.Context(), cfg, names)
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "the weft.yaml whose sinks to run")
	cmd.Flags().StringSliceVar(&names, "name", nil, "run only the sink of this name (repeatable)")
	a.telemetryFlags(cmd.Flags())
	return cmd
}

func (a *app) sink(ctx context.Context, cfg *config, names []string) error {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	ver, _ := buildVersion()
	outs := map[string]sinks.Sink{}
	defer func() {
		for name, s := range outs {
			if err := s.Close(); err != nil {
				a.log.Error().Err(err).Str("sink", name).Msg("closing sink")
			}
		}
	}()
	for _, sc := range cfg.Sinks {
		if len(want) > 0 && !want[sc.Name] {
			continue
		}
		delete(want, sc.Name)
		s, err := openSink(sc, ver)
		if err != nil {
			return err
		}
		outs[sc.Name] = s
	}
	for n := range want {
		return usageError("--name %q: the config has no sink of that name", n)
	}
	if len(outs) == 0 {
		return usageError("the config has no sinks")
	}
	reg := newRegistry()
	m, err := sinks.NewMetrics(reg)
	if err != nil {
		return err
	}
	var consumers []bus.Consumer
	for name, s := range outs {
		outs[name] = m.Instrument(name, s)
		consumers = append(consumers, sinks.Consumer(name))
	}
	b, err := a.openStageBus(ctx, cfg, consumers)
	if err != nil {
		return err
	}
	defer b.Close()
	tel, err := a.serveStage(reg, b, bus.Consumers(consumers...))
	if err != nil {
		return err
	}
	defer tel.close()
	a.log.Info().Int("sinks", len(outs)).Msg("weft sink running")
	errs := make(chan error, len(outs))
	for name, s := range outs {
		go func() { errs <- ignoreCanceled(sinks.Deliver(ctx, b, name, s, a.log)) }()
	}
	var all []error
	for range outs {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
