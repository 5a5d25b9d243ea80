package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/testdata/gen/scenario"
)

// Benchmarks of the whole pipeline over synthesized logs. They read the
// scenario in $WEFT_BENCH_DIR (a folder written by go run ./testdata/gen
// -dir, with its manifest.json; testdata/gen/bench.sh and BENCHMARKS.md
// use them so), or else generate a small one.

func benchScenario(b *testing.B) (string, *scenario.Manifest) {
	b.Helper()
	if dir := os.Getenv("WEFT_BENCH_DIR"); dir != "" {
		m, err := scenario.ReadManifest(filepath.Join(dir, "manifest.json"))
		if err != nil {
			b.Fatal(err)
		}
		return dir, m
	}
	dir := b.TempDir()
	m, err := scenario.Generate(context.Background(), scenario.Config{
		Seed: 1, Hosts: 8, Span: time.Hour, Rate: 1, Attacks: 8, NearMisses: scenario.NearMisses(), Dir: dir,
	})
	if err != nil {
		b.Fatal(err)
	}
	return dir, m
}

func scenarioBytes(m *scenario.Manifest) int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Bytes
	}
	return n
}

// execWeft runs the CLI in-process, as runWeft does, for benchmarks.
func execWeft(ctx context.Context, a *app, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	if a == nil {
		a = &app{}
	}
	a.stdin, a.stdout, a.stderr = strings.NewReader(""), &stdout, &stderr
	a.getenv = func(string) string { return "" }
	code := a.execute(ctx, append([]string{"--log-level", "error"}, args...))
	return code, stdout.String(), stderr.String()
}

// BenchmarkHuntSynthesized: weft hunt over the scenario, file to alert
// through the embedded NATS server, reporting events per second (and MB/s
// of EVTX). Each run must raise exactly the manifest's alerts.
func BenchmarkHuntSynthesized(b *testing.B) {
	dir, m := benchScenario(b)
	b.SetBytes(scenarioBytes(m))
	want := fmt.Sprintf("%d events, %s, 0 errors", m.Events, plural(len(m.Alerts), "alert"))
	start := time.Now()
	for b.Loop() {
		code, _, errOut := execWeft(context.Background(), nil, "hunt", "--json", dir)
		if code != 0 || !strings.Contains(errOut, want) {
			b.Fatalf("exit %d, want a summary saying %q:\n%s", code, want, errOut)
		}
	}
	b.ReportMetric(float64(m.Events)*float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkAlertLatency measures how soon weft run (the service) raises an
// alert once the event that completes its sequence has arrived. A bulk
// replay would only measure queueing behind the backlog, so the scenario's
// events are fed to the bus as a live collector would: interleaved in the
// order they were logged, at a steady $WEFT_BENCH_RATE events per second
// (default 2000), flushed every 10 ms. Latency is from the flush that
// published the child process's event to the alert's appearance on
// weft.alerts: normalizing, correlating and every hop between, with a
// lateness of $WEFT_BENCH_LATENESS (default 1s) of event time. It reports
// the median, 95th percentile and worst latency.
func BenchmarkAlertLatency(b *testing.B) {
	dir, m := benchScenario(b)
	if len(m.Alerts) == 0 {
		b.Skip("the scenario has no attack")
	}
	rate := 2000.0
	if v := os.Getenv("WEFT_BENCH_RATE"); v != "" {
		if _, err := fmt.Sscan(v, &rate); err != nil || rate <= 0 {
			b.Fatalf("WEFT_BENCH_RATE=%q: want events per second", v)
		}
	}
	lateness := time.Second
	if v := os.Getenv("WEFT_BENCH_LATENESS"); v != "" {
		var err error
		if lateness, err = time.ParseDuration(v); err != nil || lateness <= 0 {
			b.Fatalf("WEFT_BENCH_LATENESS=%q: want a positive duration", v)
		}
	}
	feed := loadFeed(b, dir, m)
	var all []time.Duration
	for b.Loop() {
		all = append(all, alertLatencies(b, feed, m, rate, lateness)...)
	}
	slices.Sort(all)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(all[len(all)/2]), "p50-ms")
	b.ReportMetric(ms(all[len(all)*95/100]), "p95-ms")
	b.ReportMetric(ms(all[len(all)-1]), "max-ms")
	b.ReportMetric(rate, "feed-events/s")
}

// loadFeed reads every event of the scenario, in the order they were
// logged across hosts.
func loadFeed(b *testing.B, dir string, m *scenario.Manifest) []*event.Raw {
	b.Helper()
	var feed []*event.Raw
	for _, f := range m.Files {
		_, err := collector.ReadFile(context.Background(), filepath.Join(dir, f.Path), collector.Options{},
			func(r *event.Raw) error { feed = append(feed, r); return nil },
			func(err error) { b.Errorf("reading the scenario: %v", err) })
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.SortStableFunc(feed, func(x, y *event.Raw) int { return x.TimeCreated.Compare(y.TimeCreated) })
	if len(feed) != m.Events {
		b.Fatalf("read %d events, the manifest says %d", len(feed), m.Events)
	}
	return feed
}

// readyWriter is the service's log output: it says when the service is up.
type readyWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	once  sync.Once
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte("weft running")) {
		w.once.Do(func() { close(w.ready) })
	}
	return w.buf.Write(p)
}

func (w *readyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// alertLatencies runs weft run once, feeds it, and returns the latency of
// every expected alert.
func alertLatencies(b *testing.B, feed []*event.Raw, m *scenario.Manifest, rate float64, lateness time.Duration) []time.Duration {
	b.Helper()
	type key struct {
		host   string
		record uint64
	}
	want := map[key]bool{}
	for _, a := range m.Alerts {
		want[key{a.ChildHost, a.ChildRecordID}] = true
	}
	var mu sync.Mutex
	published, alerted := map[key]time.Time{}, map[key]time.Time{}
	done := make(chan struct{})
	var pipelineBus *bus.Bus
	var subErr error
	a := &app{busReady: func(bb *bus.Bus) {
		pipelineBus = bb
		_, err := bb.Conn().Subscribe("weft.alerts.>", func(msg *nats.Msg) {
			now := time.Now()
			var batch event.AlertBatch
			if err := bus.Decode(msg.Data, &batch); err != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, al := range batch {
				docs := al.Weft.Events
				if len(docs) == 0 {
					continue
				}
				last := docs[len(docs)-1]
				host, _ := last.Get("host.name")
				rec, _ := last.Get("winlog.record_id")
				var id uint64
				fmt.Sscan(fmt.Sprint(rec), &id)
				k := key{fmt.Sprint(host), id}
				if _, dup := alerted[k]; want[k] && !dup {
					alerted[k] = now
					if len(alerted) == len(want) {
						close(done)
					}
				}
			}
		})
		subErr = errors.Join(err, bb.Conn().Flush())
	}}
	cfg := filepath.Join(b.TempDir(), "weft.yaml")
	if err := os.WriteFile(cfg, []byte("correlator:\n  lateness: "+lateness.String()+"\nsinks: []\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	logs := &readyWriter{ready: make(chan struct{})}
	a.stdin, a.stdout, a.stderr = strings.NewReader(""), io.Discard, logs
	a.getenv = func(string) string { return "" }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exit := make(chan int, 1)
	go func() { exit <- a.execute(ctx, []string{"--log-level", "info", "run", "--config", cfg}) }()
	select {
	case <-logs.ready:
	case code := <-exit:
		b.Fatalf("weft run exited %d before it was up:\n%s", code, logs)
	case <-time.After(time.Minute):
		b.Fatalf("weft run not up after a minute:\n%s", logs)
	}
	if subErr != nil {
		b.Fatal(subErr)
	}
	// Feed: every 10 ms the events due by then, then a flush.
	out := bus.NewBatcher[*event.Raw](pipelineBus, "raw")
	start, sent := time.Now(), 0
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for sent < len(feed) {
		<-tick.C
		due := min(len(feed), int(time.Since(start).Seconds()*rate)+1)
		var batch []key
		for ; sent < due; sent++ {
			r := feed[sent]
			if err := out.Add(ctx, bus.Subject(bus.SubjectRaw, r.Computer), r, r.Identity()); err != nil {
				b.Fatal(err)
			}
			if k := (key{r.Computer, r.RecordID}); want[k] {
				batch = append(batch, k)
			}
		}
		if err := out.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		mu.Lock()
		for _, k := range batch {
			published[k] = now
		}
		mu.Unlock()
	}
	select {
	case <-done:
	case code := <-exit:
		b.Fatalf("weft run exited %d before every alert:\n%s", code, logs)
	case <-time.After(2 * time.Minute):
		mu.Lock()
		n := len(alerted)
		mu.Unlock()
		b.Fatalf("%d of %d alerts two minutes after the feed ended", n, len(want))
	}
	cancel()
	<-exit
	mu.Lock()
	defer mu.Unlock()
	var lat []time.Duration
	for k, at := range alerted {
		lat = append(lat, at.Sub(published[k]))
	}
	return lat
}
