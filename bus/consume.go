package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Consumer names one durable consumer of a stream. Processes that use the
// same Durable share its messages, so a stage scales out by starting more.
type Consumer struct {
	Stream  string
	Durable string
	// FilterSubject narrows the stream, e.g. to one share of the hosts.
	FilterSubject string
	// FilterSubjects narrows the stream to several subjects; it excludes
	// FilterSubject.
	FilterSubjects []string
	// AckWait is how long a delivered message may stay unacknowledged
	// before JetStream delivers it again.
	AckWait time.Duration
	// MaxAckPending bounds messages in flight for this consumer.
	MaxAckPending int
	// StartAfter makes a consumer created anew deliver the messages after
	// this stream sequence, rather than all; ResetConsumer sets it.
	StartAfter uint64
}

// Handler processes one message. Returning nil acknowledges it; an error
// marked with Permanent terminates it (it will never succeed); any other
// error asks for a redelivery after a delay.
type Handler func(ctx context.Context, data []byte, subject string) error

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks an error as one that redelivery cannot fix, such as a
// message that does not decode.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

func (b *Bus) consumer(ctx context.Context, c Consumer) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:        c.Durable,
		AckPolicy:      jetstream.AckExplicitPolicy,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		FilterSubject:  c.FilterSubject,
		FilterSubjects: c.FilterSubjects,
		AckWait:        c.AckWait,
		MaxAckPending:  c.MaxAckPending,
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxAckPending == 0 {
		cfg.MaxAckPending = 64
	}
	if c.StartAfter > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, c.StartAfter+1
	} else if cur, err := b.js.Consumer(ctx, c.Stream, c.Durable); err == nil {
		// Where a consumer starts matters only when it is created, and
		// JetStream refuses to change it: one that ResetConsumer started
		// after a sequence keeps that start when a later run binds it.
		old := cur.CachedInfo().Config
		cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = old.DeliverPolicy, old.OptStartSeq, old.OptStartTime
	}
	cons, err := b.js.CreateOrUpdateConsumer(ctx, c.Stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("bus: consumer %s on %s: %w", c.Durable, c.Stream, err)
	}
	return cons, nil
}

// ackTimeout bounds the wait for the server to confirm an ack.
const ackTimeout = 5 * time.Second

// Consume runs h for each message of the consumer, in stream order, until
// ctx ends. Handler errors are returned to NATS as described on Handler and
// passed to onErr; they never stop the loop.
func (b *Bus) Consume(ctx context.Context, c Consumer, h Handler, onErr func(error)) error {
	cons, err := b.consumer(ctx, c)
	if err != nil {
		return err
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(max(c.MaxAckPending, 64)))
	if err != nil {
		return fmt.Errorf("bus: consume %s: %w", c.Durable, err)
	}
	stop := context.AfterFunc(ctx, iter.Stop)
	defer stop()
	defer iter.Stop()
	for {
		msg, err := iter.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			onErr(fmt.Errorf("bus: consume %s: %w", c.Durable, err))
			continue
		}
		if err := h(ctx, msg.Data(), msg.Subject()); err != nil {
			onErr(err)
			if IsPermanent(err) {
				_ = msg.TermWithReason(err.Error())
			} else {
				_ = msg.NakWithDelay(time.Second)
			}
			continue
		}
		// A synchronous ack: when Idle then reports nothing pending, the
		// work of every message is done, not merely in the ack's flight.
		// It outlives ctx: a message handled as the stage is being stopped
		// is done, and an ack lost to the stop would have the server send
		// it again, AckWait later, to whoever consumes next.
		ackCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
		err = msg.DoubleAck(ackCtx)
		cancel()
		if err != nil {
			onErr(fmt.Errorf("bus: ack on %s: %w", c.Durable, err))
		}
	}
}

// Idle reports whether the consumer has nothing left to deliver and nothing
// delivered but unacknowledged.
func (b *Bus) Idle(ctx context.Context, c Consumer) (bool, error) {
	info, err := b.consumerInfo(ctx, c)
	if err != nil {
		return false, err
	}
	return info.NumPending == 0 && info.NumAckPending == 0, nil
}

// Backlog is how many messages the consumer has not had acknowledged yet:
// those still to deliver and those delivered but not acknowledged.
func (b *Bus) Backlog(ctx context.Context, c Consumer) (uint64, error) {
	info, err := b.consumerInfo(ctx, c)
	if err != nil {
		return 0, err
	}
	return info.NumPending + uint64(max(info.NumAckPending, 0)), nil
}

func (b *Bus) consumerInfo(ctx context.Context, c Consumer) (*jetstream.ConsumerInfo, error) {
	cons, err := b.js.Consumer(ctx, c.Stream, c.Durable)
	if err != nil {
		return nil, fmt.Errorf("bus: consumer %s: %w", c.Durable, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("bus: consumer %s: %w", c.Durable, err)
	}
	return info, nil
}

// WaitIdle blocks until the consumer has handled every message its stream
// held when WaitIdle was called, or ctx ends. Messages published meanwhile
// do not keep it waiting.
func (b *Bus) WaitIdle(ctx context.Context, c Consumer) error {
	target, err := b.lastSeq(ctx, c.Stream)
	if err != nil {
		return err
	}
	filtered := c.FilterSubject != "" || len(c.FilterSubjects) > 0
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	seen := 0
	for {
		info, err := b.consumerInfo(ctx, c)
		if err == nil {
			switch {
			case !filtered && info.AckFloor.Stream >= target:
				// The stream's last sequence is set before a publish is
				// acknowledged, so the ack floor is the reliable measure;
				// the consumer's counts catch up a moment later.
				return nil
			case filtered && info.NumPending == 0 && info.NumAckPending == 0:
				// A filtered consumer may never see the stream's last
				// message; its counts must stay at zero for a few polls.
				if seen++; seen >= 4 {
					return nil
				}
			default:
				seen = 0
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return err
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (b *Bus) lastSeq(ctx context.Context, stream string) (uint64, error) {
	s, err := b.js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("bus: stream %s: %w", stream, err)
	}
	si, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("bus: stream %s: %w", stream, err)
	}
	return si.State.LastSeq, nil
}

// ResetConsumer deletes the durable consumer c and creates it again so that
// it delivers, in stream order, the messages after stream sequence after:
// it forgets what it had delivered and not yet had acknowledged, and a
// process still reading it loses it. A stage taking over a consumer from
// a process that died uses it to start from its ack floor at once, rather
// than wait for the dead process's messages to time out, and sure that
// the other is fenced off. Consume the returned consumer, which has
// StartAfter set.
func (b *Bus) ResetConsumer(ctx context.Context, c Consumer, after uint64) (Consumer, error) {
	err := b.js.DeleteConsumer(ctx, c.Stream, c.Durable)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return c, fmt.Errorf("bus: reset consumer %s: %w", c.Durable, err)
	}
	c.StartAfter = after
	_, err = b.consumer(ctx, c)
	return c, err
}

// EnsureConsumer creates the durable consumer now, so messages published
// before its first Consume are kept for it (streams in memory keep only
// what some consumer is interested in).
func (b *Bus) EnsureConsumer(ctx context.Context, c Consumer) error {
	_, err := b.consumer(ctx, c)
	return err
}
