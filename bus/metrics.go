package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the bus's Prometheus collectors: publish latency, observed
// as Publish runs, and the backlog of consumers, read from JetStream when
// the registry is scraped.
type Metrics struct {
	publish   *prometheus.HistogramVec
	pending   *prometheus.Desc
	bus       *Bus
	consumers ConsumerSet
}

// ConsumerSet says which durable consumers a process reads now: a fixed
// list for most stages, the partitions it owns for a correlator of a group.
type ConsumerSet func() []Consumer

// Consumers is a ConsumerSet that never changes.
func Consumers(cs ...Consumer) ConsumerSet {
	return func() []Consumer { return cs }
}

// NewMetrics makes b report to reg: the latency of every Publish, and the
// messages pending for each consumer of consumers (nil: none) at every
// scrape. Call it before anything publishes on b.
func NewMetrics(reg prometheus.Registerer, b *Bus, consumers ConsumerSet) (*Metrics, error) {
	m := &Metrics{
		publish: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weft_bus_publish_seconds",
			Help:    "Time to store one message in JetStream, retries for a full stream included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9),
		}, []string{"stream"}),
		pending: prometheus.NewDesc("weft_consumer_pending_messages",
			"Messages of a durable consumer's stream not yet delivered, or delivered and not yet acknowledged.",
			[]string{"consumer"}, nil),
		bus:       b,
		consumers: consumers,
	}
	if err := reg.Register(m.publish); err != nil {
		return nil, fmt.Errorf("bus: metrics: %w", err)
	}
	rejected := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "weft_bus_rejected_total",
		Help: "Items (events, documents) NATS refused for their size or subject, dead-lettered on " + SubjectRejected + ".<stream>.",
	}, func() float64 { return float64(b.Rejected()) })
	if err := reg.Register(rejected); err != nil {
		return nil, fmt.Errorf("bus: metrics: %w", err)
	}
	if consumers != nil {
		if err := reg.Register(backlog{m}); err != nil {
			return nil, fmt.Errorf("bus: metrics: %w", err)
		}
	}
	b.observePublish = m.observe
	return m, nil
}

func (m *Metrics) observe(subject string, d time.Duration) {
	m.publish.WithLabelValues(streamOf(subject)).Observe(d.Seconds())
}

// streamOf names the stream of a subject without asking the server.
func streamOf(subject string) string {
	for _, s := range []struct{ stream, prefix string }{
		{StreamRaw, SubjectRaw}, {StreamECS, SubjectECS}, {StreamAlerts, SubjectAlerts},
	} {
		if len(subject) > len(s.prefix) && subject[:len(s.prefix)] == s.prefix && subject[len(s.prefix)] == '.' {
			return s.stream
		}
	}
	return "other"
}

// backlog collects consumer backlogs on scrape, so the figures are current
// and nothing polls JetStream between scrapes.
type backlog struct{ m *Metrics }

func (c backlog) Describe(ch chan<- *prometheus.Desc) { ch <- c.m.pending }

func (c backlog) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	for _, cons := range c.m.consumers() {
		info, err := c.m.bus.consumerInfo(ctx, cons)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.m.pending, err)
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.m.pending, prometheus.GaugeValue,
			float64(info.NumPending+uint64(info.NumAckPending)), cons.Durable)
	}
}

const scrapeTimeout = 2 * time.Second

// Ready reports why the bus cannot do its work, or nil: the connection is
// down, one of weft's streams is missing, or a consumer has more than
// maxPending messages waiting (it is not keeping up). maxPending 0 skips
// the backlog check.
func (b *Bus) Ready(ctx context.Context, consumers []Consumer, maxPending uint64) error {
	if !b.Connected() {
		return errors.New("bus: not connected to NATS")
	}
	for _, s := range []string{StreamRaw, StreamECS, StreamAlerts} {
		if _, err := b.js.Stream(ctx, s); err != nil {
			return fmt.Errorf("bus: stream %s: %w", s, err)
		}
	}
	for _, c := range consumers {
		info, err := b.consumerInfo(ctx, c)
		if err != nil {
			return err
		}
		if n := info.NumPending + uint64(info.NumAckPending); maxPending > 0 && n > maxPending {
			return fmt.Errorf("bus: consumer %s is behind: %d messages pending (more than %d)", c.Durable, n, maxPending)
		}
	}
	return nil
}
