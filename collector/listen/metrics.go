package listen

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a listener counts a problem under (Stats.Errors, and the reason
// label of weft_listener_errors_total).
const (
	// A connection refused because max_connections were open (and
	// stayed so for the handshake timeout).
	ReasonMaxConnections = "max_connections"
	// A connection that had sent nothing (or not finished its TLS
	// handshake), closed to make room for a newcomer.
	ReasonEvicted = "evicted"
	// A connection over max_connections_per_peer, waiting for its turn,
	// closed to make room for another peer's.
	ReasonPeerLimit = "max_connections_per_peer"
	// A TLS handshake that failed (no or a wrong client certificate, a
	// client speaking plain TCP, or not done within the handshake
	// timeout).
	ReasonTLS = "tls_handshake"
	// A connection or request closed because nothing came within the
	// idle timeout.
	ReasonIdle = "idle_timeout"
	// A connection or request closed because an event that had started
	// to arrive was not complete within the event timeout (a sender
	// trickling bytes).
	ReasonEventTimeout = "event_timeout"
	// An event skipped: it did not decode, or was over max_event_size.
	ReasonBadEvent = "bad_event"
	// A stream that is not what the listener takes: neither event XML nor
	// NDJSON, or not the Beats protocol.
	ReasonProtocol = "protocol"
	// Reading from the sender failed (the connection was reset).
	ReasonRead = "read_error"
	// Events the bus did not store in time: the sender is told to send
	// them again (HTTP 503, no Beats ACK) or the connection is closed.
	ReasonNotStored = "not_stored"
	// An HTTP request without the right bearer token.
	ReasonUnauthorized = "unauthorized"
	// An HTTP body over max_batch_bytes.
	ReasonTooLarge = "too_large"
	// Any other HTTP request refused: wrong path, method or encoding, or
	// a body with no usable event.
	ReasonBadRequest = "bad_request"
)

// Stats are a listener's running totals.
type Stats struct {
	// Connections accepted, and open now.
	Connections, Active int64
	// Events stored on the bus and acknowledged to their sender.
	Events int64
	// Errors counts problems by reason (the Reason constants).
	Errors map[string]int64
}

// counters are a listener's totals, safe for concurrent use.
type counters struct {
	connections, active, events atomic.Int64

	mu     sync.Mutex
	errors map[string]int64
}

// CountError counts n problems of a reason (one of the Reason constants).
func (l *Listener) CountError(reason string, n int) {
	l.counters.mu.Lock()
	defer l.counters.mu.Unlock()
	if l.counters.errors == nil {
		l.counters.errors = map[string]int64{}
	}
	l.counters.errors[reason] += int64(n)
}

// CountEvents counts n events stored on the bus.
func (l *Listener) CountEvents(n int) { l.counters.events.Add(int64(n)) }

// opened counts a connection accepted; the returned func counts it closed.
func (l *Listener) opened() func() {
	l.counters.connections.Add(1)
	l.counters.active.Add(1)
	var once sync.Once
	return func() { once.Do(func() { l.counters.active.Add(-1) }) }
}

// Stats returns the listener's totals.
func (l *Listener) Stats() Stats {
	l.counters.mu.Lock()
	errs := maps.Clone(l.counters.errors)
	l.counters.mu.Unlock()
	return Stats{
		Connections: l.counters.connections.Load(),
		Active:      l.counters.active.Load(),
		Events:      l.counters.events.Load(),
		Errors:      errs,
	}
}

// Metrics exposes the Stats of the listeners given to Watch to
// Prometheus, labelled by source type and listening address, read at
// scrape time.
type Metrics struct {
	mu        sync.Mutex
	listeners []*Listener

	conns, active, events, errs *prometheus.Desc
}

// NewMetrics registers with reg the collector of the listeners given to
// Watch.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	labels := []string{"source", "listener"}
	m := &Metrics{
		conns:  prometheus.NewDesc("weft_listener_connections_total", "Connections a network source accepted.", labels, nil),
		active: prometheus.NewDesc("weft_listener_active_connections", "Connections open now on a network source.", labels, nil),
		events: prometheus.NewDesc("weft_listener_events_total", "Events a network source stored on the bus and acknowledged to their sender.", labels, nil),
		errs:   prometheus.NewDesc("weft_listener_errors_total", "Problems a network source counted, by reason.", append(labels, "reason"), nil),
	}
	if err := reg.Register(m); err != nil {
		return nil, fmt.Errorf("listen: metrics: %w", err)
	}
	return m, nil
}

// Watch adds a listener to the metrics.
func (m *Metrics) Watch(l *Listener) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listeners = append(m.listeners, l)
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.conns
	ch <- m.active
	ch <- m.events
	ch <- m.errs
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	listeners := slices.Clone(m.listeners)
	m.mu.Unlock()
	for _, l := range listeners {
		st := l.Stats()
		kind, addr := l.kind, l.addr
		ch <- prometheus.MustNewConstMetric(m.conns, prometheus.CounterValue, float64(st.Connections), kind, addr)
		ch <- prometheus.MustNewConstMetric(m.active, prometheus.GaugeValue, float64(st.Active), kind, addr)
		ch <- prometheus.MustNewConstMetric(m.events, prometheus.CounterValue, float64(st.Events), kind, addr)
		for _, reason := range slices.Sorted(maps.Keys(st.Errors)) {
			ch <- prometheus.MustNewConstMetric(m.errs, prometheus.CounterValue, float64(st.Errors[reason]), kind, addr, reason)
		}
	}
}
