package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publish stores one encoded batch in JetStream under subject. msgID is the
// batch's identity: JetStream drops a second message with the same id
// within its duplicate window, so a retried or replayed batch lands once.
// While the stream is full or has no responder (the server is restarting)
// Publish waits and retries until ctx ends: the bus pushes back instead of
// dropping.
func (b *Bus) Publish(ctx context.Context, subject string, data []byte, msgID string) error {
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	if msgID != "" {
		msg.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	backoff := 5 * time.Millisecond
	start := time.Now()
	for {
		_, err := b.js.PublishMsg(ctx, msg)
		if err == nil {
			if b.observePublish != nil {
				b.observePublish(subject, time.Since(start))
			}
			return nil
		}
		if !retryable(err) {
			return fmt.Errorf("bus: publish %s: %w", subject, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bus: publish %s: %w (last error: %v)", subject, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
}

func retryable(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 10077: the stream is full (max bytes or messages); 10047 and
		// 10028: storage or memory exhausted. All clear as consumers
		// catch up.
		switch apiErr.ErrorCode {
		case 10077, 10047, 10028:
			return true
		}
	}
	return errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrTimeout)
}

// BatchID derives a message id from the identities of a batch's items.
func BatchID(kind string, identities []string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, id := range identities {
		h.Write([]byte{0})
		h.Write([]byte(id))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
