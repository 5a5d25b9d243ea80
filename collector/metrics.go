package collector

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics exposes a collector's Counters to Prometheus, read at scrape
// time.
type Metrics struct {
	counters                    *Counters
	out, errs, files, readBytes *prometheus.Desc
	duplicates, warnings        *prometheus.Desc
}

// NewMetrics registers with reg the collectors that read c.
func NewMetrics(reg prometheus.Registerer, c *Counters) (*Metrics, error) {
	// The stage is a constant label, as in the other stages' metrics, so
	// that they register the same names side by side.
	stage := prometheus.Labels{"stage": "collector"}
	m := &Metrics{
		counters:  c,
		out:       prometheus.NewDesc("weft_events_out_total", "Events a stage passed on to the next.", nil, stage),
		errs:      prometheus.NewDesc("weft_errors_total", "Problems a stage counted, by reason.", []string{"reason"}, stage),
		files:     prometheus.NewDesc("weft_collector_files_total", "Files read to their end, or given up.", nil, nil),
		readBytes: prometheus.NewDesc("weft_collector_read_bytes_total", "Input bytes consumed.", nil, nil),
		duplicates: prometheus.NewDesc("weft_collector_duplicate_files_total",
			"Files not read because a file of the same content at another path was read before (logged with both paths).", nil, nil),
		warnings: prometheus.NewDesc("weft_collector_warnings_total",
			"Damage read around without losing an event (a chunk's records checksum mismatch with every record read); not among weft_errors_total.", nil, nil),
	}
	if err := reg.Register(m); err != nil {
		return nil, fmt.Errorf("collector: metrics: %w", err)
	}
	return m, nil
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.out
	ch <- m.errs
	ch <- m.files
	ch <- m.readBytes
	ch <- m.duplicates
	ch <- m.warnings
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(m.out, prometheus.CounterValue, float64(m.counters.Records.Load()))
	ch <- prometheus.MustNewConstMetric(m.errs, prometheus.CounterValue, float64(m.counters.Errors.Load()), "input")
	ch <- prometheus.MustNewConstMetric(m.files, prometheus.CounterValue, float64(m.counters.Files.Load()))
	ch <- prometheus.MustNewConstMetric(m.readBytes, prometheus.CounterValue, float64(m.counters.Bytes.Load()))
	ch <- prometheus.MustNewConstMetric(m.duplicates, prometheus.CounterValue, float64(m.counters.Duplicates.Load()))
	ch <- prometheus.MustNewConstMetric(m.warnings, prometheus.CounterValue, float64(m.counters.Warnings.Load()))
}

// CheckpointMetrics reports, for each source, how far the checkpoints of
// its Publisher trail what it has read: records read that a restart would
// read again, how long the oldest of them has waited, and when a
// checkpoint was last stored. It reads the publishers at scrape time.
type CheckpointMetrics struct {
	mu      sync.Mutex
	sources []watchedPublisher

	records, seconds, saved *prometheus.Desc
}

type watchedPublisher struct {
	source, kind string
	pub          *Publisher
}

// NewCheckpointMetrics registers with reg the collector of the publishers
// given to Watch.
func NewCheckpointMetrics(reg prometheus.Registerer) (*CheckpointMetrics, error) {
	labels := []string{"source", "type"}
	m := &CheckpointMetrics{
		records: prometheus.NewDesc("weft_collector_checkpoint_lag_records",
			"Events read from files and not yet covered by a stored checkpoint: what a restart now would read again.", labels, nil),
		seconds: prometheus.NewDesc("weft_collector_checkpoint_lag_seconds",
			"How long the oldest event read and not yet covered by a checkpoint has waited (0: none).", labels, nil),
		saved: prometheus.NewDesc("weft_collector_last_checkpoint_timestamp_seconds",
			"When a checkpoint was last stored (Unix time; 0: none yet).", labels, nil),
	}
	if err := reg.Register(m); err != nil {
		return nil, fmt.Errorf("collector: metrics: %w", err)
	}
	return m, nil
}

// Watch adds the publisher of a source: source names it (the config key
// of the source, as sources[0]), kind is its type.
func (m *CheckpointMetrics) Watch(source, kind string, p *Publisher) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sources = append(m.sources, watchedPublisher{source, kind, p})
}

// Describe implements prometheus.Collector.
func (m *CheckpointMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.records
	ch <- m.seconds
	ch <- m.saved
}

// Collect implements prometheus.Collector.
func (m *CheckpointMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	sources := slices.Clone(m.sources)
	m.mu.Unlock()
	now := time.Now()
	for _, s := range sources {
		lag := s.pub.Lag()
		var waited, saved float64
		if !lag.Oldest.IsZero() {
			waited = now.Sub(lag.Oldest).Seconds()
		}
		if !lag.Saved.IsZero() {
			saved = float64(lag.Saved.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(m.records, prometheus.GaugeValue, float64(lag.Records), s.source, s.kind)
		ch <- prometheus.MustNewConstMetric(m.seconds, prometheus.GaugeValue, waited, s.source, s.kind)
		ch <- prometheus.MustNewConstMetric(m.saved, prometheus.GaugeValue, saved, s.source, s.kind)
	}
}
