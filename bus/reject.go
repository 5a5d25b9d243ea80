package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// SubjectRejected holds, in the dead-letter stream, the items that could
// not be published at all (weft.dlq.rejected.<stream>, e.g.
// weft.dlq.rejected.raw): the server refused them for their size, or their
// subject, whatever an event said. They are out of the way of the sinks'
// letters (weft.dlq.<sink>, one token), which DeadLetters lists.
const SubjectRejected = SubjectDLQ + ".rejected"

// Header of a rejected item: where it came from (a file and offset, a
// peer), and its size when the letter holds only its start.
const (
	hdrSource    = "Weft-Source"
	hdrTruncated = "Weft-Truncated"
)

// rejectedKeep is how much of a rejected item's bytes its letter keeps
// when the item is too big to be stored whole; the letter is for people
// to see what was refused, not for replaying.
const rejectedKeep = 64 << 10

// PublishItems publishes items as one message on subject, with a message
// id made of kind and ids (BatchID). When NATS refuses the message for
// what it is (IsRejected: too big, say), the items are published in two
// halves, and so on down to single items; an item refused on its own is
// dead-lettered on SubjectRejected with source(i) saying where it came
// from (nil: its id), counted in Rejected and logged, and the others go
// on. Only a failure of the bus (the connection, ctx) is returned. The
// halves are cut the same way every time, so a batch sent again after a
// crash carries the same message ids.
func PublishItems[T any](ctx context.Context, b *Bus, subject, kind string, items []T, ids []string, source func(i int) string) error {
	return publishItems(ctx, b, subject, kind, items, ids, 0, source)
}

func publishItems[T any](ctx context.Context, b *Bus, subject, kind string, items []T, ids []string, first int, source func(i int) string) error {
	if len(items) == 0 {
		return nil
	}
	data, err := Encode(items)
	if err != nil {
		return err
	}
	err = b.Publish(ctx, subject, data, BatchID(kind, ids))
	if err == nil || !IsRejected(err) {
		return err
	}
	if len(items) == 1 {
		where := ids[0]
		if source != nil {
			where = source(first)
		}
		b.reject(ctx, subject, kind, ids[0], where, data, err)
		return nil
	}
	h := len(items) / 2
	if err := publishItems(ctx, b, subject, kind, items[:h], ids[:h], first, source); err != nil {
		return err
	}
	return publishItems(ctx, b, subject, kind, items[h:], ids[h:], first+h, source)
}

// Refused dead-letters one message Publish returned a *RejectedError for,
// for a publisher that sends items one by one (an alert): the letter keeps
// kind, id and source (where the item came from), and the refusal is
// counted in Rejected and logged. It never fails: a letter that cannot be
// stored is logged, and the caller goes on with the next item.
func (b *Bus) Refused(ctx context.Context, subject, kind, id, source string, data []byte, cause error) {
	b.reject(ctx, subject, kind, id, source, data, cause)
}

// Rejected is the number of items this Bus could not publish and
// dead-lettered instead (PublishItems).
func (b *Bus) Rejected() uint64 { return b.rejected.Load() }

// reject dead-letters one item NATS refused, counts and logs it. A letter
// that cannot be stored either is logged: the stream goes on regardless.
func (b *Bus) reject(ctx context.Context, subject, kind, id, source string, data []byte, cause error) {
	b.rejected.Add(1)
	b.log.Error().Err(cause).Str("source", oneLine(source, 512)).Str("item", oneLine(id, 256)).
		Str("subject", oneLine(subject, 256)).Int("bytes", len(data)).
		Msgf("bus: %s item refused by NATS, dead-lettered on %s", kind, rejectedSubject(subject))
	if err := b.putRejected(ctx, subject, kind, id, source, data, cause); err != nil {
		b.log.Error().Err(err).Str("source", oneLine(source, 512)).Msgf("bus: refused %s item could not be dead-lettered either", kind)
	}
}

// rejectedSubject is the dead-letter subject of an item refused on
// subject: per stream, not per host, so the letters of one flood share a
// subject.
func rejectedSubject(subject string) string {
	kind := "other"
	if s := streamOf(subject); s != "other" {
		kind = strings.ToLower(strings.TrimPrefix(s, "WEFT_"))
	}
	return SubjectRejected + "." + kind
}

func (b *Bus) putRejected(ctx context.Context, subject, kind, id, source string, data []byte, cause error) error {
	if err := b.EnsureDeadLetters(ctx); err != nil {
		return err
	}
	msg := &nats.Msg{Subject: rejectedSubject(subject), Data: data, Header: nats.Header{}}
	msg.Header.Set(hdrConsumer, "publish "+oneLine(kind, 64))
	msg.Header.Set(hdrSubject, oneLine(subject, 256))
	msg.Header.Set(hdrKey, oneLine(id, 256))
	msg.Header.Set(hdrSource, oneLine(source, 512))
	msg.Header.Set(hdrError, oneLine(cause.Error(), maxErrorLen))
	msg.Header.Set(hdrPublished, time.Now().UTC().Format(time.RFC3339Nano))
	// The same item refused again (a file read again after a restart)
	// is one letter within the duplicate window.
	msg.Header.Set(jetstream.MsgIDHeader, boundID("rejected|"+kind+"|"+id))
	if limit := int(b.nc.MaxPayload()) / 2; len(data) > min(limit, rejectedKeep) {
		msg.Data = data[:min(limit, rejectedKeep)]
		msg.Header.Set(hdrTruncated, strconv.Itoa(len(data)))
	}
	if _, err := b.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("bus: dead letter for a refused %s item: %w", kind, err)
	}
	return nil
}

// RejectedItem is an item PublishItems could not publish, as the
// dead-letter stream keeps it.
type RejectedItem struct {
	DeadLetter
	// Source says where the item came from (file and offset, peer).
	Source string
	// Size is the item's encoded size; Data holds only its start when
	// Size is larger.
	Size int
}

// RejectedItems returns up to limit refused items (all when limit is 0),
// oldest first.
func (b *Bus) RejectedItems(ctx context.Context, limit int) ([]RejectedItem, error) {
	if err := b.EnsureDeadLetters(ctx); err != nil {
		return nil, err
	}
	s, err := b.js.Stream(ctx, StreamDLQ)
	if err != nil {
		return nil, fmt.Errorf("bus: stream %s: %w", StreamDLQ, err)
	}
	var out []RejectedItem
	for seq := uint64(1); limit == 0 || len(out) < limit; {
		raw, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(SubjectRejected+".>"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("bus: read %s from sequence %d: %w", StreamDLQ, seq, err)
		}
		it := RejectedItem{DeadLetter: letterOf(raw), Source: raw.Header.Get(hdrSource), Size: len(raw.Data)}
		if n, err := strconv.Atoi(raw.Header.Get(hdrTruncated)); err == nil {
			it.Size = n
		}
		out = append(out, it)
		seq = raw.Sequence + 1
	}
	return out, nil
}
