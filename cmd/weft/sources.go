package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/collector/jsonevent"
	"github.com/weft-dev/weft/collector/listen"
)

// sourceMetrics are the collector's metrics in weft run and weft collect:
// events and problems of the file readers, how far each source's
// checkpoints trail its reading, and the network listeners.
type sourceMetrics struct {
	counters    collector.Counters
	checkpoints *collector.CheckpointMetrics
	listeners   *listen.Metrics
}

func newSourceMetrics(reg prometheus.Registerer) (*sourceMetrics, error) {
	m := &sourceMetrics{}
	var err error
	if _, err = collector.NewMetrics(reg, &m.counters); err != nil {
		return nil, err
	}
	if m.checkpoints, err = collector.NewCheckpointMetrics(reg); err != nil {
		return nil, err
	}
	if m.listeners, err = listen.NewMetrics(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// openCheckpoints opens the checkpoints of file sources, kept in the bus
// so that a restart resumes each file where it stopped.
func openCheckpoints(ctx context.Context, b *bus.Bus) (*collector.Checkpoints, error) {
	kv, err := b.KeyValue(ctx, bus.BucketCheckpoints)
	if err != nil {
		return nil, err
	}
	return collector.NewCheckpoints(kv), nil
}

// serveSources runs every source of the config on b until each is done
// (files) or ctx ends, reporting to m.
func (a *app) serveSources(ctx context.Context, b *bus.Bus, checkpoints *collector.Checkpoints, sources []sourceConfig, live liveSources, m *sourceMetrics) {
	report := a.skipped("skipped input")
	var wg sync.WaitGroup
	for i, src := range sources {
		if ls := live[i]; ls != nil {
			if ls.listener != nil {
				m.listeners.Watch(ls.listener)
			}
			wg.Go(func() { a.serveLive(ctx, ls, b) })
			continue
		}
		pub := collector.NewPublisher(b, checkpoints, collector.Options{Counters: &m.counters, ReadNDJSON: jsonevent.ReadNDJSONDocument, Duplicate: a.logDuplicate}, report)
		m.checkpoints.Watch(fmt.Sprintf("sources[%d]", i), src.Type, pub)
		wg.Go(func() { a.runSource(ctx, src, pub) })
	}
	wg.Wait()
}

// runSource reads one configured source until it is done (files) or ctx
// ends (watch). A bus failure stops the source, and is logged.
func (a *app) runSource(ctx context.Context, src sourceConfig, pub *collector.Publisher) {
	report := a.skipped("skipped input")
	read := func(ctx context.Context, in collector.Input) error {
		st, err := pub.Publish(ctx, in, a.stdin)
		if err == nil {
			a.logFile(in, st)
		}
		return err
	}
	var err error
	switch src.Type {
	case "watch":
		a.log.Info().Str("folder", src.Path).Str("pattern", src.Pattern).Msg("watching")
		err = collector.Watch(ctx, src.watch(), report, read)
	default:
		for _, in := range collector.Expand(src.Paths, report) {
			if err = read(ctx, in); err != nil {
				break
			}
		}
	}
	if err != nil && ctx.Err() == nil {
		a.log.Error().Err(err).Msg("source stopped")
	}
}

// logDuplicate says that a file was skipped because its content was read
// before, at another path (weft_collector_duplicate_files_total counts
// them).
func (a *app) logDuplicate(path, of string) {
	a.log.Info().Str("file", path).Str("duplicate_of", of).Msg("file skipped: the same content was read before from another path")
}

func (a *app) logFile(in collector.Input, st collector.Stats) {
	if st.Records == 0 && st.Errors == 0 && st.Delivered > 0 {
		a.log.Debug().Str("file", in.Path).Int("events", st.Delivered).Msg("file already read")
		return
	}
	a.log.Info().Str("file", in.Path).Int("events", st.Records).Int("errors", st.Errors).Int("resumed_after", st.Delivered).Msg("file read")
}
