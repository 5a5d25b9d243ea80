package bus

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// consumeInBackground runs ConsumeConcurrently until the test ends.
func consumeInBackground(t *testing.T, b *Bus, c Consumer, workers int, h DeliveryHandler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- b.ConsumeConcurrently(ctx, c, workers, h, func(error) {})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ConsumeConcurrently: %v", err)
		}
	})
}

func publishN(t *testing.T, b *Bus, subject string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range n {
		if err := b.Publish(ctx, subject, []byte(strconv.Itoa(i)), ""); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConsumeConcurrentlyBoundsWorkers(t *testing.T) {
	t.Parallel()
	b := openTest(t, Config{})
	c := Consumer{Stream: StreamAlerts, Durable: "workers"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.EnsureConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	const workers, n = 3, 12
	var running, peak, handled atomic.Int32
	release := make(chan struct{})
	consumeInBackground(t, b, c, workers, func(ctx context.Context, d Delivery) error {
		now := running.Add(1)
		for {
			p := peak.Load()
			if now <= p || peak.CompareAndSwap(p, now) {
				break
			}
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		running.Add(-1)
		handled.Add(1)
		return nil
	})
	publishN(t, b, Subject(SubjectAlerts, "r"), n)
	deadline := time.Now().Add(10 * time.Second)
	for running.Load() < workers && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// Give a fourth handler the chance to start if the bound were broken.
	time.Sleep(100 * time.Millisecond)
	if got := running.Load(); got != workers {
		t.Fatalf("%d handlers running, want %d", got, workers)
	}
	close(release)
	if err := b.WaitIdle(ctx, c); err != nil {
		t.Fatal(err)
	}
	if handled.Load() != n || peak.Load() != workers {
		t.Fatalf("handled %d messages with at most %d at once; want %d with %d", handled.Load(), peak.Load(), n, workers)
	}
}

func TestConsumeConcurrentlyRedelivers(t *testing.T) {
	t.Parallel()
	b := openTest(t, Config{})
	c := Consumer{Stream: StreamAlerts, Durable: "retry"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.EnsureConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	const delay = 200 * time.Millisecond
	var mu sync.Mutex
	var seen []Delivery
	var at []time.Time
	consumeInBackground(t, b, c, 1, func(_ context.Context, d Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, d)
		at = append(at, time.Now())
		switch d.Attempt {
		case 1:
			return Retry(errors.New("receiver down"), delay)
		case 2:
			return errors.New("no delay named")
		}
		return nil
	})
	publishN(t, b, Subject(SubjectAlerts, "r"), 1)
	if err := b.WaitIdle(ctx, c); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 {
		t.Fatalf("%d deliveries, want 3", len(seen))
	}
	for i, d := range seen {
		if d.Attempt != i+1 || d.Sequence != 1 || d.Published.IsZero() || string(d.Data) != "0" || d.Subject != "weft.alerts.r" {
			t.Errorf("delivery %d: %+v", i, d)
		}
	}
	if gap := at[1].Sub(at[0]); gap < delay {
		t.Errorf("redelivered after %s, before the %s asked for", gap, delay)
	}
	if gap := at[2].Sub(at[1]); gap < defaultRedelivery-50*time.Millisecond {
		t.Errorf("redelivered after %s, before the default %s", gap, defaultRedelivery)
	}
}

// A handler that takes longer than the ack wait keeps its message: no
// second delivery runs beside it. The ack wait is long enough that the
// keep-alive (every third of it) still lands on a loaded machine whose
// goroutines wait a second for a core; the handler outlasts it 2.5 times.
func TestConsumeConcurrentlyKeepsSlowMessages(t *testing.T) {
	t.Parallel()
	const ackWait = 2 * time.Second
	b := openTest(t, Config{})
	c := Consumer{Stream: StreamAlerts, Durable: "slow", AckWait: ackWait}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.EnsureConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	consumeInBackground(t, b, c, 2, func(ctx context.Context, d Delivery) error {
		calls.Add(1)
		select {
		case <-time.After(ackWait * 5 / 2):
		case <-ctx.Done():
		}
		return nil
	})
	publishN(t, b, Subject(SubjectAlerts, "r"), 1)
	if err := b.WaitIdle(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("handler ran %d times for one message", n)
	}
}

func TestPermanentDeliveryError(t *testing.T) {
	t.Parallel()
	b := openTest(t, Config{})
	c := Consumer{Stream: StreamAlerts, Durable: "term"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.EnsureConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	consumeInBackground(t, b, c, 1, func(context.Context, Delivery) error {
		calls.Add(1)
		return Permanent(errors.New("never"))
	})
	publishN(t, b, Subject(SubjectAlerts, "r"), 1)
	if err := b.WaitIdle(ctx, c); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("handler ran %d times for a permanent failure", n)
	}
}

func TestDeadLetters(t *testing.T) {
	t.Parallel()
	b := openTest(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range 2 {
		if err := b.EnsureDeadLetters(ctx); err != nil {
			t.Fatalf("EnsureDeadLetters: %v", err)
		}
	}
	published := time.Date(2024, 3, 5, 14, 7, 31, 0, time.UTC)
	letters := []DeadLetter{
		{Consumer: "webhook", Subject: "weft.alerts.r1", Origin: 7, Key: "a1", Data: []byte{1}, Error: "status 500\r\nX-Injected: yes", Attempts: 5, Published: published},
		{Consumer: "slack", Subject: "weft.alerts.r1", Origin: 7, Key: "a1", Data: []byte{2}, Error: strings.Repeat("é", 3000), Attempts: 1},
		{Consumer: "webhook", Subject: "weft.alerts.r2", Origin: 9, Key: "a2", Data: []byte{3}, Error: "timeout"},
		// The same letter again (its original was redelivered): kept once.
		{Consumer: "webhook", Subject: "weft.alerts.r1", Origin: 7, Key: "a1", Data: []byte{1}, Error: "status 500", Attempts: 5},
		// The same alert from a replay (another original): a new letter.
		{Consumer: "webhook", Subject: "weft.alerts.sink.webhook", Origin: 12, Key: "a1", Data: []byte{4}, Error: "status 500"},
	}
	for _, dl := range letters {
		if err := b.PutDeadLetter(ctx, dl); err != nil {
			t.Fatal(err)
		}
	}
	all, err := b.DeadLetters(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("%d letters, want 4: %+v", len(all), all)
	}
	first := all[0]
	if first.Consumer != "webhook" || first.Subject != "weft.alerts.r1" || first.Origin != 7 || first.Key != "a1" ||
		first.Attempts != 5 || !first.Published.Equal(published) || first.Failed.IsZero() || first.Data[0] != 1 {
		t.Errorf("first letter read back as %+v", first)
	}
	if first.Error != "status 500  X-Injected: yes" {
		t.Errorf("error header %q: control characters not replaced", first.Error)
	}
	if e := all[1].Error; len(e) > maxErrorLen || !strings.HasSuffix(e, "é…") {
		t.Errorf("long error kept as %d bytes ending %q", len(e), e[max(0, len(e)-8):])
	}
	hooks, err := b.DeadLetters(ctx, "webhook", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 3 || hooks[1].Key != "a2" || hooks[2].Origin != 12 {
		t.Fatalf("webhook letters %+v", hooks)
	}
	if limited, _ := b.DeadLetters(ctx, "webhook", 1); len(limited) != 1 {
		t.Fatalf("limit 1 gave %d letters", len(limited))
	}
	if err := b.DeleteDeadLetter(ctx, hooks[0].Sequence); err != nil {
		t.Fatal(err)
	}
	hooks, err = b.DeadLetters(ctx, "webhook", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 2 || hooks[0].Key != "a2" {
		t.Fatalf("after delete: %+v", hooks)
	}
	if none, err := b.DeadLetters(ctx, "syslog", 0); err != nil || len(none) != 0 {
		t.Fatalf("syslog letters %v, %v", none, err)
	}
}

// Every message is delivered, one worker or several, however the
// publisher and the handlers interleave. (A pull iterator with a buffer of
// one stalled here now and then: the server had no pull request left while
// the client believed one was open.)
func TestConsumeConcurrentlyDeliversEverything(t *testing.T) {
	t.Parallel()
	for _, workers := range []int{1, 4} {
		t.Run(strconv.Itoa(workers), func(t *testing.T) {
			t.Parallel()
			b := openTest(t, Config{})
			c := Consumer{Stream: StreamAlerts, Durable: "all"}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := b.EnsureConsumer(ctx, c); err != nil {
				t.Fatal(err)
			}
			const n = 300
			var mu sync.Mutex
			seen := map[string]int{}
			consumeInBackground(t, b, c, workers, func(_ context.Context, d Delivery) error {
				mu.Lock()
				defer mu.Unlock()
				seen[string(d.Data)]++
				return nil
			})
			publishN(t, b, Subject(SubjectAlerts, "r"), n)
			count := func() int {
				mu.Lock()
				defer mu.Unlock()
				return len(seen)
			}
			for deadline := time.Now().Add(20 * time.Second); count() < n; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d messages handled in 20s", count(), n)
				}
			}
			if err := b.WaitIdle(ctx, c); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for k, v := range seen {
				if v != 1 {
					t.Errorf("message %s handled %d times", k, v)
				}
			}
		})
	}
}
