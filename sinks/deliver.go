package sinks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/internal/confkey"
)

// Defaults for the zero values of DeliveryOptions.
const (
	DefaultConcurrency     = 1
	DefaultMaxAge          = 12 * time.Hour
	DefaultRetryBackoff    = time.Second
	DefaultRetryMaxBackoff = 5 * time.Minute
)

// maxAckPending bounds the alert messages one sink holds undelivered at
// once, those waiting for a redelivery included. It is large so that a
// few alerts a receiver keeps failing do not hold up the others.
const maxAckPending = 1024

// DeliveryOptions say how a sink's alerts are delivered and when one is
// given up to the dead-letter queue. In weft.yaml they are the delivery
// section of a sink. Zero values take the defaults.
type DeliveryOptions struct {
	// Concurrency bounds the alerts the sink sends at once. Default 1,
	// which keeps the order of the alert stream while the receiver accepts
	// everything.
	Concurrency int `yaml:"concurrency"`
	// MaxDeliveries moves an alert to the dead-letter queue after that
	// many deliveries failed. Each delivery is one Send, which makes the
	// sink's own quick tries (attempts, for HTTP sinks). 0: no limit by
	// count; MaxAge decides.
	MaxDeliveries int `yaml:"max_deliveries"`
	// MaxAge moves an alert to the dead-letter queue once it has waited
	// that long in the alert stream without being delivered. Default 12h;
	// cut to 90% of the stream's own max_age, which would delete it.
	MaxAge time.Duration `yaml:"max_age"`
	// RetryBackoff is the wait before the first redelivery; it doubles
	// with each delivery up to RetryMaxBackoff, each wait drawn at random
	// from its upper half. Defaults 1s and 5m. A receiver's Retry-After
	// replaces the backoff.
	RetryBackoff    time.Duration `yaml:"retry_backoff"`
	RetryMaxBackoff time.Duration `yaml:"retry_max_backoff"`
}

// Validate reports negative values, each with its key in a sink's
// delivery section (confkey).
func (o DeliveryOptions) Validate() error {
	var errs []error
	for _, f := range []struct {
		key string
		v   int64
	}{
		{"concurrency", int64(o.Concurrency)}, {"max_deliveries", int64(o.MaxDeliveries)}, {"max_age", int64(o.MaxAge)},
		{"retry_backoff", int64(o.RetryBackoff)}, {"retry_max_backoff", int64(o.RetryMaxBackoff)},
	} {
		if f.v < 0 {
			errs = append(errs, confkey.Errorf(f.key, "must not be negative"))
		}
	}
	return errors.Join(errs...)
}

func (o DeliveryOptions) withDefaults() DeliveryOptions {
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = DefaultRetryBackoff
	}
	if o.RetryMaxBackoff == 0 {
		o.RetryMaxBackoff = max(DefaultRetryMaxBackoff, o.RetryBackoff)
	}
	return o
}

// configured is a Sink with its delivery options.
type configured struct {
	Sink
	opts DeliveryOptions
}

// WithDelivery returns s with delivery options for Deliver. A sink passed
// to Deliver without them is delivered with the defaults.
func WithDelivery(s Sink, o DeliveryOptions) Sink { return configured{s, o} }

// Consumer is the durable consumer of the alert stream for the sink named
// name: every alert, and the alerts replayed to that sink alone.
func Consumer(name string) bus.Consumer {
	return bus.Consumer{
		Stream:         bus.StreamAlerts,
		Durable:        "sink-" + durableToken(name),
		FilterSubjects: []string{bus.SubjectAlerts + ".*", ReplaySubject(name)},
		MaxAckPending:  maxAckPending,
	}
}

// ReplaySubject is where alerts meant for one sink only are published:
// weft.alerts.sink.<name>, which the other sinks' consumers do not read.
func ReplaySubject(name string) string { return bus.Subject(bus.SubjectAlerts+".sink", name) }

// durableToken makes a sink name usable in a consumer name, which allows
// no whitespace, dots, wildcards or path separators.
func durableToken(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, name)
}

// Deliver reads the alert stream through the durable consumer of the sink
// named name and hands each alert to s, until ctx ends.
//
// A message of the stream is acknowledged only once each of its alerts was
// accepted by the receiver or moved to the dead-letter queue; until then
// JetStream delivers it again, after a backoff with jitter or the
// receiver's Retry-After, and the alerts already accepted are not sent
// again by this process (receivers deduplicate by alert id the ones sent
// again after a restart). An alert goes to the dead-letter queue
// (weft.dlq.<name>) with its last error when the sink marks the failure
// permanent, or when MaxDeliveries or MaxAge is reached.
func Deliver(ctx context.Context, b *bus.Bus, name string, s Sink, log zerolog.Logger) error {
	var opts DeliveryOptions
	if c, ok := s.(configured); ok {
		opts = c.opts
	}
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("sink %s: %w", name, confkey.Under("delivery", err))
	}
	opts = opts.withDefaults()
	if err := b.EnsureDeadLetters(ctx); err != nil {
		return fmt.Errorf("sink %s: %w", name, err)
	}
	log = log.With().Str("sink", name).Logger()
	opts.MaxAge = fitStream(ctx, b, opts.MaxAge, log)
	d := &deliverer{
		bus:   b,
		name:  name,
		sink:  s,
		opts:  opts,
		log:   log,
		slots: make(chan struct{}, opts.Concurrency),
		sent:  map[uint64]*progress{},

		deadLettered: deadLetterHook(s),
	}
	return b.ConsumeConcurrently(ctx, Consumer(name), opts.Concurrency, d.handle, d.report)
}

// fitStream cuts maxAge below the alert stream's max_age, past which the
// stream would delete an alert still being retried.
func fitStream(ctx context.Context, b *bus.Bus, maxAge time.Duration, log zerolog.Logger) time.Duration {
	s, err := b.JetStream().Stream(ctx, bus.StreamAlerts)
	if err != nil {
		return maxAge
	}
	limit := s.CachedInfo().Config.MaxAge * 9 / 10
	if limit > 0 && maxAge > limit {
		log.Warn().Dur("max_age", maxAge).Dur("stream_max_age", s.CachedInfo().Config.MaxAge).
			Msg("delivery max_age is cut to 90% of the alert stream's max_age, so alerts reach the dead-letter queue before the stream deletes them")
		return limit
	}
	return maxAge
}

type deliverer struct {
	bus   *bus.Bus
	name  string
	sink  Sink
	opts  DeliveryOptions
	log   zerolog.Logger
	slots chan struct{}
	// deadLettered counts an alert moved to the dead-letter queue.
	deadLettered func()

	mu sync.Mutex
	// sent remembers, per stream sequence of a message being retried,
	// which of its alerts are done (delivered or dead-lettered).
	sent map[uint64]*progress
}

type progress struct {
	done []bool
	at   time.Time
}

func (d *deliverer) handle(ctx context.Context, m bus.Delivery) error {
	var batch event.AlertBatch
	if err := bus.Decode(m.Data, &batch); err != nil {
		err = fmt.Errorf("message %d on %s does not decode as alerts: %w", m.Sequence, m.Subject, err)
		if dlqErr := d.deadLetter(ctx, m, m.Data, "", err); dlqErr != nil {
			return bus.Retry(fmt.Errorf("sink %s: %w; and it could not be dead-lettered: %w", d.name, err, dlqErr), d.backoff(m.Attempt))
		}
		d.log.Error().Err(err).Uint64("sequence", m.Sequence).Msg("undecodable message moved to the dead-letter queue")
		return nil
	}
	done := d.progressOf(m.Sequence, len(batch))
	errs := d.sendAll(ctx, batch, done)
	for i, err := range errs {
		if err == nil && !done[i] {
			done[i] = true
			if m.Attempt > 1 {
				d.log.Info().Str("alert", batch[i].Event.ID).Int("deliveries", m.Attempt).Msg("alert delivered after retries")
			}
		}
	}
	if ctx.Err() != nil {
		d.remember(m.Sequence, done)
		return ctx.Err()
	}

	age := time.Duration(0)
	if !m.Published.IsZero() {
		age = time.Since(m.Published)
	}
	var expired string
	switch {
	case d.opts.MaxDeliveries > 0 && m.Attempt >= d.opts.MaxDeliveries:
		expired = fmt.Sprintf("gave up after %d deliveries (max_deliveries)", m.Attempt)
	case age >= d.opts.MaxAge:
		expired = fmt.Sprintf("gave up after %s and %d deliveries (max_age %s)", age.Round(time.Millisecond), m.Attempt, d.opts.MaxAge)
	}
	var (
		failed int
		first  error
		wait   time.Duration
	)
	for i, err := range errs {
		switch {
		case done[i]:
			continue
		case IsPermanent(err) || expired != "":
			reason := expired
			if reason == "" {
				reason = "rejected for good"
			}
			if d.giveUp(ctx, m, &batch[i], err, reason) {
				done[i] = true
				continue
			}
		}
		failed++
		if first == nil {
			first = err
		}
		if ra, ok := RetryAfter(err); ok {
			wait = max(wait, ra)
		}
	}
	if failed == 0 {
		d.forget(m.Sequence)
		return nil
	}
	d.remember(m.Sequence, done)
	delay := d.nextDelay(m.Attempt, wait, d.opts.MaxAge-age)
	return bus.Retry(fmt.Errorf("sink %s: %d of %d alerts of message %d not delivered (delivery %d); next try in %s: %w",
		d.name, failed, len(batch), m.Sequence, m.Attempt, delay.Round(time.Millisecond), first), delay)
}

// sendAll sends the alerts not yet done, at most Concurrency at a time
// across all messages, and returns each one's error.
func (d *deliverer) sendAll(ctx context.Context, batch event.AlertBatch, done []bool) []error {
	errs := make([]error, len(batch))
	var wg sync.WaitGroup
	for i := range batch {
		if done[i] {
			continue
		}
		select {
		case d.slots <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-d.slots }()
			errs[i] = d.send(ctx, &batch[i])
		}()
	}
	wg.Wait()
	return errs
}

// send calls the sink, turning a panic into a permanent failure of this
// alert: whatever in it made the sink panic would do so again.
func (d *deliverer) send(ctx context.Context, a *event.Alert) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("sink %s panicked on alert %s: %v", d.name, a.Event.ID, r))
		}
	}()
	return d.sink.Send(ctx, a)
}

// giveUp moves one alert to the dead-letter queue and reports whether it
// is there.
func (d *deliverer) giveUp(ctx context.Context, m bus.Delivery, a *event.Alert, cause error, reason string) bool {
	data, err := bus.Encode(event.AlertBatch{*a})
	if err == nil {
		err = d.deadLetter(ctx, m, data, a.Event.ID, cause)
	}
	if err != nil {
		d.log.Error().Err(err).Str("alert", a.Event.ID).Msg("could not move the alert to the dead-letter queue; it stays in the alert stream")
		return false
	}
	d.log.Error().Err(cause).Str("alert", a.Event.ID).Str("rule", a.Rule.ID).Int("deliveries", m.Attempt).
		Msg("alert moved to the dead-letter queue: " + reason)
	return true
}

func (d *deliverer) deadLetter(ctx context.Context, m bus.Delivery, data []byte, key string, cause error) error {
	err := d.bus.PutDeadLetter(ctx, bus.DeadLetter{
		Consumer:  d.name,
		Subject:   m.Subject,
		Origin:    m.Sequence,
		Key:       key,
		Data:      data,
		Error:     cause.Error(),
		Attempts:  m.Attempt,
		Published: m.Published,
	})
	if err == nil {
		d.deadLettered()
	}
	return err
}

// nextDelay is the wait before the next delivery: the receiver's
// Retry-After with up to 10% added, or the backoff; never past the time
// left before MaxAge, so the last try comes when the alert expires.
func (d *deliverer) nextDelay(attempt int, retryAfter, left time.Duration) time.Duration {
	wait := d.backoff(attempt)
	if retryAfter > 0 {
		wait = retryAfter + rand.N(retryAfter/10+1)
	}
	return max(min(wait, left), time.Millisecond)
}

// backoff is RetryBackoff doubled for each delivery after the first, up
// to RetryMaxBackoff, drawn at random from its upper half.
func (d *deliverer) backoff(attempt int) time.Duration {
	w := d.opts.RetryBackoff
	for i := 1; i < attempt && w < d.opts.RetryMaxBackoff; i++ {
		w *= 2
	}
	w = min(w, d.opts.RetryMaxBackoff)
	return w/2 + rand.N(w/2+1)
}

func (d *deliverer) report(err error) {
	if _, ok := bus.RetryDelay(err); ok {
		d.log.Warn().Err(err).Msg("delivery failed; will retry")
		return
	}
	d.log.Error().Err(err).Msg("delivery")
}

func (d *deliverer) progressOf(seq uint64, n int) []bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.sent[seq]; ok && len(p.done) == n {
		return append([]bool(nil), p.done...)
	}
	return make([]bool, n)
}

// remember keeps the progress of a message that will be redelivered. An
// entry whose redelivery went to another process is dropped once it is
// older than MaxAge, when the alert would be dead-lettered anyway.
func (d *deliverer) remember(seq uint64, done []bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	for s, p := range d.sent {
		if now.Sub(p.at) > d.opts.MaxAge {
			delete(d.sent, s)
		}
	}
	d.sent[seq] = &progress{done: done, at: now}
}

func (d *deliverer) forget(seq uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.sent, seq)
}
