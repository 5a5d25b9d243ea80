package listen

import (
	"context"
	"errors"
	"time"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// Flush stores what out holds. A publish the bus did not answer within
// its own request timeout (JetStream slow under load, with hundreds of
// connections storing at once) is tried again while ctx lives, rather
// than taken for a failure that would lose the events a TCP sender
// already wrote or drop a Beat's connection: the batch's message id makes
// a second copy a duplicate.
func Flush(ctx context.Context, out *bus.Batcher[*event.Raw]) error {
	backoff := 10 * time.Millisecond
	for {
		err := out.Flush(ctx)
		if !unanswered(ctx, err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// Add queues r for its subject; when that publishes a full batch which the
// bus does not answer in time, it stores the batch as Flush does.
func Add(ctx context.Context, out *bus.Batcher[*event.Raw], r *event.Raw) error {
	err := out.Add(ctx, bus.Subject(bus.SubjectRaw, r.Computer), r, r.Identity())
	if unanswered(ctx, err) {
		return Flush(ctx, out)
	}
	return err
}

// unanswered reports whether err is a publish's own timeout while the
// caller's ctx still lives.
func unanswered(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded)
}
