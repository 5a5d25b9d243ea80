package correlator

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// Consumer is the durable consumer of the ECS stream for a correlator that
// owns every host.
func Consumer() bus.Consumer {
	return Share{}.Consumer()
}

// Share is the part of the hosts a correlator owns when several of them
// split the ECS stream: the hosts whose subject token (weft.ecs.<host>)
// hashes, by FNV-1a, to Index modulo Count — the hash of NATS's
// partition() subject mapping and of the normalizer's partitions, so the
// same host lands in the same share everywhere. The zero Share owns every
// host.
//
// Each share has its own durable consumer of the whole stream and skips,
// without decoding them, the messages of hosts it does not own. Sequences
// join events of one host only once hosts are shared out: the seed rule,
// like most, is "sequence by host.id".
type Share struct {
	Index, Count int
}

// ParseShare reads "i/n" (0 <= i < n), or "" for every host.
func ParseShare(s string) (Share, error) {
	if s == "" {
		return Share{}, nil
	}
	i, n, ok := strings.Cut(s, "/")
	idx, err1 := strconv.Atoi(i)
	cnt, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || cnt < 1 || idx < 0 || idx >= cnt {
		return Share{}, fmt.Errorf("share %q: want i/n with 0 <= i < n, such as 0/4", s)
	}
	return Share{Index: idx, Count: cnt}, nil
}

func (s Share) all() bool { return s.Count <= 1 }

func (s Share) String() string {
	if s.all() {
		return "all hosts"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Consumer is the share's durable consumer; the count is in its name, so
// a change of count starts afresh rather than resuming another split.
func (s Share) Consumer() bus.Consumer {
	c := bus.Consumer{Stream: bus.StreamECS, Durable: "correlator", MaxAckPending: 64}
	if !s.all() {
		c.Durable = fmt.Sprintf("correlator-%d-of-%d", s.Index, s.Count)
	}
	return c
}

// Owns reports whether the share owns the host of an ECS subject.
func (s Share) Owns(subject string) bool {
	if s.all() {
		return true
	}
	token := subject
	if i := strings.LastIndexByte(subject, '.'); i >= 0 {
		token = subject[i+1:]
	}
	h := fnv.New32a()
	h.Write([]byte(token))
	return int(h.Sum32()%uint32(s.Count)) == s.Index
}

// StageOption configures a Stage.
type StageOption func(*Stage)

// WithShare makes the stage own only a share of the hosts.
func WithShare(s Share) StageOption { return func(st *Stage) { st.share = s } }

// WithRebuild makes Serve first rebuild the engine's state after a
// restart: it replays, without acknowledging, the ECS messages the stage's
// consumer had already acknowledged, from window before the last of them,
// so a sequence that began before the restart can still complete after
// it. Use the engine's RebuildWindow. Alerts the replay raises again are
// not published twice when the stage also has WithAlertDedup.
func WithRebuild(window time.Duration) StageOption {
	return func(st *Stage) { st.rebuild = window }
}

// WithAlertDedup keeps the ids of published alerts in the JetStream
// key-value bucket for ttl, and publishes no alert whose id is there:
// alert ids are deterministic, so a replay or a redelivery that raises an
// alert again does not send it twice, even after JetStream's two-minute
// duplicate window. ttl should cover the longest time a restart can reach
// back (the rebuild window) and more.
func WithAlertDedup(bucket string, ttl time.Duration) StageOption {
	return func(st *Stage) { st.dedupBucket, st.dedupTTL = bucket, ttl }
}

// DefaultDedupBucket is the key-value bucket of published alert ids.
const DefaultDedupBucket = "weft-alert-ids"

// StageStats counts what a Stage did besides its engine's work.
type StageStats struct {
	Undecodable  uint64 // messages that did not decode
	Foreign      uint64 // messages of hosts of other shares, skipped
	Replayed     uint64 // messages replayed to rebuild state after a restart
	Published    uint64 // alerts published
	Deduplicated uint64 // alerts not published: their id was published before
}

// Stage runs an Engine on the ECS stream and publishes its alerts on
// weft.alerts.<rule id>, one message per alert whose Nats-Msg-Id is the
// alert id. The engine is driven from one goroutine at a time.
type Stage struct {
	bus *bus.Bus
	log zerolog.Logger

	share       Share
	rebuild     time.Duration
	dedupBucket string
	dedupTTL    time.Duration

	mu     sync.Mutex
	engine *Engine
	kv     jetstream.KeyValue
	stats  StageStats
}

// NewStage wraps an engine for the bus.
func NewStage(b *bus.Bus, e *Engine, log zerolog.Logger, opts ...StageOption) *Stage {
	s := &Stage{bus: b, engine: e, log: log}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Consumer is the durable consumer the stage reads.
func (s *Stage) Consumer() bus.Consumer { return s.share.Consumer() }

// Serve consumes ECS documents until ctx ends: after rebuilding its state
// when WithRebuild asks. Every tick it lets the engine release documents
// of hosts that went quiet, so a live stream's last events are not held
// forever.
func (s *Stage) Serve(ctx context.Context, tick time.Duration) error {
	if err := s.open(ctx); err != nil {
		return err
	}
	if s.rebuild > 0 {
		if err := s.replay(ctx); err != nil {
			return fmt.Errorf("correlator: rebuilding state: %w", err)
		}
	}
	if tick > 0 {
		tickCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		defer func() {
			stop()
			<-done
		}()
		go func() {
			defer close(done)
			s.ticker(tickCtx, tick)
		}()
	}
	return s.bus.Consume(ctx, s.Consumer(), s.handle, func(err error) {
		if !errors.Is(err, context.Canceled) {
			s.log.Error().Err(err).Msg("correlator")
		}
	})
}

// open binds the alert-id bucket.
func (s *Stage) open(ctx context.Context) error {
	if s.dedupBucket == "" {
		return nil
	}
	kv, err := s.bus.JetStream().CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      s.dedupBucket,
		Description: "ids of the alerts weft published, so that none is sent twice",
		TTL:         s.dedupTTL,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return fmt.Errorf("correlator: alert id bucket %s: %w", s.dedupBucket, err)
	}
	s.mu.Lock()
	s.kv = kv
	s.mu.Unlock()
	return nil
}

// replay feeds the engine the messages acknowledged in the rebuild window,
// oldest first, and publishes the alerts they raise that were not
// published before.
func (s *Stage) replay(ctx context.Context) error {
	c := s.Consumer()
	floor, err := s.bus.AckFloorOf(ctx, c)
	if err != nil || floor.Seq == 0 {
		return err
	}
	from := floor.Stored.Add(-s.rebuild)
	if floor.Stored.IsZero() {
		from = time.Now().Add(-s.rebuild)
	}
	before := s.StageStats().Replayed
	err = s.bus.Replay(ctx, c.Stream, c.FilterSubject, from, floor.Seq, func(ctx context.Context, data []byte, subject string) error {
		s.mu.Lock()
		s.stats.Replayed++
		s.mu.Unlock()
		err := s.handle(ctx, data, subject)
		if bus.IsPermanent(err) {
			return nil // counted; the live consumer had skipped it too
		}
		return err
	})
	s.log.Info().Uint64("messages", s.StageStats().Replayed-before).Time("from", from).Uint64("through", floor.Seq).
		Str("share", s.share.String()).Msg("correlator state rebuilt")
	return err
}

func (s *Stage) handle(ctx context.Context, data []byte, subject string) error {
	if !s.share.Owns(subject) {
		s.mu.Lock()
		s.stats.Foreign++
		s.mu.Unlock()
		return nil
	}
	var batch event.DocumentBatch
	if err := bus.Decode(data, &batch); err != nil {
		s.mu.Lock()
		s.stats.Undecodable++
		s.mu.Unlock()
		return bus.Permanent(fmt.Errorf("correlator: message on %s: %w", subject, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var alerts []event.Alert
	for _, doc := range batch {
		alerts = append(alerts, s.engine.Process(doc)...)
	}
	return s.publish(ctx, alerts)
}

func (s *Stage) ticker(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			err := s.publish(ctx, s.engine.Tick())
			s.mu.Unlock()
			if err != nil && ctx.Err() == nil {
				s.log.Error().Err(err).Msg("correlator: publishing alerts")
			}
		}
	}
}

// Flush evaluates every document the engine still holds (end of input) and
// publishes the alerts.
func (s *Stage) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publish(ctx, s.engine.Flush())
}

// Stats returns the engine's counters and the number of undecodable
// messages.
func (s *Stage) Stats() (Stats, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.engine.Stats(), s.stats.Undecodable
}

// StageStats returns what the stage did besides its engine's work.
func (s *Stage) StageStats() StageStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// publish sends each alert as its own message, its id as Nats-Msg-Id, and
// records the id in the bucket; an id already there is not sent again. The
// caller holds s.mu.
func (s *Stage) publish(ctx context.Context, alerts []event.Alert) error {
	for i := range alerts {
		a := &alerts[i]
		if s.kv != nil {
			if _, err := s.kv.Get(ctx, a.Event.ID); err == nil {
				s.stats.Deduplicated++
				continue
			} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
				return fmt.Errorf("correlator: alert id bucket: %w", err)
			}
		}
		data, err := bus.Encode(event.AlertBatch{*a})
		if err != nil {
			return err
		}
		if err := s.bus.Publish(ctx, bus.Subject(bus.SubjectAlerts, a.Rule.ID), data, a.Event.ID); err != nil {
			return err
		}
		s.stats.Published++
		if s.kv != nil {
			if _, err := s.kv.Put(ctx, a.Event.ID, []byte(a.Timestamp.UTC().Format(time.RFC3339Nano))); err != nil {
				return fmt.Errorf("correlator: alert id bucket: %w", err)
			}
		}
	}
	return nil
}

// RebuildWindow is how far back in the ECS stream a restarted correlator
// must replay to rebuild the engine's state: the longest maxspan, plus the
// time a document may wait for reordering (the lateness, and the idle
// timeout of a quiet host). It assumes documents reach the stream about as
// fast as they happen; widen it for hosts that forward much later.
func (e *Engine) RebuildWindow() time.Duration {
	return e.MaxSpan() + max(e.opts.Lateness, 0) + e.opts.IdleTimeout
}
