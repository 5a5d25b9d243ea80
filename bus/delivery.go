package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Delivery is one message as a DeliveryHandler receives it, with what
// JetStream knows about its delivery.
type Delivery struct {
	Data    []byte
	Subject string
	// Attempt is 1 on the message's first delivery to this consumer and
	// grows by one with each redelivery.
	Attempt int
	// Published is when the stream stored the message.
	Published time.Time
	// Sequence is the message's sequence number in its stream.
	Sequence uint64
}

// DeliveryHandler processes one message. Returning nil acknowledges it; an
// error marked with Permanent terminates it; an error made by Retry asks
// for a redelivery after its delay, any other error after a second.
type DeliveryHandler func(ctx context.Context, d Delivery) error

type retryError struct {
	err   error
	delay time.Duration
}

func (r retryError) Error() string { return r.err.Error() }
func (r retryError) Unwrap() error { return r.err }

// Retry marks err as one a redelivery after delay may fix.
func Retry(err error, delay time.Duration) error { return retryError{err, delay} }

// RetryDelay returns the delay of an error made by Retry.
func RetryDelay(err error) (time.Duration, bool) {
	var r retryError
	if errors.As(err, &r) {
		return r.delay, true
	}
	return 0, false
}

// defaultRedelivery is the redelivery delay of a handler error that names
// none.
const defaultRedelivery = time.Second

// fetchWait bounds one pull request: slots held by a request that found
// fewer messages than it asked for are reused after at most this long.
const fetchWait = time.Second

// ConsumeConcurrently runs h for each message of the consumer, up to
// workers messages at a time (at least one), until ctx ends; then it
// waits for its last pull request to expire (fetchWait) and for the
// handlers still running. Messages may complete out of
// order. While a handler runs, the message's ack deadline is pushed back,
// so a slow receiver does not cause a second, concurrent delivery. Handler
// errors go back to NATS as described on DeliveryHandler and to onErr,
// except those of handlers cut short by the end of ctx, which are
// redelivered without a report.
//
// It pulls with explicit, expiring requests for as many messages as there
// are free workers, never more: a message waiting in a client-side buffer
// would have its ack deadline running, and a long-lived pull iterator with
// a buffer of one can lose track of its request and stall.
func (b *Bus) ConsumeConcurrently(ctx context.Context, c Consumer, workers int, h DeliveryHandler, onErr func(error)) error {
	workers = max(workers, 1)
	cons, err := b.consumer(ctx, c)
	if err != nil {
		return err
	}
	ackWait := cons.CachedInfo().Config.AckWait

	slots := make(chan struct{}, workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		// Checked first: once ctx ends, select would still pick a free slot
		// half the time and pull again.
		if ctx.Err() != nil {
			return nil
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		free := 1
	more:
		for free < workers {
			select {
			case slots <- struct{}{}:
				free++
			default:
				break more
			}
		}
		// The request ends when the server says it expired (the client
		// gives up on its own clock only a second later): the server
		// starts the expiry when the request reaches it, later than the
		// client sent it, and a message it delivers to a request the
		// client stopped reading is lost to this consumer until AckWait
		// passes, with no error anywhere. (With FetchContext and a
		// deadline of fetchWait, the server's expiry was 90% of it: on a
		// loaded machine, where a request took over a tenth of that to
		// arrive, sinks stalled for 30 s.) Not cut short by ctx either,
		// for the same reason: what it brings after the stop is handed
		// back by handleDelivery.
		batch, err := cons.Fetch(free, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			for range free {
				<-slots
			}
			if ctx.Err() != nil {
				return nil
			}
			onErr(fmt.Errorf("bus: consume %s: %w", c.Durable, err))
			// The server is unreachable or restarting: do not spin.
			select {
			case <-time.After(fetchWait):
			case <-ctx.Done():
			}
			continue
		}
		for msg := range batch.Messages() {
			free--
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				b.handleDelivery(ctx, c.Durable, msg, ackWait, h, onErr)
			}()
		}
		for range free {
			<-slots
		}
		if err := batch.Error(); err != nil && ctx.Err() == nil && !expired(err) {
			onErr(fmt.Errorf("bus: consume %s: %w", c.Durable, err))
		}
	}
}

// expired reports whether a pull request ended only because its time was
// up.
func expired(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
}

func (b *Bus) handleDelivery(ctx context.Context, durable string, msg jetstream.Msg, ackWait time.Duration, h DeliveryHandler, onErr func(error)) {
	d := Delivery{Data: msg.Data(), Subject: msg.Subject(), Attempt: 1}
	if md, err := msg.Metadata(); err == nil {
		d.Attempt = int(md.NumDelivered)
		d.Published = md.Timestamp
		d.Sequence = md.Sequence.Stream
	}
	stopKeepAlive := keepAlive(msg, ackWait)
	err := h(ctx, d)
	stopKeepAlive()
	if err == nil {
		// The work is done even if ctx just ended: acknowledge it anyway
		// rather than have it delivered twice. A synchronous ack, so that
		// when Idle reports nothing pending the work of every message is
		// done, not merely in the ack's flight.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := msg.DoubleAck(actx); err != nil {
			onErr(fmt.Errorf("bus: ack on %s: %w", durable, err))
		}
		return
	}
	if ctx.Err() != nil {
		// Cut short by the stop: hand it back, so that the next start gets
		// it at once rather than AckWait after this delivery. Later than
		// this process's pull requests can still take it (fetchWait), and
		// flushed, for the connection closes right after the stop.
		_ = msg.NakWithDelay(2 * fetchWait)
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
		_ = b.nc.FlushWithContext(fctx)
		cancel()
		return
	}
	onErr(err)
	if IsPermanent(err) {
		_ = msg.TermWithReason(err.Error())
		return
	}
	delay, ok := RetryDelay(err)
	if !ok {
		delay = defaultRedelivery
	}
	_ = msg.NakWithDelay(delay)
}

// keepAlive tells the server every third of the ack wait that msg is still
// being worked on, until the returned function is called.
func keepAlive(msg jetstream.Msg, ackWait time.Duration) func() {
	if ackWait <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() {
		close(done)
		<-ended
	}
}
