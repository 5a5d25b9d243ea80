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

// Progress is how far a durable consumer has gone through its stream.
type Progress struct {
	// AckFloor: every message up to it has been acknowledged.
	AckFloor AckFloor
	// Delivered is the last stream sequence the consumer handed to a
	// reader, acknowledged or not (0: none); DeliveredStored is when the
	// stream stored it. A reader that died may have handled any message
	// between the ack floor and Delivered, or none of them, and a reader
	// before it may have acknowledged some of them: only a replay through
	// Delivered is sure to see every message anyone handled.
	Delivered       uint64
	DeliveredStored time.Time
	// Unacked is when the stream stored the first message after the ack
	// floor: what may never have been handled starts there. Zero when
	// nothing is outstanding or the message is gone.
	Unacked time.Time
}

// ProgressOf reads where a durable consumer stands; the zero Progress when
// it does not exist yet. Times of messages the stream no longer holds are
// the consumer's own (its last acknowledgement, its last delivery).
func (b *Bus) ProgressOf(ctx context.Context, c Consumer) (Progress, error) {
	cons, err := b.js.Consumer(ctx, c.Stream, c.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return Progress{}, nil
	}
	if err != nil {
		return Progress{}, fmt.Errorf("bus: consumer %s: %w", c.Durable, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return Progress{}, fmt.Errorf("bus: consumer %s: %w", c.Durable, err)
	}
	p := Progress{AckFloor: AckFloor{Seq: info.AckFloor.Stream}, Delivered: info.Delivered.Stream}
	if info.AckFloor.Last != nil {
		p.AckFloor.Stored = *info.AckFloor.Last
	}
	if info.Delivered.Last != nil {
		p.DeliveredStored = *info.Delivered.Last
	}
	if p.Delivered == 0 && p.AckFloor.Seq == 0 {
		return p, nil
	}
	st, err := b.js.Stream(ctx, c.Stream)
	if err != nil {
		return Progress{}, fmt.Errorf("bus: stream %s: %w", c.Stream, err)
	}
	stored := func(seq uint64) (time.Time, bool) {
		if seq == 0 {
			return time.Time{}, false
		}
		msg, err := st.GetMsg(ctx, seq)
		if err != nil {
			return time.Time{}, false
		}
		return msg.Time, true
	}
	if t, ok := stored(p.AckFloor.Seq); ok {
		p.AckFloor.Stored = t
	}
	if t, ok := stored(p.Delivered); ok {
		p.DeliveredStored = t
	}
	if p.Delivered > p.AckFloor.Seq {
		if t, ok := stored(p.AckFloor.Seq + 1); ok {
			p.Unacked = t
		}
	}
	return p, nil
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
