package sinks_test

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks"
)

// TestMetricsCountDeliveries delivers three alerts through an instrumented
// sink that rejects one for good: three attempts, one failure, one dead
// letter, three latencies observed; the delivery options stay in force.
func TestMetricsCountDeliveries(t *testing.T) {
	t.Parallel()
	b := openBus(t, 4)
	reg := prometheus.NewRegistry()
	m, err := sinks.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	bad := alert(2)
	s := &countingSink{fail: func(a *event.Alert) error {
		if a.Event.ID == bad.Event.ID {
			return sinks.Permanent(errors.New("rejected"))
		}
		return nil
	}}
	deliver(t, b, "counted", m.Instrument("counted", sinks.WithDelivery(s, sinks.DeliveryOptions{Concurrency: 1})))
	publish(t, b, alert(1), bad, alert(3))
	eventually(t, func() bool { return value(t, reg, "weft_sink_dead_letters_total") == 1 })
	waitIdle(t, b, "counted")
	for _, tc := range []struct {
		name string
		want float64
	}{
		{"weft_sink_attempts_total", 3},
		{"weft_sink_failures_total", 1},
		{"weft_sink_dead_letters_total", 1},
		{"weft_sink_delivery_seconds", 3}, // observations
	} {
		if got := value(t, reg, tc.name); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// value is the one sample of a family of reg labelled sink="counted": a
// counter's value, a histogram's count.
func value(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != "counted" {
				t.Fatalf("%s has labels %v", name, m.GetLabel())
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}
