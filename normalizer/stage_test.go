package normalizer

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

func openBus(t testing.TB, cfg bus.Config) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("bus.Open: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// hostEvents makes count network events for each of hosts, record ids
// 1..count per host, in order.
func hostEvents(hosts, count int) []*event.Raw {
	var out []*event.Raw
	for i := 1; i <= count; i++ {
		for h := range hosts {
			r := networkIngress()
			r.Computer = fmt.Sprintf("WKS-%02d.corp.example", h)
			r.RecordID = uint64(i)
			out = append(out, r)
		}
	}
	return out
}

// publishRaw publishes events as raw batches, on subject(host).
func publishRaw(t testing.TB, ctx context.Context, b *bus.Bus, events []*event.Raw, subject func(string) string) {
	t.Helper()
	out := bus.NewBatcher[*event.Raw](b, "raw")
	for _, r := range events {
		if err := out.Add(ctx, subject(r.Computer), r, r.Identity()); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// ecsCollector gathers the record ids of the documents on weft.ecs.*, per
// host, in stream order.
type ecsCollector struct {
	mu      sync.Mutex
	records map[string][]uint64
	docs    int
}

var ecsCheck = bus.Consumer{Stream: bus.StreamECS, Durable: "order-check", MaxAckPending: 1}

func (c *ecsCollector) handle(_ context.Context, data []byte, _ string) error {
	var batch event.DocumentBatch
	if err := bus.Decode(data, &batch); err != nil {
		return bus.Permanent(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range batch {
		rec, err := strconv.ParseUint(d.String("winlog.record_id"), 10, 64)
		if err != nil {
			return bus.Permanent(err)
		}
		host := d.String("host.name")
		c.records[host] = append(c.records[host], rec)
		c.docs++
	}
	return nil
}

// runStage starts instances normalizers with opts on b (the first one
// slowed down by slow, when set) and the ECS collector; it returns once
// want documents are collected and every consumer is idle.
func runStage(t *testing.T, ctx context.Context, b *bus.Bus, opts Options, instances, want int, slow func(string), publish func()) *ecsCollector {
	t.Helper()
	for _, c := range append(opts.Consumers(), ecsCheck) {
		if err := b.EnsureConsumer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	publish()
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var counters Counters
	for i := range instances {
		o := opts
		if i == 0 {
			o.beforeMessage = slow
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := o.Serve(runCtx, b, &counters, zerolog.Nop()); err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
		}()
	}
	col := &ecsCollector{records: map[string][]uint64{}}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = b.Consume(runCtx, ecsCheck, col.handle, func(err error) { t.Errorf("collector: %v", err) })
	}()
	// A consumer can look idle for a moment after a publish, before the
	// server counts the new messages: wait for the documents first.
	waitFor(t, ctx, func() bool {
		col.mu.Lock()
		defer col.mu.Unlock()
		return col.docs >= want
	})
	for _, c := range append(opts.Consumers(), ecsCheck) {
		if err := b.WaitIdle(ctx, c); err != nil {
			t.Fatalf("waiting for %s: %v", c.Durable, err)
		}
	}
	cancel()
	wg.Wait()
	if got := counters.Errors.Load(); got != 0 {
		t.Errorf("%d errors counted", got)
	}
	return col
}

// waitFor polls done until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, done func() bool) {
	t.Helper()
	for !done() {
		select {
		case <-ctx.Done():
			t.Fatal("timed out waiting for the stage")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func checkOrder(t *testing.T, col *ecsCollector, hosts, count int) {
	t.Helper()
	if col.docs != hosts*count {
		t.Errorf("%d documents, want %d", col.docs, hosts*count)
	}
	for host, recs := range col.records {
		for i, rec := range recs {
			if rec != uint64(i+1) {
				t.Errorf("host %s: document %d is record %d: order lost (%v)", host, i, rec, recs)
				break
			}
		}
	}
}

// TestPartitionsKeepHostOrder runs two normalizers on one bus, one of them
// slowed down at random, over many small raw messages per host. With one
// shared consumer the fast instance would overtake the slow one on some
// host; with partitions each host's documents come out in record order.
func TestPartitionsKeepHostOrder(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := openBus(t, bus.Config{BatchSize: 3})
	const hosts, count = 6, 40
	opts := Options{Partitions: 4}
	var mu sync.Mutex
	step := 0
	slow := func(string) {
		mu.Lock()
		step++
		d := time.Duration(step%5) * time.Millisecond
		mu.Unlock()
		time.Sleep(d)
	}
	col := runStage(t, ctx, b, opts, 2, hosts*count, slow, func() {
		publishRaw(t, ctx, b, hostEvents(hosts, count), func(host string) string { return RawSubject(opts.Partitions, host) })
	})
	checkOrder(t, col, hosts, count)
}

// TestStreamPartitionsLikeRawSubject: a raw stream that partitions
// weft.raw.<host> itself with a NATS subject mapping puts each host where
// RawSubject does, so publishers need not know the partition count.
func TestStreamPartitionsLikeRawSubject(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := openBus(t, bus.Config{BatchSize: 4})
	opts := Options{Partitions: 3}
	js := b.JetStream()
	s, err := js.Stream(ctx, bus.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.SubjectTransform = &jetstream.SubjectTransformConfig{
		Source:      bus.SubjectRaw + ".*",
		Destination: bus.SubjectRaw + ".{{partition(3,1)}}.{{wildcard(1)}}",
	}
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	const hosts, count = 7, 10
	col := runStage(t, ctx, b, opts, 2, hosts*count, nil, func() {
		publishRaw(t, ctx, b, hostEvents(hosts, count), func(host string) string { return bus.Subject(bus.SubjectRaw, host) })
		for h := range hosts {
			host := fmt.Sprintf("WKS-%02d.corp.example", h)
			if _, err := s.GetLastMsgForSubject(ctx, RawSubject(opts.Partitions, host)); err != nil {
				t.Errorf("%s: nothing stored on %s: %v", host, RawSubject(opts.Partitions, host), err)
			}
		}
	})
	checkOrder(t, col, hosts, count)
}

func TestRawSubject(t *testing.T) {
	t.Parallel()
	if got := RawSubject(0, "WKS-FIN-07.corp.example"); got != "weft.raw.wks-fin-07_corp_example" {
		t.Errorf("unpartitioned: %s", got)
	}
	// FNV-1a 32 of "wks-fin-07_corp_example" is 0xc289341a, 3263771674,
	// which is 2 modulo 8.
	if got := RawSubject(8, "WKS-FIN-07.corp.example"); got != "weft.raw.2.wks-fin-07_corp_example" {
		t.Errorf("partitioned: %s", got)
	}
	seen := map[string]bool{}
	for h := range 64 {
		seen[RawSubject(4, fmt.Sprintf("host-%d", h))[:len("weft.raw.0")]] = true
	}
	if len(seen) != 4 {
		t.Errorf("64 hosts fall in %d of 4 partitions", len(seen))
	}
}

// TestStageCountsProblems: an event with problems is still published,
// with error.message, and counted; a message that does not decode is
// counted and dropped; the stage goes on.
func TestStageCountsProblems(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := openBus(t, bus.Config{})
	for _, c := range []bus.Consumer{Consumer(), ecsCheck} {
		if err := b.EnsureConsumer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	bad := withData(networkIngress(), "SourcePort", "port")
	bad.RecordID = 2
	publishRaw(t, ctx, b, []*event.Raw{networkIngress(), bad}, func(host string) string { return RawSubject(0, host) })
	if err := b.Publish(ctx, bus.Subject(bus.SubjectRaw, "junk"), []byte("not msgpack"), "junk"); err != nil {
		t.Fatal(err)
	}
	var counters Counters
	runCtx, stop := context.WithCancel(ctx)
	var docs event.DocumentBatch
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = Serve(runCtx, b, &counters, zerolog.Nop())
	}()
	go func() {
		defer wg.Done()
		_ = b.Consume(runCtx, ecsCheck, func(_ context.Context, data []byte, _ string) error {
			var batch event.DocumentBatch
			if err := bus.Decode(data, &batch); err != nil {
				return bus.Permanent(err)
			}
			mu.Lock()
			docs = append(docs, batch...)
			mu.Unlock()
			return nil
		}, func(err error) { t.Errorf("collector: %v", err) })
	}()
	waitFor(t, ctx, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(docs) >= 2 && counters.Errors.Load() >= 2
	})
	for _, c := range []bus.Consumer{Consumer(), ecsCheck} {
		if err := b.WaitIdle(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	wg.Wait()
	if got := counters.Events.Load(); got != 2 {
		t.Errorf("Events = %d, want 2", got)
	}
	if got := counters.Errors.Load(); got != 2 {
		t.Errorf("Errors = %d, want 2 (a problem event, an undecodable message)", got)
	}
	if len(docs) != 2 {
		t.Fatalf("%d documents published, want 2", len(docs))
	}
	msgs, _ := docs[1].Get("error.message")
	if list, _ := msgs.([]any); len(list) != 1 || !strings.Contains(list[0].(string), `SourcePort: "port" is not a number`) {
		t.Errorf("error.message = %v", msgs)
	}
	if _, ok := docs[0].Get("error"); ok {
		t.Errorf("the good event has an error: %v", docs[0])
	}
}
