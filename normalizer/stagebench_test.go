package normalizer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// BenchmarkStage is the normalizer stage end to end over NATS: b.N raw
// events (Sysmon 1 and 3 alternating, 8 hosts) are published as batches on
// an embedded bus, then one Serve normalizes them all and publishes the
// documents; the time is from Serve's start until it has counted them all
// (published and acknowledged).
func BenchmarkStage(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bs, err := bus.Open(ctx, bus.Config{}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	if err := bs.EnsureConsumer(ctx, Consumer()); err != nil {
		b.Fatal(err)
	}
	templates := []*event.Raw{processCreate(), networkIngress()}
	out := bus.NewBatcher[*event.Raw](bs, "raw")
	for i := range b.N {
		r := *templates[i%2]
		r.Computer = fmt.Sprintf("WKS-%02d.corp.example", i%8)
		r.RecordID = uint64(i + 1)
		if err := out.Add(ctx, bus.Subject(bus.SubjectRaw, r.Computer), &r, r.Identity()); err != nil {
			b.Fatal(err)
		}
	}
	if err := out.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	var counters Counters
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	b.ResetTimer()
	start := time.Now()
	go func() { done <- Serve(runCtx, bs, &counters, zerolog.Nop()) }()
	for counters.Events.Load() < uint64(b.N) {
		if ctx.Err() != nil {
			b.Fatalf("%d of %d events normalized: %v", counters.Events.Load(), b.N, ctx.Err())
		}
		time.Sleep(200 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if err := bs.WaitIdle(ctx, Consumer()); err != nil {
		b.Fatal(err)
	}
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if got := counters.Events.Load(); got != uint64(b.N) {
		b.Fatalf("%d events normalized, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}
