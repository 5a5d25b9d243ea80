package sinks_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks"
	"github.com/weft-dev/weft/sinks/internal/alerttest"
	"github.com/weft-dev/weft/sinks/webhook"
)

// Secrets that must never reach a log line or a dead letter.
const (
	hmacKey   = "hmac-key-SECRET-1"
	pathToken = "SECRET-PATH-2"
	query     = "token=SECRET-QUERY-3"
)

// fast delivery options for tests: redeliveries within milliseconds.
var fast = sinks.DeliveryOptions{RetryBackoff: 20 * time.Millisecond, RetryMaxBackoff: 100 * time.Millisecond}

func openBus(t *testing.T, batchSize int) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{BatchSize: batchSize}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// deliver runs sinks.Deliver for the sink named name until the test ends
// and returns its log.
func deliver(t *testing.T, b *bus.Bus, name string, s sinks.Sink) *syncBuffer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.EnsureConsumer(ctx, sinks.Consumer(name)); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sinks.Deliver(runCtx, b, name, s, zerolog.New(logs))
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Deliver %s: %v", name, err)
		}
		_ = s.Close()
	})
	return logs
}

// alert i is the seed alert with its own events, hence its own id.
func alert(i int) event.Alert {
	a := alerttest.Seed("cmd.exe /c echo " + strconv.Itoa(i))
	for _, d := range a.Weft.Events {
		d["winlog"].(map[string]any)["record_id"] = strconv.Itoa(1000 + 2*i + len(d))
	}
	a.Event.ID = event.AlertID(a.Rule.ID, a.Weft.Events)
	return *a
}

// publish puts alerts on the alert stream as the correlator does.
func publish(t *testing.T, b *bus.Bus, alerts ...event.Alert) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bt := bus.NewBatcher[event.Alert](b, "alert")
	for _, a := range alerts {
		if err := bt.Add(ctx, bus.Subject(bus.SubjectAlerts, a.Rule.ID), a, a.Event.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := bt.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// eventually waits up to 20 seconds for cond. Consumer counts lag a
// publish by a moment, so a test waits for what it expects first and for
// the consumer to be idle second.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitIdle(t *testing.T, b *bus.Bus, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.WaitIdle(ctx, sinks.Consumer(name)); err != nil {
		c, _ := b.JetStream().Consumer(context.Background(), bus.StreamAlerts, sinks.Consumer(name).Durable)
		info, _ := c.Info(context.Background())
		t.Fatalf("sink %s did not finish: %v DEBUG %+v", name, err, info)
	}
}

// verify checks a webhook request's signature as a receiver would,
// independently of webhook.Signature.
func verify(r *http.Request, body []byte) error {
	ts := r.Header.Get("X-Weft-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("X-Weft-Timestamp %q: %w", ts, err)
	}
	if d := time.Since(time.Unix(sec, 0)); d < -5*time.Second || d > 5*time.Minute {
		return fmt.Errorf("timestamp %s is %s old", ts, d)
	}
	m := hmac.New(sha256.New, []byte(hmacKey))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(r.Header.Get("X-Weft-Signature")), []byte(want)) {
		return errors.New("signature does not verify")
	}
	return nil
}

// receiver is a webhook endpoint on a fixed loopback port that can be
// taken down and brought back on the same port, or made to answer 503.
// It deduplicates by Idempotency-Key, as the README tells receivers to.
type receiver struct {
	t    *testing.T
	addr string

	mu          sync.Mutex
	srv         *httptest.Server
	unavailable bool
	byID        map[string]int // Idempotency-Key → deliveries
	requests    int
	refused     int // 503 answers
	bad         []string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, byID: map[string]int{}}
	r.up("127.0.0.1:0")
	t.Cleanup(r.down)
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if r.unavailable {
		r.refused++
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var a event.Alert
	switch {
	case err != nil:
		r.bad = append(r.bad, err.Error())
	case req.URL.Path != "/hooks/"+pathToken || req.URL.RawQuery != query:
		r.bad = append(r.bad, "request to "+req.URL.String())
	case verify(req, body) != nil:
		r.bad = append(r.bad, verify(req, body).Error())
	case json.Unmarshal(body, &a) != nil || a.Event.ID != req.Header.Get("Idempotency-Key"):
		r.bad = append(r.bad, "body is not the alert named by Idempotency-Key")
	default:
		r.byID[a.Event.ID]++
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.WriteHeader(http.StatusBadRequest)
}

func (r *receiver) up(addr string) {
	var ln net.Listener
	var err error
	for range 100 { // the port may take a moment to be free again
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(r)
	srv.Listener = ln
	srv.Start()
	r.mu.Lock()
	r.srv, r.addr = srv, ln.Addr().String()
	r.mu.Unlock()
}

func (r *receiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (r *receiver) setUnavailable(v bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unavailable = v
}

func (r *receiver) received() (ids map[string]int, requests int, bad []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids = map[string]int{}
	for k, v := range r.byID {
		ids[k] = v
	}
	return ids, r.requests, append([]string(nil), r.bad...)
}

func (r *receiver) refusals() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused
}

func (r *receiver) url() string {
	return "http://" + r.addr + "/hooks/" + pathToken + "?" + query
}

func newWebhook(t *testing.T, target string, attempts int) sinks.Sink {
	t.Helper()
	t.Setenv("WEFT_TEST_HOOK_SECRET", hmacKey)
	s, err := webhook.New(webhook.Config{
		URL:         target,
		SecretEnv:   "WEFT_TEST_HOOK_SECRET",
		HTTPOptions: sinks.HTTPOptions{Timeout: 2 * time.Second, Attempts: attempts, Backoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestWebhookReceiverOutage takes the webhook receiver down, produces
// alerts, makes it answer 503 with Retry-After, brings it back: every alert
// arrives, each id once after deduplication by Idempotency-Key, and every
// signature verifies. Nothing secret reaches the log.
func TestWebhookReceiverOutage(t *testing.T) {
	// Not parallel: it sets an environment variable.
	b := openBus(t, 3)
	rec := newReceiver(t)
	logs := deliver(t, b, "soc", sinks.WithDelivery(newWebhook(t, rec.url(), 1), fast))

	var all []event.Alert
	produce := func(from, to int) {
		var batch []event.Alert
		for i := from; i < to; i++ {
			batch = append(batch, alert(i))
		}
		publish(t, b, batch...)
		all = append(all, batch...)
	}
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if ids, _, _ := rec.received(); len(ids) >= n {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		ids, _, bad := rec.received()
		c, _ := b.JetStream().Consumer(context.Background(), bus.StreamAlerts, sinks.Consumer("soc").Durable)
		info, _ := c.Info(context.Background())
		t.Fatalf("receiver has %d of %d alerts (bad requests: %q)\nlog:\n%s DEBUG %+v", len(ids), n, bad, logs, info)
	}

	produce(0, 5)
	waitFor(5)

	rec.down()
	produce(5, 15)
	time.Sleep(400 * time.Millisecond) // several failed deliveries
	if ids, _, _ := rec.received(); len(ids) != 5 {
		t.Fatalf("receiver is down but has %d alerts", len(ids))
	}

	rec.up(rec.addr)
	rec.setUnavailable(true)
	produce(15, 20)
	time.Sleep(400 * time.Millisecond)
	refused := rec.refusals()

	rec.setUnavailable(false)
	produce(20, 25)
	waitFor(25)
	waitIdle(t, b, "soc")

	ids, requests, bad := rec.received()
	if len(bad) > 0 {
		t.Errorf("bad requests: %q", bad)
	}
	for _, a := range all {
		if ids[a.Event.ID] == 0 {
			t.Errorf("alert %s never arrived", a.Event.ID)
		}
	}
	if len(ids) != len(all) {
		t.Errorf("%d distinct ids for %d alerts", len(ids), len(all))
	}
	// Retry-After: 1 spaces the retries of the 15 alerts waiting a second
	// apart, not the backoff of at most 100ms: one 503 each in 400ms.
	if refused == 0 || refused > 15 {
		t.Errorf("%d answers 503 in 400ms for 15 alerts: Retry-After not honoured", refused)
	}
	log := logs.String()
	for _, secret := range []string{hmacKey, pathToken, "SECRET-QUERY"} {
		if strings.Contains(log, secret) {
			t.Errorf("log reveals %q", secret)
		}
	}
	if !strings.Contains(log, "delivery failed; will retry") || !strings.Contains(log, "connection refused") ||
		!strings.Contains(log, "status 503") || !strings.Contains(log, "http://"+rec.addr) {
		t.Errorf("log does not tell the outage:\n%s", log)
	}
	t.Logf("%d alerts, %d requests, %d redundant deliveries", len(all), requests, sumOver(ids, 1))
}

func sumOver(m map[string]int, n int) int {
	s := 0
	for _, v := range m {
		s += max(v-n, 0)
	}
	return s
}

// TestDeadLetters drives alerts into the dead-letter queue each way the
// issue names, then replays them to the sink once the receiver is fixed.
func TestDeadLetters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		opts     sinks.DeliveryOptions
		timeout  time.Duration
		attempts int
		wantErr  string
	}{
		{
			name:     "500 forever hits max_deliveries",
			handler:  func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) },
			opts:     sinks.DeliveryOptions{MaxDeliveries: 3},
			attempts: 3, wantErr: "status 500",
		},
		{
			name:    "500 forever hits max_age",
			handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) },
			opts:    sinks.DeliveryOptions{MaxAge: 300 * time.Millisecond},
			wantErr: "status 500",
		},
		{
			name:     "400 is given up at once",
			handler:  func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "invalid_payload", 400) },
			attempts: 1, wantErr: "invalid_payload",
		},
		{
			name: "hanging receiver times out",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				<-r.Context().Done()
			},
			opts:     sinks.DeliveryOptions{MaxDeliveries: 2},
			timeout:  200 * time.Millisecond,
			attempts: 2, wantErr: "Client.Timeout exceeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var fixed atomic.Bool
			var delivered atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if fixed.Load() {
					delivered.Add(1)
					return
				}
				tt.handler(w, r)
			}))
			t.Cleanup(srv.Close)
			b := openBus(t, 0)
			opts := tt.opts
			opts.RetryBackoff, opts.RetryMaxBackoff = fast.RetryBackoff, fast.RetryMaxBackoff
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			hook, err := webhook.New(webhook.Config{URL: srv.URL + "/x?" + query, HTTPOptions: sinks.HTTPOptions{Attempts: 1, Timeout: timeout}})
			if err != nil {
				t.Fatal(err)
			}
			logs := deliver(t, b, "hook", sinks.WithDelivery(hook, opts))
			a := alert(1)
			publish(t, b, a)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var dead []sinks.DeadAlert
			eventually(t, func() bool {
				var err error
				dead, err = sinks.DeadAlerts(ctx, b, "hook", 0)
				return err == nil && len(dead) > 0
			})
			waitIdle(t, b, "hook")
			if len(dead) != 1 || dead[0].Alert == nil || dead[0].Alert.Event.ID != a.Event.ID {
				t.Fatalf("dead letters %+v, want the alert", dead)
			}
			d := dead[0]
			if !strings.Contains(d.Error, tt.wantErr) || d.Consumer != "hook" || d.Key != a.Event.ID ||
				d.Subject != bus.Subject(bus.SubjectAlerts, a.Rule.ID) || d.Published.IsZero() {
				t.Errorf("dead letter: consumer %q key %q subject %q published %s error %q", d.Consumer, d.Key, d.Subject, d.Published, d.Error)
			}
			if tt.attempts > 0 && d.Attempts != tt.attempts {
				t.Errorf("given up after %d deliveries, want %d", d.Attempts, tt.attempts)
			}
			if strings.Contains(d.Error, "SECRET") || strings.Contains(logs.String(), "SECRET") {
				t.Errorf("secret in the dead letter or the log: %s", d.Error)
			}
			if !strings.Contains(logs.String(), "alert moved to the dead-letter queue") {
				t.Errorf("log does not say the alert was given up:\n%s", logs)
			}

			fixed.Store(true)
			if err := sinks.ReplayToSink(ctx, b, d, "hook"); err != nil {
				t.Fatal(err)
			}
			eventually(t, func() bool { return delivered.Load() > 0 })
			waitIdle(t, b, "hook")
			if n := delivered.Load(); n != 1 {
				t.Fatalf("replayed alert delivered %d times", n)
			}
			if left, _ := sinks.DeadAlerts(ctx, b, "hook", 0); len(left) != 0 {
				t.Fatalf("%d letters left after replay", len(left))
			}
		})
	}
}

// blockingSink stands for a receiver that hangs until released.
type blockingSink struct {
	release chan struct{}
	sent    atomic.Int32
}

func (s *blockingSink) Name() string { return "blocked" }
func (s *blockingSink) Close() error { return nil }
func (s *blockingSink) Send(ctx context.Context, _ *event.Alert) error {
	select {
	case <-s.release:
		s.sent.Add(1)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// countingSink accepts everything and counts alerts by id.
type countingSink struct {
	mu   sync.Mutex
	seen map[string]int
	fail func(a *event.Alert) error
}

func (s *countingSink) Name() string { return "counting" }
func (s *countingSink) Close() error { return nil }
func (s *countingSink) Send(_ context.Context, a *event.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]int{}
	}
	s.seen[a.Event.ID]++
	if s.fail != nil {
		return s.fail(a)
	}
	return nil
}

func (s *countingSink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id]
}

// A sink whose receiver hangs holds up neither another sink nor the
// publisher (the correlator's side).
func TestSlowSinkDoesNotSlowOthers(t *testing.T) {
	t.Parallel()
	b := openBus(t, 2)
	slow := &blockingSink{release: make(chan struct{})}
	fastSink := &countingSink{}
	deliver(t, b, "slow", sinks.WithDelivery(slow, sinks.DeliveryOptions{Concurrency: 2}))
	deliver(t, b, "fast", fastSink)

	var alerts []event.Alert
	for i := range 40 {
		alerts = append(alerts, alert(i))
	}
	start := time.Now()
	publish(t, b, alerts...)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("publishing took %s while a sink hangs", took)
	}
	eventually(t, func() bool {
		for _, a := range alerts {
			if fastSink.count(a.Event.ID) == 0 {
				return false
			}
		}
		return true
	})
	waitIdle(t, b, "fast")
	for _, a := range alerts {
		if fastSink.count(a.Event.ID) != 1 {
			t.Fatalf("fast sink got alert %s %d times", a.Event.ID, fastSink.count(a.Event.ID))
		}
	}
	if n := slow.sent.Load(); n != 0 {
		t.Fatalf("blocked sink sent %d", n)
	}
	close(slow.release)
	eventually(t, func() bool { return slow.sent.Load() >= int32(len(alerts)) })
	waitIdle(t, b, "slow")
	if n := slow.sent.Load(); n != int32(len(alerts)) {
		t.Fatalf("slow sink sent %d of %d once released", n, len(alerts))
	}
}

// When one alert of a message fails, the others are not sent again with
// it; a panicking sink loses the alert to the dead-letter queue, not the
// process; an undecodable message is kept there too.
func TestDeliverPartialFailures(t *testing.T) {
	t.Parallel()
	b := openBus(t, 0)
	a1, a2, a3, boom := alert(1), alert(2), alert(3), alert(4)
	var tries atomic.Int32
	s := &countingSink{fail: func(a *event.Alert) error {
		switch a.Event.ID {
		case a2.Event.ID:
			if tries.Add(1) < 3 {
				return errors.New("receiver hiccup")
			}
		case boom.Event.ID:
			panic("formatter bug")
		}
		return nil
	}}
	deliver(t, b, "partial", sinks.WithDelivery(s, sinks.DeliveryOptions{Concurrency: 3, RetryBackoff: 10 * time.Millisecond}))
	publish(t, b, a1, a2, a3, boom)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Publish(ctx, bus.Subject(bus.SubjectAlerts, "r"), []byte{0xc1}, "garbage"); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		dead, err := sinks.DeadAlerts(ctx, b, "partial", 0)
		return err == nil && len(dead) == 2 && s.count(a2.Event.ID) == 3
	})
	waitIdle(t, b, "partial")
	for _, want := range []struct {
		a event.Alert
		n int
	}{{a1, 1}, {a2, 3}, {a3, 1}, {boom, 1}} {
		if got := s.count(want.a.Event.ID); got != want.n {
			t.Errorf("alert %s sent %d times, want %d", want.a.Event.ID, got, want.n)
		}
	}
	dead, err := sinks.DeadAlerts(ctx, b, "partial", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 2 {
		t.Fatalf("%d dead letters, want the panic and the garbage", len(dead))
	}
	panicked, garbage := dead[0], dead[1]
	if panicked.Alert == nil {
		panicked, garbage = garbage, panicked
	}
	if panicked.Alert == nil || panicked.Alert.Event.ID != boom.Event.ID || !strings.Contains(panicked.Error, "panicked") || panicked.Attempts != 1 {
		t.Errorf("letter of the panic: %q, %d deliveries", panicked.Error, panicked.Attempts)
	}
	if garbage.Alert != nil || !strings.Contains(garbage.Error, "does not decode") || !bytes.Equal(garbage.Data, []byte{0xc1}) {
		t.Errorf("letter of the garbage: %q, %d bytes", garbage.Error, len(garbage.Data))
	}
	if err := sinks.ReplayToAll(ctx, b, garbage); err == nil || !strings.Contains(err.Error(), "cannot be replayed") {
		t.Errorf("replaying garbage: %v", err)
	}
}

// A replay to one sink reaches that sink only; a replay to all reaches
// every sink.
func TestReplayTargets(t *testing.T) {
	t.Parallel()
	b := openBus(t, 0)
	one, other := &countingSink{}, &countingSink{}
	deliver(t, b, "one", one)
	deliver(t, b, "other", other)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.EnsureDeadLetters(ctx); err != nil {
		t.Fatal(err)
	}
	a := alert(7)
	data, err := bus.Encode(event.AlertBatch{a})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := b.PutDeadLetter(ctx, bus.DeadLetter{Consumer: "one", Key: a.Event.ID, Data: data, Error: "x", Origin: uint64(time.Now().UnixNano())}); err != nil {
			t.Fatal(err)
		}
	}
	dead, err := sinks.DeadAlerts(ctx, b, "one", 0)
	if err != nil || len(dead) != 2 {
		t.Fatalf("dead letters %v, %v", dead, err)
	}
	if err := sinks.ReplayToSink(ctx, b, dead[0], "nosuchsink"); err == nil || !strings.Contains(err.Error(), "no such sink") {
		t.Fatalf("replay to a missing sink: %v", err)
	}
	if err := sinks.ReplayToSink(ctx, b, dead[0], "one"); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return one.count(a.Event.ID) > 0 })
	waitIdle(t, b, "one")
	waitIdle(t, b, "other")
	if one.count(a.Event.ID) != 1 || other.count(a.Event.ID) != 0 {
		t.Fatalf("replay to one: one got %d, other %d", one.count(a.Event.ID), other.count(a.Event.ID))
	}
	if err := sinks.ReplayToAll(ctx, b, dead[1]); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return one.count(a.Event.ID) > 1 && other.count(a.Event.ID) > 0 })
	waitIdle(t, b, "one")
	waitIdle(t, b, "other")
	if one.count(a.Event.ID) != 2 || other.count(a.Event.ID) != 1 {
		t.Fatalf("replay to all: one got %d, other %d", one.count(a.Event.ID), other.count(a.Event.ID))
	}
}

func TestDeliveryOptionsValidate(t *testing.T) {
	t.Parallel()
	b := openBus(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := sinks.Deliver(ctx, b, "neg", sinks.WithDelivery(&countingSink{}, sinks.DeliveryOptions{MaxAge: -time.Second}), zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "sink neg: delivery.max_age: must not be negative") {
		t.Fatalf("err = %v", err)
	}
}
