package bus

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/internal/datadir"
)

func openTest(t *testing.T, cfg Config) *Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Open(ctx, cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func TestSubject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ prefix, key, want string }{
		{SubjectRaw, "WKS-FIN-07.corp.example", "weft.raw.wks-fin-07_corp_example"},
		{SubjectECS, "", "weft.ecs._"},
		{SubjectAlerts, "a*b>c d", "weft.alerts.a_b_c_d"},
	} {
		if got := Subject(tc.prefix, tc.key); got != tc.want {
			t.Errorf("Subject(%q, %q) = %q, want %q", tc.prefix, tc.key, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"listen port", Config{Listen: "4222"}, true},
		{"url and listen", Config{URL: "nats://127.0.0.1:4222", Listen: "4222"}, false},
		{"url and data dir", Config{URL: "nats://127.0.0.1:4222", DataDir: "/tmp/x"}, false},
		{"cert without key", Config{URL: "tls://127.0.0.1:4222", TLS: TLS{CertFile: "c.pem"}}, false},
		{"bad listen", Config{Listen: "127.0.0.1:notaport"}, false},
		{"negative", Config{BatchSize: -1}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	in := event.DocumentBatch{{
		"host":        map[string]any{"name": "WKS-1"},
		"source":      map[string]any{"port": int64(49703)},
		"event":       map[string]any{"category": []any{"network"}},
		"@timestamp":  "2026-11-20T10:15:02.118Z",
		"destination": map[string]any{"port": uint16(50112)},
	}}
	data, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	var out event.DocumentBatch
	if err := Decode(data, &out); err != nil {
		t.Fatal(err)
	}
	if got, _ := out[0].Get("host.name"); got != "WKS-1" {
		t.Errorf("host.name = %v", got)
	}
	if got, _ := out[0].Get("source.port"); got != int64(49703) {
		t.Errorf("source.port = %#v, want int64", got)
	}
	if got, _ := out[0].Get("destination.port"); got != int64(50112) && got != uint64(50112) {
		t.Errorf("destination.port = %#v, want a 64-bit integer", got)
	}
	if err := Decode([]byte{0xc1}, &out); err == nil {
		t.Error("Decode of garbage succeeded")
	}
}

// TestPublishConsume sends batches through the embedded server and checks
// order, deduplication by message id, and Idle.
func TestPublishConsume(t *testing.T) {
	t.Parallel()
	b := openTest(t, Config{BatchSize: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := Consumer{Stream: StreamRaw, Durable: "test"}
	if err := b.EnsureConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	bt := NewBatcher[event.Raw](b, "raw")
	for _, rec := range []uint64{1, 2, 3, 4, 1, 2} { // the last two repeat a batch
		r := event.Raw{Computer: "H1", Channel: "C", RecordID: rec}
		if err := bt.Add(ctx, Subject(SubjectRaw, r.Computer), r, r.Identity()); err != nil {
			t.Fatal(err)
		}
	}
	if err := bt.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var got []uint64
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(runCtx, c, func(_ context.Context, data []byte, subject string) error {
			var batch event.RawBatch
			if err := Decode(data, &batch); err != nil {
				return Permanent(err)
			}
			if want := Subject(SubjectRaw, "h1"); subject == want || !strings.HasSuffix(subject, ".h1") {
				// The stream files each host under its partition.
				t.Errorf("subject %q", subject)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range batch {
				got = append(got, r.RecordID)
			}
			return nil
		}, func(err error) { t.Errorf("consume: %v", err) })
	}()
	if err := b.WaitIdle(ctx, c); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []uint64{1, 2, 3, 4} // batch {1,2} repeated: dropped as a duplicate
	if len(got) != len(want) {
		t.Fatalf("records %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("records %v, want %v", got, want)
		}
	}
}

// TestPermanentError checks that an undecodable message is terminated, not
// redelivered forever, and the consumer goes idle.
func TestPermanentError(t *testing.T) {
	t.Parallel()
	b := openTest(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := Consumer{Stream: StreamECS, Durable: "test"}
	if err := b.EnsureConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, Subject(SubjectECS, "h"), []byte{0xc1}, "x"); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	errs := make(chan error, 10)
	go func() {
		_ = b.Consume(runCtx, c, func(_ context.Context, data []byte, _ string) error {
			var batch event.DocumentBatch
			if err := Decode(data, &batch); err != nil {
				return Permanent(err)
			}
			return nil
		}, func(err error) { errs <- err })
	}()
	if err := b.WaitIdle(ctx, c); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !IsPermanent(err) {
			t.Errorf("error %v is not permanent", err)
		}
	default:
		t.Error("no error reported for an undecodable message")
	}
}

// TestEmbeddedListen checks that --nats-listen exposes the embedded server
// on loopback and that a second Bus joins it as an external client.
func TestEmbeddedListen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := openTest(t, Config{Listen: "127.0.0.1:0", DataDir: dir})
	url := b.ClientURL()
	if url == "" {
		t.Fatal("no client URL for a listening embedded server")
	}
	client := openTest(t, Config{URL: url})
	if !client.Connected() {
		t.Fatal("external client not connected")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Publish(ctx, Subject(SubjectAlerts, "r"), []byte{0x90}, ""); err != nil {
		t.Fatalf("publish through the listener: %v", err)
	}
	s, err := b.JetStream().Stream(ctx, StreamAlerts)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("alerts stream holds %d messages, want 1", info.State.Msgs)
	}
}

// TestDataDirHeld: a second embedded server on a data directory in use is
// refused, naming the directory, until the first bus is closed.
func TestDataDirHeld(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := Open(ctx, Config{DataDir: dir}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	second, err := Open(ctx, Config{DataDir: dir}, zerolog.Nop())
	if err == nil {
		second.Close()
		first.Close()
		t.Fatal("a second bus opened the data directory in use")
	}
	if !datadir.IsHeld(err) || !strings.Contains(err.Error(), dir) {
		t.Errorf("second Open: %v; want the directory named as held", err)
	}
	first.Close()
	again, err := Open(ctx, Config{DataDir: dir}, zerolog.Nop())
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
}
