package collector

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics exposes a collector's Counters to Prometheus, read at scrape
// time.
type Metrics struct {
	counters                    *Counters
	out, errs, files, readBytes *prometheus.Desc
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
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(m.out, prometheus.CounterValue, float64(m.counters.Records.Load()))
	ch <- prometheus.MustNewConstMetric(m.errs, prometheus.CounterValue, float64(m.counters.Errors.Load()), "input")
	ch <- prometheus.MustNewConstMetric(m.files, prometheus.CounterValue, float64(m.counters.Files.Load()))
	ch <- prometheus.MustNewConstMetric(m.readBytes, prometheus.CounterValue, float64(m.counters.Bytes.Load()))
}
