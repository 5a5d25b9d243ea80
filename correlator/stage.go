package correlator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// Consumer is the durable consumer of the ECS stream for a correlator that
// owns every host: weft run and weft hunt, one correlator per bus.
func Consumer() bus.Consumer {
	return bus.Consumer{Stream: bus.StreamECS, Durable: "correlator", MaxAckPending: 64}
}

// StageOption configures a Stage.
type StageOption func(*Stage)

// WithRebuild makes the stage rebuild the engine's state before it reads
// on: when Serve starts, and, in a group, each time it takes a partition
// over. It replays, without acknowledging, the ECS messages the consumer
// had already acknowledged, from window before the last of them, so a
// sequence that began before a restart or a handover can still complete
// after it. Use the engine's RebuildWindow. Alerts the replay raises again
// are not published twice when the stage also has WithAlertDedup.
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

// WithGroup makes the stage one member of a group of correlators that
// share the hosts partition by partition (see Group), instead of owning
// every host on its own.
func WithGroup(g Group) StageOption {
	return func(st *Stage) { st.group = &g }
}

// DefaultDedupBucket is the key-value bucket of published alert ids.
const DefaultDedupBucket = "weft-alert-ids"

// StageStats counts what a Stage did besides its engines' work.
type StageStats struct {
	Undecodable  uint64 // messages that did not decode
	Replayed     uint64 // messages replayed to rebuild state after a restart or a handover
	Published    uint64 // alerts published
	Deduplicated uint64 // alerts not published: their id was published before
	// In a group: partitions taken over and given up, partitions owned
	// now, and members seen alive.
	Gained, Lost uint64
	Owned        int
	Members      int
}

// Stage runs rules on the ECS stream and publishes their alerts on
// weft.alerts.<rule id>, one message per alert whose Nats-Msg-Id is the
// alert id.
//
// On its own, a stage reads the whole stream with one engine. In a group
// (WithGroup) it reads the partitions of the stream it owns, each with an
// engine and a durable consumer of its own, so that a partition handed
// to another member goes with its progress, and its state is rebuilt
// there by WithRebuild. Each engine is driven from one goroutine at a time.
type Stage struct {
	bus *bus.Bus
	log zerolog.Logger

	rebuild     time.Duration
	dedupBucket string
	dedupTTL    time.Duration
	group       *Group

	// kv is the alert-id bucket, set by open before any lane runs.
	kv jetstream.KeyValue

	// mu guards lanes, template and retired. Lock order: mu before a
	// lane's mu, never the other way round.
	mu sync.Mutex
	// template holds the rules and options the engine of a partition
	// taken over starts with; alone, it is the one lane's engine.
	template *Engine
	lanes    map[int]*lane
	// retired are the counters of the engines of partitions given up, so
	// that the stage's counters never go back.
	retired Stats

	undecodable, replayed, published, deduplicated atomic.Uint64
	gained, lost                                   atomic.Uint64
	members                                        atomic.Int64
}

// allHosts is the lane of a stage on its own.
const allHosts = -1

// lane is one consumer of the ECS stream and the engine fed from it: every
// host, or one partition of a group.
type lane struct {
	partition int
	consumer  bus.Consumer

	mu      sync.Mutex
	engine  *Engine
	stopped bool // given up: its engine is no longer driven

	cancel context.CancelFunc
	done   chan struct{}
	err    error // why run ended, read after done is closed
}

// NewStage wraps an engine for the bus. In a group, e gives the rules and
// options of every partition's engine.
func NewStage(b *bus.Bus, e *Engine, log zerolog.Logger, opts ...StageOption) *Stage {
	s := &Stage{bus: b, template: e, log: log, lanes: map[int]*lane{}}
	for _, o := range opts {
		o(s)
	}
	if s.group == nil {
		s.lanes[allHosts] = &lane{partition: allHosts, consumer: Consumer(), engine: e}
	}
	return s
}

// Consumer is the durable consumer a stage on its own reads.
func (s *Stage) Consumer() bus.Consumer { return Consumer() }

// Consumers are the durable consumers the stage reads now: Consumer(), or
// those of the partitions it owns in a group.
func (s *Stage) Consumers() []bus.Consumer {
	if s.group == nil {
		return []bus.Consumer{Consumer()}
	}
	var out []bus.Consumer
	for _, l := range s.snapshot() {
		out = append(out, l.consumer)
	}
	return out
}

// Owned lists the partitions the stage owns now, in order; nil for a stage
// on its own.
func (s *Stage) Owned() []int {
	var out []int
	for _, l := range s.snapshot() {
		if l.partition != allHosts {
			out = append(out, l.partition)
		}
	}
	slices.Sort(out)
	return out
}

// Serve consumes ECS documents until ctx ends: alone, every host after
// rebuilding its state when WithRebuild asks; in a group, the partitions
// the group gives it as members come and go. Every tick it lets the
// engines release documents of hosts that went quiet, so a live stream's
// last events are not held forever.
func (s *Stage) Serve(ctx context.Context, tick time.Duration) error {
	if err := s.open(ctx); err != nil {
		return err
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
	if s.group != nil {
		return s.serveGroup(ctx)
	}
	l := s.snapshot()[0]
	c := l.consumer
	if s.rebuild > 0 {
		after, err := s.replay(ctx, l)
		if err != nil {
			return fmt.Errorf("correlator: rebuilding state: %w", err)
		}
		if after > 0 {
			// Every message up to after is handled now: the consumer goes
			// on from there, not from its ack floor.
			if c, err = s.bus.ResetConsumer(ctx, c, after); err != nil {
				return fmt.Errorf("correlator: rebuilding state: %w", err)
			}
		}
	}
	return s.consume(ctx, l, c)
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
	s.kv = kv
	return nil
}

func (s *Stage) consume(ctx context.Context, l *lane, c bus.Consumer) error {
	return s.bus.Consume(ctx, c, s.handler(l), func(err error) {
		if !errors.Is(err, context.Canceled) {
			s.log.Error().Err(err).Int("partition", l.partition).Msg("correlator")
		}
	})
}

// replay feeds the lane's engine the messages its consumer delivered in
// the rebuild window, oldest first, publishes the alerts they raise that
// were not published before, and returns the stream sequence the consumer
// must start again after.
//
// The window ends at the last message the consumer delivered, not at its
// ack floor: a process killed with messages in hand pins the floor for
// AckWait, the next one acknowledges newer messages above it, and a
// rebuild that stopped at the floor would forget the sequences those
// began. It starts the rebuild window (the longest maxspan and the time a
// document may wait) before that last message was stored, or at the first
// message not acknowledged, whichever is older, so nothing a dead process
// may have left unhandled is missed. The returned sequence is that last
// message: everything up to it has now been handled, and starting the
// consumer after it (ResetConsumer) fences off the dead process's
// messages rather than have JetStream deliver them again AckWait later.
// Without a window, nothing is replayed and the consumer starts again
// after its ack floor.
func (s *Stage) replay(ctx context.Context, l *lane) (uint64, error) {
	c := l.consumer
	pos, err := s.bus.ProgressOf(ctx, c)
	if err != nil || pos.Delivered == 0 || s.rebuild <= 0 {
		return pos.AckFloor.Seq, err
	}
	from := pos.DeliveredStored.Add(-s.rebuild)
	if pos.DeliveredStored.IsZero() {
		from = time.Now().Add(-s.rebuild)
	}
	if !pos.Unacked.IsZero() && pos.Unacked.Before(from) {
		from = pos.Unacked
	}
	var n uint64
	handle := s.handler(l)
	err = s.bus.Replay(ctx, c.Stream, c.FilterSubject, from, pos.Delivered, func(ctx context.Context, data []byte, subject string) error {
		n++
		s.replayed.Add(1)
		err := handle(ctx, data, subject)
		if bus.IsPermanent(err) {
			return nil // counted; the live consumer had skipped it too
		}
		return err
	})
	ev := s.log.Info()
	if l.partition != allHosts {
		ev = ev.Int("partition", l.partition)
	}
	ev.Uint64("messages", n).Time("from", from).Uint64("through", pos.Delivered).
		Uint64("ack_floor", pos.AckFloor.Seq).Msg("correlator state rebuilt")
	return pos.Delivered, err
}

// handler feeds a lane's engine the documents of one message.
func (s *Stage) handler(l *lane) bus.Handler {
	return func(ctx context.Context, data []byte, subject string) error {
		var batch event.DocumentBatch
		if err := bus.Decode(data, &batch); err != nil {
			s.undecodable.Add(1)
			return bus.Permanent(fmt.Errorf("correlator: message on %s: %w", subject, err))
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		var alerts []event.Alert
		for _, doc := range batch {
			alerts = append(alerts, l.engine.Process(doc)...)
		}
		return s.publish(ctx, alerts)
	}
}

// snapshot is the lanes running now, in partition order.
func (s *Stage) snapshot() []*lane {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*lane, 0, len(s.lanes))
	for _, l := range s.lanes {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b *lane) int { return a.partition - b.partition })
	return out
}

func (s *Stage) ticker(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, l := range s.snapshot() {
				l.mu.Lock()
				var err error
				if !l.stopped {
					err = s.publish(ctx, l.engine.Tick())
				}
				l.mu.Unlock()
				if err != nil && ctx.Err() == nil {
					s.log.Error().Err(err).Msg("correlator: publishing alerts")
				}
			}
		}
	}
}

// Flush evaluates every document the engines still hold (end of input) and
// publishes the alerts.
func (s *Stage) Flush(ctx context.Context) error {
	for _, l := range s.snapshot() {
		l.mu.Lock()
		err := s.publish(ctx, l.engine.Flush())
		l.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// Stats returns the engines' counters, summed over the partitions a group
// member owns and has owned, and the number of undecodable messages.
func (s *Stage) Stats() (Stats, uint64) {
	if s.group == nil {
		l := s.snapshot()[0]
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.engine.Stats(), s.undecodable.Load()
	}
	s.mu.Lock()
	total := s.retired
	total.Rules = slices.Clone(total.Rules)
	rules := s.template.Rules()
	lanes := make([]*lane, 0, len(s.lanes))
	for _, l := range s.lanes {
		lanes = append(lanes, l)
	}
	s.mu.Unlock()
	for _, l := range lanes {
		l.mu.Lock()
		st := l.engine.Stats()
		l.mu.Unlock()
		addStats(&total, st, true)
	}
	return byRules(total, rules), s.undecodable.Load()
}

// addStats adds src's counters to dst, and its levels (documents held,
// pending sequences) too when levels is set.
func addStats(dst *Stats, src Stats, levels bool) {
	dst.Received += src.Received
	dst.Unmatched += src.Unmatched
	dst.Invalid += src.Invalid
	dst.Evaluated += src.Evaluated
	dst.Late += src.Late
	dst.Forced += src.Forced
	dst.Evicted += src.Evicted
	dst.Expired += src.Expired
	dst.Cancelled += src.Cancelled
	dst.Discarded += src.Discarded
	dst.Alerts += src.Alerts
	dst.Suppressed += src.Suppressed
	dst.Forgotten += src.Forgotten
	if levels {
		dst.Buffered += src.Buffered
		dst.Pending += src.Pending
		dst.Waiting += src.Waiting
	}
	for _, r := range src.Rules {
		i := slices.IndexFunc(dst.Rules, func(d RuleStats) bool { return d.ID == r.ID })
		if i < 0 {
			dst.Rules = append(dst.Rules, RuleStats{ID: r.ID, Name: r.Name})
			i = len(dst.Rules) - 1
		}
		d := &dst.Rules[i]
		d.Alerts += r.Alerts
		d.Suppressed += r.Suppressed
		d.Forgotten += r.Forgotten
		d.Evicted += r.Evicted
		d.Expired += r.Expired
		d.Cancelled += r.Cancelled
		d.Discarded += r.Discarded
		if levels {
			d.Pending += r.Pending
			d.Waiting += r.Waiting
		}
	}
}

// byRules orders st.Rules as rules, with a zero entry for a rule no engine
// has run yet, and leaves out the rules no longer run.
func byRules(st Stats, rules []*Rule) Stats {
	out := make([]RuleStats, len(rules))
	for i, r := range rules {
		out[i] = RuleStats{ID: r.ID, Name: r.Name}
		if j := slices.IndexFunc(st.Rules, func(d RuleStats) bool { return d.ID == r.ID }); j >= 0 {
			out[i] = st.Rules[j]
			out[i].Name = r.Name
		}
	}
	st.Rules = out
	return st
}

// StageStats returns what the stage did besides its engines' work.
func (s *Stage) StageStats() StageStats {
	return StageStats{
		Undecodable:  s.undecodable.Load(),
		Replayed:     s.replayed.Load(),
		Published:    s.published.Load(),
		Deduplicated: s.deduplicated.Load(),
		Gained:       s.gained.Load(),
		Lost:         s.lost.Load(),
		Owned:        len(s.Owned()),
		Members:      int(s.members.Load()),
	}
}

// publish sends each alert as its own message, its id as Nats-Msg-Id, and
// records the id in the bucket; an id already there is not sent again. The
// caller holds the mutex of the lane whose engine raised the alerts.
func (s *Stage) publish(ctx context.Context, alerts []event.Alert) error {
	for i := range alerts {
		a := &alerts[i]
		if s.kv != nil {
			if _, err := s.kv.Get(ctx, a.Event.ID); err == nil {
				s.deduplicated.Add(1)
				continue
			} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
				return fmt.Errorf("correlator: alert id bucket: %w", err)
			}
		}
		data, err := bus.Encode(event.AlertBatch{*a})
		if err != nil {
			return err
		}
		subject := bus.Subject(bus.SubjectAlerts, a.Rule.ID)
		if err := s.bus.Publish(ctx, subject, data, a.Event.ID); bus.IsRejected(err) {
			// Too big for a NATS message (its events hold huge fields):
			// kept aside and logged rather than blocking the partition.
			s.bus.Refused(ctx, subject, "alert", a.Event.ID, "rule "+a.Rule.ID+" host "+a.Host.Name, data, err)
			continue
		} else if err != nil {
			return err
		}
		s.published.Add(1)
		if s.kv != nil {
			// The alert is out: its id is recorded even as the stage stops,
			// or the next start would publish it again.
			kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, err := s.kv.Put(kctx, a.Event.ID, []byte(a.Timestamp.UTC().Format(time.RFC3339Nano)))
			cancel()
			if err != nil {
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

// fresh is an engine with e's rules and options and none of its state.
func (e *Engine) fresh() (*Engine, error) {
	return Compile(e.Rules(), e.opts)
}
