package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/correlator"
	"github.com/weft-dev/weft/normalizer"
	"github.com/weft-dev/weft/sinks"
)

// pipeline is the normalizer, correlator and sinks of one process, joined
// by the bus. Sources publish into it from outside.
type pipeline struct {
	bus      *bus.Bus
	log      zerolog.Logger
	norm     normalizer.Counters
	normOpts normalizer.Options
	stage    *correlator.Stage
	sinks    map[string]sinks.Sink
	// consumers are the durable consumers the stages read.
	consumers []bus.Consumer
	// rawFields says whether the normalizer adds the raw Windows fields
	// that Sigma rules read; a reload of the rules turns it on or off.
	rawFields atomic.Bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type pipelineConfig struct {
	bus    bus.Config
	rules  []*correlator.Rule
	engine correlator.Options
	sinks  map[string]sinks.Sink
	tick   time.Duration
	onOpen func(*bus.Bus)
	// durable: the streams outlive this process (weft run), so the
	// correlator rebuilds and deduplicates across restarts.
	durable bool
	// metrics, when set, gets every stage's metrics.
	metrics prometheus.Registerer
}

// startPipeline opens the bus and starts every stage. Consumers are created
// before anything is published, so no event goes by unseen.
func startPipeline(ctx context.Context, cfg pipelineConfig, log zerolog.Logger) (*pipeline, error) {
	cfg.engine.Log = log // alerts max_signals suppressed
	engine, err := correlator.Compile(cfg.rules, cfg.engine)
	if err != nil {
		return nil, err
	}
	b, err := bus.Open(ctx, cfg.bus, log)
	if err != nil {
		return nil, err
	}
	if cfg.onOpen != nil {
		cfg.onOpen(b)
	}
	var stageOpts []correlator.StageOption
	if cfg.durable {
		// A restarted service rebuilds pending sequences from the ECS
		// stream and does not raise an alert it already published.
		stageOpts = append(stageOpts,
			correlator.WithRebuild(engine.RebuildWindow()),
			correlator.WithAlertDedup(correlator.DefaultDedupBucket, 24*time.Hour))
	}
	p := &pipeline{bus: b, log: log, sinks: cfg.sinks, stage: correlator.NewStage(b, engine, log, stageOpts...)}
	// Sigma rules read the raw Windows fields, which the normalizer then
	// keeps beside the ECS ones.
	p.rawFields.Store(correlator.HasSigma(cfg.rules))
	p.normOpts = normalizer.Options{Partitions: b.Partitions(), RawFieldsOn: &p.rawFields, Origin: true}
	consumers := append(p.normOpts.Consumers(), p.stage.Consumer())
	for name := range cfg.sinks {
		consumers = append(consumers, sinks.Consumer(name))
	}
	for _, c := range consumers {
		if err := b.EnsureConsumer(ctx, c); err != nil {
			b.Close()
			return nil, err
		}
	}
	p.consumers = consumers
	if cfg.metrics != nil {
		if err := p.instrument(cfg.metrics, consumers); err != nil {
			b.Close()
			return nil, err
		}
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	p.goStage("normalizer", func() error { return p.normOpts.Serve(runCtx, b, &p.norm, log) })
	p.goStage("correlator", func() error { return p.stage.Serve(runCtx, cfg.tick) })
	for name, s := range p.sinks {
		p.goStage("sink "+name, func() error { return sinks.Deliver(runCtx, b, name, s, log) })
	}
	return p, nil
}

func (p *pipeline) goStage(name string, run func() error) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := run(); err != nil && !errors.Is(err, context.Canceled) {
			p.log.Error().Err(err).Str("stage", name).Msg("stage stopped")
		}
	}()
}

// drain waits until every event published so far has gone through every
// stage: normalized, correlated (with the engine flushed, so held events
// are evaluated) and delivered by every sink.
func (p *pipeline) drain(ctx context.Context) error {
	for _, c := range p.normOpts.Consumers() {
		if err := p.bus.WaitIdle(ctx, c); err != nil {
			return fmt.Errorf("waiting for the normalizer: %w", err)
		}
	}
	if err := p.bus.WaitIdle(ctx, p.stage.Consumer()); err != nil {
		return fmt.Errorf("waiting for the correlator: %w", err)
	}
	if err := p.stage.Flush(ctx); err != nil {
		return err
	}
	for name := range p.sinks {
		if err := p.bus.WaitIdle(ctx, sinks.Consumer(name)); err != nil {
			return fmt.Errorf("waiting for sink %s: %w", name, err)
		}
	}
	return nil
}

// ready says why the pipeline cannot do its work, or nil.
func (p *pipeline) ready(maxPending uint64) func(context.Context) error {
	return func(ctx context.Context) error { return p.bus.Ready(ctx, p.consumers, maxPending) }
}

// stop ends every stage, closes the sinks and the bus.
func (p *pipeline) stop() {
	p.cancel()
	p.wg.Wait()
	for name, s := range p.sinks {
		if err := s.Close(); err != nil {
			p.log.Error().Err(err).Str("sink", name).Msg("closing sink")
		}
	}
	p.bus.Close()
}
