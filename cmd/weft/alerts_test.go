package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks"
)

// dlqBusForTest is the bus of a running weft: an embedded server on disk
// that listens on loopback, with the consumer of a sink named hook and two
// dead alerts of it.
func dlqBusForTest(t *testing.T) (*bus.Bus, []event.Alert) {
	t.Helper()
	ctx := testContext(t)
	b, err := bus.Open(ctx, bus.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir()}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	for _, name := range []string{"hook", "syslog"} {
		if err := b.EnsureConsumer(ctx, sinks.Consumer(name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.EnsureDeadLetters(ctx); err != nil {
		t.Fatal(err)
	}
	var alerts []event.Alert
	for i, id := range []string{"a1b2c3", "d4e5f6"} {
		a := event.Alert{
			Event: event.AlertEvent{Kind: "alert", ID: id},
			Rule:  event.Rule{ID: "rule-1", Name: "Incoming DCOM Lateral Movement with MMC"},
			Host:  event.Host{Name: "WKS-0" + string(rune('1'+i))},
		}
		data, err := bus.Encode(event.AlertBatch{a})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.PutDeadLetter(ctx, bus.DeadLetter{
			Consumer: "hook", Subject: "weft.alerts.rule-1", Origin: uint64(i + 1), Key: id, Data: data,
			Error: "webhook: alert " + id + ": post https://soar.example: attempt 3: status 500\nInternal", Attempts: 7,
			Published: time.Now().Add(-time.Hour),
		}); err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, a)
	}
	return b, alerts
}

// pending is the number of alert messages waiting for a sink's consumer.
func pending(t *testing.T, b *bus.Bus, sink string) uint64 {
	t.Helper()
	ctx := testContext(t)
	c, err := b.JetStream().Consumer(ctx, bus.StreamAlerts, sinks.Consumer(sink).Durable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.NumPending
}

func TestDLQList(t *testing.T) {
	t.Parallel()
	b, alerts := dlqBusForTest(t)
	url := b.ClientURL()

	code, out, errOut := runWeft(t, testContext(t), nil, "--nats", url, "alerts", "dlq", "list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "SEQ") {
		t.Fatalf("table:\n%s", out)
	}
	for i, a := range alerts {
		for _, want := range []string{a.Event.ID, "hook", " 7 ", a.Host.Name, "status 500 Internal"} {
			if !strings.Contains(lines[i+1], want) {
				t.Errorf("row %d lacks %q: %s", i+1, want, lines[i+1])
			}
		}
	}

	code, out, _ = runWeft(t, testContext(t), nil, "--nats", url, "alerts", "dlq", "list", "--json", "--limit", "1")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var got deadJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if got.Sink != "hook" || got.Deliveries != 7 || got.Alert == nil || got.Alert.Event.ID != alerts[0].Event.ID || got.Sequence != 1 || got.Published.IsZero() {
		t.Errorf("--json line %+v", got)
	}

	code, out, _ = runWeft(t, testContext(t), nil, "--nats", url, "alerts", "dlq", "list", "--sink", "slack")
	if code != 0 || strings.TrimSpace(out) != "no dead alerts" {
		t.Errorf("--sink slack: exit %d, %q", code, out)
	}
}

func TestDLQReplay(t *testing.T) {
	t.Parallel()
	b, alerts := dlqBusForTest(t)
	url := b.ClientURL()
	ctx := testContext(t)

	// To the sink that gave up (hook), one id.
	code, _, errOut := runWeft(t, ctx, nil, "--nats", url, "alerts", "dlq", "replay", "--id", alerts[0].Event.ID)
	if code != 0 || !strings.Contains(errOut, "1 alert replayed, 0 failed") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if p, q := pending(t, b, "hook"), pending(t, b, "syslog"); p != 1 || q != 0 {
		t.Errorf("after replay to hook: hook has %d pending, syslog %d", p, q)
	}
	left, err := sinks.DeadAlerts(ctx, b, "", 0)
	if err != nil || len(left) != 1 || left[0].Alert.Event.ID != alerts[1].Event.ID {
		t.Fatalf("letters left: %+v, %v", left, err)
	}

	// To a sink that does not exist: an error, and the letter stays.
	code, _, errOut = runWeft(t, ctx, nil, "--nats", url, "alerts", "dlq", "replay", "--to", "pager")
	if code != exitFailure || !strings.Contains(errOut, "replay to sink pager: no such sink") {
		t.Errorf("--to pager: exit %d: %s", code, errOut)
	}

	// To every sink.
	code, _, errOut = runWeft(t, ctx, nil, "--nats", url, "alerts", "dlq", "replay", "--all-sinks")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if p, q := pending(t, b, "hook"), pending(t, b, "syslog"); p != 2 || q != 1 {
		t.Errorf("after replay to all: hook has %d pending, syslog %d", p, q)
	}
	if left, _ := sinks.DeadAlerts(ctx, b, "", 0); len(left) != 0 {
		t.Errorf("%d letters left", len(left))
	}
}

func TestDLQUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"alerts", "dlq", "list"}, exitUsage, "the dead-letter queue lives on the bus of weft run"},
		{[]string{"alerts", "dlq", "replay", "--to", "x", "--all-sinks", "--data-dir", "/nonexistent"}, exitUsage, "--to and --all-sinks exclude each other"},
		{[]string{"alerts", "dlq", "list", "--limit", "-1", "--data-dir", "/nonexistent"}, exitUsage, "--limit -1"},
	} {
		code, _, errOut := runWeft(t, testContext(t), nil, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want exit %d naming %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

// TestRunDelivery runs weft with a webhook receiver that refuses the
// alert: the sink's delivery section sends it to the dead-letter queue
// after two deliveries, and the queue is readable from a second weft on
// the same bus.
func TestRunDelivery(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	positive, err := filepath.Abs(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(cfg, []byte(`
sources:
  - type: files
    paths: ["`+positive+`"]
correlator:
  lateness: 1s
sinks:
  - type: webhook
    name: soc
    url: `+srv.URL+`/alerts
    attempts: 1
    delivery:
      max_deliveries: 2
      retry_backoff: 10ms
`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	var url atomic.Value
	a := &app{busReady: func(b *bus.Bus) { url.Store(b.ClientURL()) }}
	done := make(chan int, 1)
	go func() {
		code, _, _ := runWeft(t, ctx, a, "run", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--nats-listen", "127.0.0.1:0")
		done <- code
	}()
	deadline := time.Now().Add(45 * time.Second)
	for {
		if u, _ := url.Load().(string); u != "" && requests.Load() >= 2 {
			code, out, errOut := runWeft(t, testContext(t), nil, "--nats", u, "alerts", "dlq", "list", "--json")
			if code == 0 && strings.Contains(out, `"sink":"soc"`) {
				var d deadJSON
				if err := json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &d); err != nil {
					t.Fatal(err)
				}
				if d.Deliveries != 2 || !strings.Contains(d.Error, "status 500") || d.Alert == nil || d.Alert.Rule.Name != "Incoming DCOM Lateral Movement with MMC" {
					t.Errorf("dead letter %+v", d)
				}
				break
			}
			if code != 0 {
				t.Fatalf("dlq list: exit %d: %s", code, errOut)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter after %d requests", requests.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("weft run exited %d", code)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("receiver saw %d requests, want 2 (max_deliveries 2, attempts 1)", n)
	}
}

func TestRunDeliveryConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown delivery key", "sinks:\n  - type: jsonl\n    delivery:\n      retries: 3\n", "sinks[0].delivery.retries: unknown key"},
		{"negative", "sinks:\n  - type: jsonl\n    delivery:\n      max_age: -1s\n", "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			writeFile(t, path, tc.yaml)
			code, _, errOut := runWeft(t, testContext(t), nil, "run", "--config", path)
			if code != exitFailure || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 naming %q", code, errOut, tc.want)
			}
		})
	}
}

// TestDLQDataDir: the dlq commands refuse a data directory that a running
// weft holds, and one that does not exist, naming it and changing
// nothing; once the holder is gone the same directory opens.
func TestDLQDataDir(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dir := t.TempDir()
	held, err := bus.Open(ctx, bus.Config{DataDir: dir}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	missing := filepath.Join(t.TempDir(), "no", "such")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"list held", []string{"alerts", "dlq", "list", "--data-dir", dir}, []string{dir, "in use", "--nats"}},
		{"replay held", []string{"alerts", "dlq", "replay", "--data-dir", dir}, []string{dir, "in use"}},
		{"list missing", []string{"alerts", "dlq", "list", "--data-dir", missing}, []string{missing, "does not exist"}},
		{"replay missing", []string{"alerts", "dlq", "replay", "--data-dir", missing}, []string{missing}},
	} {
		code, _, errOut := runWeft(t, ctx, nil, tc.args...)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1: %s", tc.name, code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: %q does not name %q", tc.name, errOut, w)
			}
		}
	}
	if _, err := os.Stat(filepath.Dir(missing)); !os.IsNotExist(err) {
		t.Errorf("the missing data directory was created: %v", err)
	}
	held.Close()
	if code, out, errOut := runWeft(t, ctx, nil, "alerts", "dlq", "list", "--data-dir", dir); code != 0 || strings.TrimSpace(out) != "no dead alerts" {
		t.Errorf("list once the holder is gone: exit %d, %q %s", code, out, errOut)
	}
}

// TestDLQListRejected: an event too big for any NATS message is listed by
// dlq list --rejected with where it was read, and not among the dead
// alerts.
func TestDLQListRejected(t *testing.T) {
	t.Parallel()
	b, _ := dlqBusForTest(t)
	ctx := testContext(t)
	huge := strings.Repeat("x", int(b.Conn().MaxPayload()))
	source := func(int) string { return "xml /srv/evtx/huge.xml offset 4096" }
	if err := bus.PublishItems(ctx, b, bus.Subject(bus.SubjectRaw, "wks-01"), "raw", []string{huge}, []string{"wks-01|Security|7"}, source); err != nil {
		t.Fatal(err)
	}
	url := b.ClientURL()
	code, out, errOut := runWeft(t, ctx, nil, "--nats", url, "alerts", "dlq", "list", "--rejected")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "SEQ") {
		t.Fatalf("table:\n%s", out)
	}
	for _, want := range []string{"/srv/evtx/huge.xml offset 4096", "wks-01|Security|7", "publish raw", "maximum payload"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row lacks %q: %s", want, lines[1])
		}
	}
	code, out, _ = runWeft(t, ctx, nil, "--nats", url, "alerts", "dlq", "list", "--rejected", "--json")
	var got rejectedJSON
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("--json: exit %d, %q: %v", code, out, err)
	}
	if got.Bytes <= len(huge) || len(got.Data) == 0 || len(got.Data) >= got.Bytes || got.Subject != "weft.raw.wks-01" {
		t.Errorf("--json line: %d bytes, %d kept, subject %q", got.Bytes, len(got.Data), got.Subject)
	}
	// The dead alerts are the two sink letters only.
	code, out, _ = runWeft(t, ctx, nil, "--nats", url, "alerts", "dlq", "list")
	if n := len(strings.Split(strings.TrimSpace(out), "\n")); code != 0 || n != 3 {
		t.Errorf("dlq list: exit %d, %d lines:\n%s", code, n, out)
	}
	if code, _, errOut := runWeft(t, ctx, nil, "--nats", url, "alerts", "dlq", "list", "--rejected", "--sink", "hook"); code != exitUsage {
		t.Errorf("--rejected --sink: exit %d, %s", code, errOut)
	}
}
