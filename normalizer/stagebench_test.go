package normalizer

import (
	"context"
	"fmt"
	"runtime"
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

// BenchmarkStagePath is the stage's work per event without the bus: decode
// a raw message of 64 events as it arrives (decodeRawBatch) and write each
// event's document as the msgpack the stage publishes (AppendMsgpack). A
// Security 4624 (network logon) and 4688 (process creation) run next to
// Sysmon 1 so that their costs compare within one run; ns/event and
// allocs/event are per event (named event=… so that benchstat -col /event
// sets them side by side), and on Linux cpu-ns/event is the thread's CPU
// time per event, which a loaded machine distorts less than wall time.
func BenchmarkStagePath(b *testing.B) {
	byName := map[string]*event.Raw{"Sysmon1": processCreate()}
	for _, r := range goldenInputs(b) {
		switch {
		case r.Channel == "Security" && r.EventID == 4624:
			byName["Security4624"] = r
		case r.Channel == "Security" && r.EventID == 4688:
			byName["Security4688"] = r
		}
	}
	for _, name := range []string{"Sysmon1", "Security4624", "Security4688"} {
		r := byName[name]
		if r == nil {
			b.Fatalf("no %s event in testdata/golden", name)
		}
		b.Run("event="+name, func(b *testing.B) {
			const perMessage = 64
			raws := make([]event.Raw, perMessage)
			for i := range raws {
				raws[i] = *r
				raws[i].RecordID = uint64(i + 1)
			}
			data, err := bus.Encode(raws)
			if err != nil {
				b.Fatal(err)
			}
			n := New()
			var batch []event.Raw
			var buf []byte
			var before, after runtime.MemStats
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			runtime.ReadMemStats(&before)
			cpu0, cpuOK := threadCPU()
			for b.Loop() {
				if batch, err = decodeRawBatch(data, batch); err != nil {
					b.Fatal(err)
				}
				buf = buf[:0]
				for i := range batch {
					if buf, err = n.AppendMsgpack(buf, &batch[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
			cpu1, _ := threadCPU()
			runtime.ReadMemStats(&after)
			events := float64(b.N * perMessage)
			if cpuOK {
				b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/events, "cpu-ns/event")
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/events, "allocs/event")
		})
	}
}
