package normalizer

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// Counters are what a normalizer stage has done; safe to read while it runs.
type Counters struct {
	Events atomic.Uint64 // documents published
	Errors atomic.Uint64 // events with problems (still published) and undecodable messages
}

// Consumer is the durable consumer every normalizer shares: starting more
// normalizers against one bus spreads the raw stream between them.
func Consumer() bus.Consumer {
	return bus.Consumer{Stream: bus.StreamRaw, Durable: "normalizer", MaxAckPending: 64}
}

// Serve normalizes raw event batches from the bus into ECS documents on
// weft.ecs.<host> until ctx ends. A raw message is acknowledged only after
// its documents are stored, so a crash redelivers rather than loses it.
func Serve(ctx context.Context, b *bus.Bus, c *Counters, log zerolog.Logger) error {
	return b.Consume(ctx, Consumer(), func(ctx context.Context, data []byte, subject string) error {
		var batch event.RawBatch
		if err := bus.Decode(data, &batch); err != nil {
			c.Errors.Add(1)
			return bus.Permanent(fmt.Errorf("normalizer: message on %s: %w", subject, err))
		}
		// A fresh batcher per message: after a failed publish, the
		// redelivered message starts clean and its batches get the same ids.
		out := bus.NewBatcher[event.Document](b, "ecs")
		for i := range batch {
			r := &batch[i]
			doc, err := Normalize(r)
			if err != nil {
				c.Errors.Add(1)
				log.Debug().Err(err).Msg("event normalized with problems")
			}
			if err := out.Add(ctx, bus.Subject(bus.SubjectECS, r.Computer), doc, r.Identity()); err != nil {
				return err
			}
		}
		if err := out.Flush(ctx); err != nil {
			return err
		}
		c.Events.Add(uint64(len(batch)))
		return nil
	}, func(err error) {
		if !errors.Is(err, context.Canceled) {
			log.Error().Err(err).Msg("normalizer")
		}
	})
}
