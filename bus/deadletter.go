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

// The dead-letter stream keeps messages a consumer gave up on, one subject
// per consumer: weft.dlq.<consumer>.
const (
	StreamDLQ  = "WEFT_DLQ"
	SubjectDLQ = "weft.dlq"
	// DeadLetterMaxAge is how long a dead letter is kept on disk when
	// nobody replays or removes it.
	DeadLetterMaxAge = 30 * 24 * time.Hour
)

// Headers of a dead letter.
const (
	hdrConsumer  = "Weft-Consumer"
	hdrSubject   = "Weft-Subject"
	hdrError     = "Weft-Error"
	hdrAttempts  = "Weft-Attempts"
	hdrPublished = "Weft-Published"
	hdrKey       = "Weft-Key"
	hdrOrigin    = "Weft-Origin"
)

// maxErrorLen bounds the error kept with a dead letter.
const maxErrorLen = 2048

// DeadLetter is a message a consumer gave up on, with why.
type DeadLetter struct {
	// Sequence is the letter's sequence in the dead-letter stream, set
	// when it is read back.
	Sequence uint64
	// Consumer names who gave up, e.g. a sink.
	Consumer string
	// Subject is where the message was published, and Origin its
	// sequence in that stream.
	Subject string
	Origin  uint64
	// Key identifies the message's content for people and for
	// deduplication (an alert id); empty when unknown.
	Key  string
	Data []byte
	// Error is the last error, on one line.
	Error string
	// Attempts is the number of deliveries made.
	Attempts int
	// Published is when the original message was stored; Failed is when
	// the letter was stored.
	Published, Failed time.Time
}

// EnsureDeadLetters creates the dead-letter stream or brings its
// configuration up to date; running it again changes nothing. Unlike the
// other streams it keeps letters by limits, not interest: nobody consumes
// them until someone lists or replays them.
func (b *Bus) EnsureDeadLetters(ctx context.Context) error {
	cfg := b.streamConfig(StreamDLQ, SubjectDLQ)
	cfg.Retention = jetstream.LimitsPolicy
	if !b.memory() {
		cfg.MaxAge = DeadLetterMaxAge
	}
	if _, err := b.js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("bus: stream %s: %w", StreamDLQ, err)
	}
	return nil
}

// PutDeadLetter stores dl on weft.dlq.<consumer>. A letter with a key is
// stored once within the duplicate window even if put twice (its original
// was redelivered after the letter was stored); the same key from another
// original, such as a replay, is a new letter.
func (b *Bus) PutDeadLetter(ctx context.Context, dl DeadLetter) error {
	msg := &nats.Msg{Subject: Subject(SubjectDLQ, dl.Consumer), Data: dl.Data, Header: nats.Header{}}
	msg.Header.Set(hdrConsumer, oneLine(dl.Consumer, 256))
	msg.Header.Set(hdrSubject, oneLine(dl.Subject, 256))
	msg.Header.Set(hdrError, oneLine(dl.Error, maxErrorLen))
	msg.Header.Set(hdrAttempts, strconv.Itoa(dl.Attempts))
	msg.Header.Set(hdrOrigin, strconv.FormatUint(dl.Origin, 10))
	if !dl.Published.IsZero() {
		msg.Header.Set(hdrPublished, dl.Published.UTC().Format(time.RFC3339Nano))
	}
	if dl.Key != "" {
		key := oneLine(dl.Key, 256)
		msg.Header.Set(hdrKey, key)
		msg.Header.Set(jetstream.MsgIDHeader, boundID("dlq|"+dl.Consumer+"|"+strconv.FormatUint(dl.Origin, 10)+"|"+key))
	}
	if _, err := b.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("bus: dead letter for %s: %w", dl.Consumer, err)
	}
	return nil
}

// DeadLetters returns up to limit letters (all when limit is 0) in the
// order they were stored, of one consumer or, when consumer is empty, of
// all.
func (b *Bus) DeadLetters(ctx context.Context, consumer string, limit int) ([]DeadLetter, error) {
	s, err := b.js.Stream(ctx, StreamDLQ)
	if err != nil {
		return nil, fmt.Errorf("bus: stream %s: %w", StreamDLQ, err)
	}
	// One token: the sinks' letters, not the refused items
	// (SubjectRejected) below them.
	filter := SubjectDLQ + ".*"
	if consumer != "" {
		filter = Subject(SubjectDLQ, consumer)
	}
	var out []DeadLetter
	for seq := uint64(1); limit == 0 || len(out) < limit; {
		raw, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("bus: read %s from sequence %d: %w", StreamDLQ, seq, err)
		}
		out = append(out, letterOf(raw))
		seq = raw.Sequence + 1
	}
	return out, nil
}

// DeleteDeadLetter removes the letter with the given sequence.
func (b *Bus) DeleteDeadLetter(ctx context.Context, seq uint64) error {
	s, err := b.js.Stream(ctx, StreamDLQ)
	if err != nil {
		return fmt.Errorf("bus: stream %s: %w", StreamDLQ, err)
	}
	if err := s.DeleteMsg(ctx, seq); err != nil {
		return fmt.Errorf("bus: delete dead letter %d: %w", seq, err)
	}
	return nil
}

func letterOf(raw *jetstream.RawStreamMsg) DeadLetter {
	h := raw.Header
	dl := DeadLetter{
		Sequence: raw.Sequence,
		Consumer: h.Get(hdrConsumer),
		Subject:  h.Get(hdrSubject),
		Key:      h.Get(hdrKey),
		Data:     raw.Data,
		Error:    h.Get(hdrError),
		Failed:   raw.Time,
	}
	dl.Attempts, _ = strconv.Atoi(h.Get(hdrAttempts))
	dl.Origin, _ = strconv.ParseUint(h.Get(hdrOrigin), 10, 64)
	dl.Published, _ = time.Parse(time.RFC3339Nano, h.Get(hdrPublished))
	return dl
}

// oneLine makes s fit a header value: control characters become spaces
// and it is cut to at most limit bytes.
func oneLine(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > limit {
		cut := limit - len("…")
		for cut > 0 && !startsRune(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// startsRune reports whether c is the first byte of a UTF-8 sequence.
func startsRune(c byte) bool { return c&0xc0 != 0x80 }
