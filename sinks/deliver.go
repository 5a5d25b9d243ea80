package sinks

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// Deliver reads the alert stream through the durable consumer named durable
// and hands each alert to s. A message is acknowledged only once every alert
// in it was accepted; otherwise JetStream delivers it again later, and
// receivers deduplicate by alert id. It returns when ctx ends.
func Deliver(ctx context.Context, b *bus.Bus, durable string, s Sink, log zerolog.Logger) error {
	c := Consumer(durable)
	return b.Consume(ctx, c, func(ctx context.Context, data []byte, subject string) error {
		var batch event.AlertBatch
		if err := bus.Decode(data, &batch); err != nil {
			return bus.Permanent(fmt.Errorf("sink %s: message on %s: %w", s.Name(), subject, err))
		}
		for i := range batch {
			if err := s.Send(ctx, &batch[i]); err != nil {
				return fmt.Errorf("sink %s: alert %s: %w", s.Name(), batch[i].Event.ID, err)
			}
		}
		return nil
	}, func(err error) {
		log.Error().Err(err).Str("sink", s.Name()).Msg("delivery failed; will retry")
	})
}

// Consumer is the durable consumer of the alert stream for one sink.
func Consumer(durable string) bus.Consumer {
	return bus.Consumer{Stream: bus.StreamAlerts, Durable: "sink-" + durable, MaxAckPending: 16}
}
