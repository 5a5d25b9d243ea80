package sinks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weft-dev/weft/event"
)

// Metrics count, per sink, the attempts to deliver an alert, the failed
// ones, the alerts moved to the dead-letter queue and how long a delivery
// takes.
type Metrics struct {
	attempts, failures, deadLetters *prometheus.CounterVec
	latency                         *prometheus.HistogramVec
}

// NewMetrics registers the sink collectors with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	sink := []string{"sink"}
	m := &Metrics{
		attempts:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weft_sink_attempts_total", Help: "Attempts to deliver an alert."}, sink),
		failures:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weft_sink_failures_total", Help: "Attempts to deliver an alert that failed."}, sink),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weft_sink_dead_letters_total", Help: "Alerts moved to the dead-letter queue."}, sink),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weft_sink_delivery_seconds",
			Help:    "Time one attempt to deliver an alert took.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}, sink),
	}
	for _, c := range []prometheus.Collector{m.attempts, m.failures, m.deadLetters, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("sinks: metrics: %w", err)
		}
	}
	return m, nil
}

// Instrument returns s counted under name; delivery options given with
// WithDelivery are kept.
func (m *Metrics) Instrument(name string, s Sink) Sink {
	if c, ok := s.(configured); ok {
		return configured{m.Instrument(name, c.Sink), c.opts}
	}
	return instrumented{
		Sink:       s,
		attempts:   m.attempts.WithLabelValues(name),
		failures:   m.failures.WithLabelValues(name),
		deadLetter: m.deadLetters.WithLabelValues(name),
		latency:    m.latency.WithLabelValues(name),
	}
}

type instrumented struct {
	Sink
	attempts, failures, deadLetter prometheus.Counter
	latency                        prometheus.Observer
}

func (s instrumented) Send(ctx context.Context, a *event.Alert) error {
	start := time.Now()
	err := s.Sink.Send(ctx, a)
	// An attempt cut short by shutdown says nothing about the receiver.
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return err
	}
	s.attempts.Inc()
	s.latency.Observe(time.Since(start).Seconds())
	if err != nil {
		s.failures.Inc()
	}
	return err
}

// deadLetterHook is what Deliver calls for each alert it dead-letters: the
// counter of an instrumented sink, or nothing.
func deadLetterHook(s Sink) func() {
	if c, ok := s.(configured); ok {
		s = c.Sink
	}
	if i, ok := s.(instrumented); ok {
		return i.deadLetter.Inc
	}
	return func() {}
}
