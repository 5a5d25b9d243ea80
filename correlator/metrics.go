package correlator

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics exposes a Stage's counters to Prometheus, per rule where the
// engine counts per rule, and for a member of a group the partitions it
// owns and the handovers. It reads Stage.Stats at scrape time rather than
// adding work to the engine's hot path.
type Metrics struct {
	stage *Stage

	in, out, errs                    *prometheus.Desc
	pending, evicted, expired        *prometheus.Desc
	alerts, suppressed, buffered, dd *prometheus.Desc
	replayed, owned, handovers, mems *prometheus.Desc
	forgotten, behind, early         *prometheus.Desc
}

// NewMetrics registers with reg the collectors that read s.
func NewMetrics(reg prometheus.Registerer, s *Stage) (*Metrics, error) {
	rule := []string{"rule"}
	// The stage is a constant label, so the stages of one process register
	// the same names side by side.
	stageLabel := prometheus.Labels{"stage": "correlator"}
	m := &Metrics{
		stage:      s,
		in:         prometheus.NewDesc("weft_events_in_total", "Events a stage took in.", nil, stageLabel),
		out:        prometheus.NewDesc("weft_events_out_total", "Events a stage passed on to the next.", nil, stageLabel),
		errs:       prometheus.NewDesc("weft_errors_total", "Problems a stage counted, by reason.", []string{"reason"}, stageLabel),
		pending:    prometheus.NewDesc("weft_correlator_pending_sequences", "Partial sequences (and sample keys) a rule holds now.", rule, nil),
		evicted:    prometheus.NewDesc("weft_correlator_evicted_total", "Partial sequences dropped to respect max_pending.", rule, nil),
		expired:    prometheus.NewDesc("weft_correlator_expired_total", "Partial sequences dropped after their maxspan.", rule, nil),
		alerts:     prometheus.NewDesc("weft_alerts_total", "Alerts a rule raised.", rule, nil),
		suppressed: prometheus.NewDesc("weft_alerts_suppressed_total", "Alerts over a rule's max_signals per host and interval, dropped.", rule, nil),
		forgotten:  prometheus.NewDesc("weft_correlator_throttle_forgotten_total", "Hosts whose max_signals counts a rule forgot, to bound its memory (they may alert again in that interval).", rule, nil),
		buffered:   prometheus.NewDesc("weft_correlator_buffered_documents", "Documents held now to put each host's events in event-time order.", nil, nil),
		dd:         prometheus.NewDesc("weft_correlator_deduplicated_alerts_total", "Alerts not published again because their id was published before.", nil, nil),
		replayed:   prometheus.NewDesc("weft_correlator_replayed_messages_total", "ECS messages replayed to rebuild state after a restart or a handover.", nil, nil),
		owned:      prometheus.NewDesc("weft_correlator_owned_partitions", "Partitions of the ECS stream this member of a correlator group reads now.", nil, nil),
		handovers:  prometheus.NewDesc("weft_correlator_handovers_total", "Partitions this member of a correlator group took over (gained) or gave up (lost).", []string{"direction"}, nil),
		mems:       prometheus.NewDesc("weft_correlator_group_members", "Members of the correlator group this one sees alive, itself included.", nil, nil),
		// Not errors: such a document is evaluated all the same, only not in
		// event-time order. Files of one host read one after the other do
		// this in normal operation (each file starts behind the last one's
		// newest event), so it must not count among weft_errors_total.
		behind: prometheus.NewDesc("weft_correlator_events_behind_watermark_total",
			"Documents that arrived behind their host's watermark (older than the host's newest event less the lateness): evaluated at once, out of event-time order, not dropped.", nil, nil),
		early: prometheus.NewDesc("weft_correlator_early_releases_total",
			"Documents evaluated before their lateness passed because the reorder buffer was full: evaluated, not dropped.", nil, nil),
	}
	if err := reg.Register(m); err != nil {
		return nil, fmt.Errorf("correlator: metrics: %w", err)
	}
	return m, nil
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.in, m.out, m.errs, m.pending, m.evicted, m.expired, m.alerts, m.suppressed, m.buffered, m.dd, m.replayed, m.owned, m.handovers, m.mems, m.forgotten, m.behind, m.early} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	st, _ := m.stage.Stats()
	ss := m.stage.StageStats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(m.in, st.Received)
	counter(m.out, ss.Published)
	counter(m.errs, ss.Undecodable, "undecodable")
	counter(m.errs, st.Invalid, "invalid_timestamp")
	counter(m.behind, st.Late)
	counter(m.early, st.Forced)
	counter(m.dd, ss.Deduplicated)
	counter(m.replayed, ss.Replayed)
	if m.stage.group != nil {
		ch <- prometheus.MustNewConstMetric(m.owned, prometheus.GaugeValue, float64(ss.Owned))
		ch <- prometheus.MustNewConstMetric(m.mems, prometheus.GaugeValue, float64(ss.Members))
		counter(m.handovers, ss.Gained, "gained")
		counter(m.handovers, ss.Lost, "lost")
	}
	ch <- prometheus.MustNewConstMetric(m.buffered, prometheus.GaugeValue, float64(st.Buffered))
	for _, r := range st.Rules {
		ch <- prometheus.MustNewConstMetric(m.pending, prometheus.GaugeValue, float64(r.Pending), r.ID)
		counter(m.evicted, r.Evicted, r.ID)
		counter(m.expired, r.Expired, r.ID)
		counter(m.alerts, r.Alerts, r.ID)
		counter(m.suppressed, r.Suppressed, r.ID)
		counter(m.forgotten, r.Forgotten, r.ID)
	}
}
