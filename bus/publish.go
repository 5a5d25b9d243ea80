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
//
// A message NATS refuses for what it is (a subject ValidSubject refuses, a
// payload over the server's limit, an error the stream answers for this
// message) is returned at once as a *RejectedError: sending it again
// cannot succeed, and the connection stays up for the messages after it.
// A msgID longer than maxMsgIDLen is replaced by its hash.
func (b *Bus) Publish(ctx context.Context, subject string, data []byte, msgID string) error {
	if err := ValidSubject(subject); err != nil {
		return &RejectedError{Subject: clipSubject(subject), Err: err}
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	if msgID != "" {
		msg.Header.Set(jetstream.MsgIDHeader, boundID(msgID))
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
		if rejected(err) {
			return &RejectedError{Subject: subject, Err: err}
		}
		if !retryable(ctx, err) {
			return fmt.Errorf("bus: publish %s: %w", subject, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bus: publish %s: %w (last error: %v)", subject, ctx.Err(), err)
		case <-time.After(backoff):
		}
		limit := time.Second
		if streamFull(err) {
			// A full stream drains as fast as its consumers work, in
			// milliseconds: a publisher backing off for a second would
			// leave the stages after it idle (weft hunt's bounded streams
			// are full most of the time, by design).
			limit = maxFullBackoff
		}
		backoff = min(backoff*2, limit)
	}
}

// retryable reports whether a publish may succeed when tried again. A
// deadline the client set itself (nats.go gives a publish without a
// deadline its own 5 s) is not the caller's: on a loaded machine the store
// answers late, and giving up would drop what the caller still waits to
// store. The message id drops the copy if the first one landed after all.
func retryable(ctx context.Context, err error) bool {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return true
	}
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

// maxFullBackoff is the longest a publisher waits before trying a full
// stream again.
const maxFullBackoff = 20 * time.Millisecond

// streamFull reports whether a publish failed for a stream at its limits.
func streamFull(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == 10077
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

// maxMsgIDLen bounds the Nats-Msg-Id header: JetStream keeps every id of
// its duplicate window in memory.
const maxMsgIDLen = 128

// boundID returns id, or, when it is longer than maxMsgIDLen, a hash of
// it: the same id always gives the same header, so deduplication holds.
func boundID(id string) string {
	if len(id) <= maxMsgIDLen {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// RejectedError is a message NATS refused for what it is, not for the
// state of the connection or the stream: it will be refused again.
type RejectedError struct {
	Subject string
	Err     error
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("bus: publish %s: message refused: %v", e.Subject, e.Err)
}

func (e *RejectedError) Unwrap() error { return e.Err }

// IsRejected reports whether err is, or wraps, a *RejectedError.
func IsRejected(err error) bool {
	var r *RejectedError
	return errors.As(err, &r)
}

// rejected reports whether a publish error is about the message itself:
// the client refused it before sending (its size, subject or headers), or
// the stream answered with an error that waiting does not clear.
func rejected(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return !retryable(context.Background(), err)
	}
	return errors.Is(err, nats.ErrMaxPayload) ||
		errors.Is(err, nats.ErrBadSubject) ||
		errors.Is(err, nats.ErrBadHeaderMsg)
}

// clipSubject keeps an error message about a subject readable.
func clipSubject(s string) string { return oneLine(s, 200) }
