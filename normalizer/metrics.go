package normalizer

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics exposes a normalizer's Counters to Prometheus. It reads them at
// scrape time, so the hot path keeps its two atomic adds.
type Metrics struct {
	counters      *Counters
	in, out, errs *prometheus.Desc
}

// NewMetrics registers with reg the collectors that read c.
func NewMetrics(reg prometheus.Registerer, c *Counters) (*Metrics, error) {
	// The stage is a constant label, so the stages of one process register
	// the same names side by side.
	stageLabel := prometheus.Labels{"stage": "normalizer"}
	m := &Metrics{
		counters: c,
		in:       prometheus.NewDesc("weft_events_in_total", "Events a stage took in.", nil, stageLabel),
		out:      prometheus.NewDesc("weft_events_out_total", "Events a stage passed on to the next.", nil, stageLabel),
		errs:     prometheus.NewDesc("weft_errors_total", "Problems a stage counted, by reason.", []string{"reason"}, stageLabel),
	}
	if err := reg.Register(m); err != nil {
		return nil, fmt.Errorf("normalizer: metrics: %w", err)
	}
	return m, nil
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.in
	ch <- m.out
	ch <- m.errs
}

// Collect implements prometheus.Collector. Every raw event becomes one
// document, so what came in is what went out once stored.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	events := float64(m.counters.Events.Load())
	ch <- prometheus.MustNewConstMetric(m.in, prometheus.CounterValue, events)
	ch <- prometheus.MustNewConstMetric(m.out, prometheus.CounterValue, events)
	ch <- prometheus.MustNewConstMetric(m.errs, prometheus.CounterValue, float64(m.counters.Errors.Load()), "normalize")
}
