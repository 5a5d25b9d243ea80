package main

import (
	"context"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector"
)

// publisher is the collector's publisher for weft run, with checkpoints
// kept in the bus so that a restart resumes each file where it stopped.
func (a *app) publisher(ctx context.Context, b *bus.Bus) (*collector.Publisher, error) {
	kv, err := b.KeyValue(ctx, bus.BucketCheckpoints)
	if err != nil {
		return nil, err
	}
	report := func(err error) { a.log.Warn().Err(err).Msg("skipped input") }
	return collector.NewPublisher(b, collector.NewCheckpoints(kv), collector.Options{}, report), nil
}

// runSource reads one configured source until it is done (files) or ctx
// ends (watch). A bus failure stops the source, and is logged.
func (a *app) runSource(ctx context.Context, src sourceConfig, pub *collector.Publisher) {
	report := func(err error) { a.log.Warn().Err(err).Msg("skipped input") }
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

func (a *app) logFile(in collector.Input, st collector.Stats) {
	if st.Records == 0 && st.Errors == 0 && st.Delivered > 0 {
		a.log.Debug().Str("file", in.Path).Int("events", st.Delivered).Msg("file already read")
		return
	}
	a.log.Info().Str("file", in.Path).Int("events", st.Records).Int("errors", st.Errors).Int("resumed_after", st.Delivered).Msg("file read")
}
