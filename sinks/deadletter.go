package sinks

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// DeadAlert is an alert a sink gave up on, as the dead-letter queue keeps
// it: Consumer is the sink's name, Key the alert id, Error the last error.
type DeadAlert struct {
	bus.DeadLetter
	// Alert is nil when the letter holds a message that did not decode.
	Alert *event.Alert
}

// DeadAlerts lists up to limit dead alerts (all when limit is 0) of the
// sink named sink, or of every sink when sink is empty, oldest first.
func DeadAlerts(ctx context.Context, b *bus.Bus, sink string, limit int) ([]DeadAlert, error) {
	if err := b.EnsureDeadLetters(ctx); err != nil {
		return nil, err
	}
	letters, err := b.DeadLetters(ctx, sink, limit)
	out := make([]DeadAlert, 0, len(letters))
	for _, l := range letters {
		d := DeadAlert{DeadLetter: l}
		var batch event.AlertBatch
		if bus.Decode(l.Data, &batch) == nil && len(batch) == 1 {
			d.Alert = &batch[0]
		}
		out = append(out, d)
	}
	return out, err
}

// ReplayToSink publishes the dead alert again for the sink named sink only,
// which must have a consumer on the bus, and then removes the letter.
func ReplayToSink(ctx context.Context, b *bus.Bus, d DeadAlert, sink string) error {
	if _, err := b.JetStream().Consumer(ctx, bus.StreamAlerts, Consumer(sink).Durable); err != nil {
		return fmt.Errorf("replay to sink %s: no such sink on this bus (consumer %s: %w)", sink, Consumer(sink).Durable, err)
	}
	return replay(ctx, b, d, ReplaySubject(sink))
}

// ReplayToAll publishes the dead alert again on the alert stream, for
// every sink, and then removes the letter. Sinks that had delivered it
// deliver it again; receivers deduplicate by alert id.
func ReplayToAll(ctx context.Context, b *bus.Bus, d DeadAlert) error {
	if d.Alert == nil {
		return replay(ctx, b, d, "")
	}
	return replay(ctx, b, d, bus.Subject(bus.SubjectAlerts, d.Alert.Rule.ID))
}

func replay(ctx context.Context, b *bus.Bus, d DeadAlert, subject string) error {
	if d.Alert == nil {
		return fmt.Errorf("dead letter %d does not hold an alert that decodes (%s); it cannot be replayed", d.Sequence, d.Error)
	}
	if d.Sequence == 0 {
		return errors.New("replay: the dead alert was not read from the dead-letter queue")
	}
	data, err := bus.Encode(event.AlertBatch{*d.Alert})
	if err != nil {
		return err
	}
	// The letter's sequence as message id: replaying it twice within the
	// duplicate window, say after the delete below failed, publishes once.
	if err := b.Publish(ctx, subject, data, "replay|"+strconv.FormatUint(d.Sequence, 10)); err != nil {
		return fmt.Errorf("replay dead letter %d: %w", d.Sequence, err)
	}
	if err := b.DeleteDeadLetter(ctx, d.Sequence); err != nil {
		return fmt.Errorf("dead letter %d was replayed but stays in the queue: %w", d.Sequence, err)
	}
	return nil
}
