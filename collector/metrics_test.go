package collector

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
)

// gauges gathers reg's gauge values by metric name and the value of the
// source label.
func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "source" {
					key += "{" + l.GetValue() + "}"
				}
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestCheckpointLag: while the bus is full, what a publisher has read
// waits for its checkpoint and the lag grows; once a file is read to its
// end and checkpointed, the lag is gone.
func TestCheckpointLag(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../testdata/xml/mmc-positive.xml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := writeFile(t, dir, "positive.xml", data)
	in := Input{Path: path, Format: FormatXML}

	for _, tc := range []struct {
		name    string
		full    bool
		records float64
	}{
		{"bus behind", true, 2},
		{"bus keeping up", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cfg := bus.Config{DataDir: t.TempDir(), BatchSize: 2}
			if tc.full {
				// Smaller than one batch: every publish waits for room.
				cfg.MaxBytes = 512
			}
			b, err := bus.Open(ctx, cfg, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			p := NewPublisher(b, openCheckpoints(t, b), Options{}, nil)
			reg := prometheus.NewPedanticRegistry()
			m, err := NewCheckpointMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			m.Watch("sources[0]", "files", p)
			if g := gauges(t, reg); g["weft_collector_checkpoint_lag_records{sources[0]}"] != 0 || g["weft_collector_last_checkpoint_timestamp_seconds{sources[0]}"] != 0 {
				t.Fatalf("before reading: %v", g)
			}

			pubCtx, stop := context.WithCancel(ctx)
			defer stop()
			done := make(chan error, 1)
			started := time.Now()
			go func() {
				_, err := p.Publish(pubCtx, in, nil)
				done <- err
			}()
			if !tc.full {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				g := gauges(t, reg)
				if saved := g["weft_collector_last_checkpoint_timestamp_seconds{sources[0]}"]; saved < float64(started.Unix()) {
					t.Errorf("last checkpoint at %v, before the read began (%v)", saved, started.Unix())
				}
				if g["weft_collector_checkpoint_lag_records{sources[0]}"] != 0 || g["weft_collector_checkpoint_lag_seconds{sources[0]}"] != 0 {
					t.Errorf("after the file was read: %v", g)
				}
				return
			}
			// The first batch cannot be stored: its records wait, longer
			// and longer.
			var g map[string]float64
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				g = gauges(t, reg)
				if g["weft_collector_checkpoint_lag_records{sources[0]}"] == tc.records && g["weft_collector_checkpoint_lag_seconds{sources[0]}"] > 0.1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("lag stayed %v", g)
				}
			}
			if g["weft_collector_last_checkpoint_timestamp_seconds{sources[0]}"] != 0 {
				t.Errorf("a checkpoint was stored while the bus was full: %v", g)
			}
			stop()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Publish: %v", err)
			}
			if l := p.Lag(); l.Records != 0 || !l.Oldest.IsZero() {
				t.Errorf("lag of a read that ended: %+v", l)
			}
		})
	}
}
