package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// AckFloor is where a durable consumer stands: every message of its
// stream up to Seq has been acknowledged, Seq was stored at Stored. Seq is
// 0 when the consumer does not exist yet or has acknowledged nothing.
type AckFloor struct {
	Seq    uint64
	Stored time.Time
}

// AckFloorOf reads a durable consumer's ack floor. When the message at the
// floor is no longer stored (the stream's max age removed it), Stored is
// the time of the consumer's last acknowledgement.
func (b *Bus) AckFloorOf(ctx context.Context, c Consumer) (AckFloor, error) {
	cons, err := b.js.Consumer(ctx, c.Stream, c.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return AckFloor{}, nil
	}
	if err != nil {
		return AckFloor{}, fmt.Errorf("bus: consumer %s: %w", c.Durable, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return AckFloor{}, fmt.Errorf("bus: consumer %s: %w", c.Durable, err)
	}
	f := AckFloor{Seq: info.AckFloor.Stream}
	if f.Seq == 0 {
		return f, nil
	}
	if info.AckFloor.Last != nil {
		f.Stored = *info.AckFloor.Last
	}
	st, err := b.js.Stream(ctx, c.Stream)
	if err != nil {
		return AckFloor{}, fmt.Errorf("bus: stream %s: %w", c.Stream, err)
	}
	if msg, err := st.GetMsg(ctx, f.Seq); err == nil {
		f.Stored = msg.Time
	}
	return f, nil
}

// Replay hands h, in stream order, the messages of stream (narrowed to
// filter, unless empty) stored at or after from, up to and including the
// stream sequence through, then returns. It reads with an ordered consumer
// that leaves no state on the server and acknowledges nothing: a restarted
// stage uses it to rebuild what it held in memory from messages it had
// already acknowledged. An error from h stops the replay and is returned.
func (b *Bus) Replay(ctx context.Context, stream, filter string, from time.Time, through uint64, h Handler) error {
	if through == 0 {
		return nil
	}
	// The server drops the consumer soon after the last fetch, rather than
	// keep it, and count the messages that follow as pending, for minutes.
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &from, InactiveThreshold: 5 * time.Second}
	if filter != "" {
		cfg.FilterSubjects = []string{filter}
	}
	cons, err := b.js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return fmt.Errorf("bus: replay %s: %w", stream, err)
	}
	for {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			return fmt.Errorf("bus: replay %s: %w", stream, err)
		}
		n := 0
		for msg := range batch.Messages() {
			if err := ctx.Err(); err != nil {
				return err
			}
			n++
			meta, err := msg.Metadata()
			if err != nil {
				return fmt.Errorf("bus: replay %s: %w", stream, err)
			}
			if meta.Sequence.Stream > through {
				return nil
			}
			if err := h(ctx, msg.Data(), msg.Subject()); err != nil {
				return err
			}
			if meta.Sequence.Stream == through || meta.NumPending == 0 {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return fmt.Errorf("bus: replay %s: %w", stream, err)
		}
		if n == 0 {
			return ctx.Err()
		}
	}
}
