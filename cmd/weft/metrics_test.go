package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
)

// scrape fetches a path of the telemetry listener.
func scrape(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// sample is the value of one series (name and labels exactly as the text
// format writes them: labels sorted by name) in a scrape, -1 when absent.
func sample(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return -1
			}
			return f
		}
	}
	return -1
}

// TestRunMetrics scrapes /metrics of a weft run before its sources start
// and after it delivered the positive fixture's alert: the counters of
// every stage moved.
func TestRunMetrics(t *testing.T) {
	t.Parallel()
	got := make(chan struct{}, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got <- struct{}{} }))
	defer srv.Close()
	positive, err := filepath.Abs(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "weft.yaml")
	writeFile(t, cfg, "sources:\n  - type: files\n    paths: [\""+positive+"\"]\n  - type: tcp\n    listen: 127.0.0.1:0\ncorrelator:\n  lateness: 1s\nsinks:\n  - type: webhook\n    url: "+srv.URL+"/alerts\n")

	const rule = `{rule="51ce96fb-9e52-4dad-b0ba-99b54440fc9a"}`
	series := []string{
		`weft_events_in_total{stage="normalizer"}`,
		`weft_events_in_total{stage="correlator"}`,
		`weft_events_out_total{stage="correlator"}`,
		`weft_alerts_total` + rule,
		`weft_sink_attempts_total{sink="webhook"}`,
		`weft_bus_publish_seconds_count{stream="WEFT_RAW"}`,
		`weft_events_out_total{stage="collector"}`,
		`weft_collector_last_checkpoint_timestamp_seconds{source="sources[0]",type="files"}`,
	}
	addrs := make(chan string, 1)
	before := map[string]float64{}
	started := time.Now()
	a := &app{metricsReady: func(addr string) {
		// Called before any source starts: nothing has flowed yet.
		_, text := scrape(t, addr, "/metrics")
		for _, s := range series {
			before[s] = sample(text, s)
		}
		addrs <- addr
	}}
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	addr, done := runWithMetrics(t, ctx, a, addrs, "--config", cfg)
	select {
	case <-got:
	case <-time.After(45 * time.Second):
		t.Fatal("no alert delivered")
	}
	if code, body := scrape(t, addr, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := scrape(t, addr, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz: %d %s", code, body)
	}
	wants := []struct {
		series string
		want   float64 // at least
	}{
		{series[0], 7},
		{series[1], 7},
		{series[2], 1},
		{series[3], 1},
		{series[4], 1},
		{series[5], 1},
		{series[6], 7},
		{series[7], float64(started.Unix())},
	}
	// The attempt is counted once Send returns, just after the receiver
	// answered, and the checkpoint is written after the events' round
	// reached the bus, which the alert may overtake: poll briefly.
	var text string
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, text = scrape(t, addr, "/metrics")
		reached := strings.Contains(text, `weft_collector_checkpoint_lag_records{source="sources[0]",type="files"} 0`)
		for _, tc := range wants {
			reached = reached && sample(text, tc.series) >= tc.want
		}
		if reached || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, tc := range wants {
		if b := before[tc.series]; b > 0 {
			t.Errorf("%s was %v before any source started", tc.series, b)
		}
		if v := sample(text, tc.series); v < tc.want {
			t.Errorf("%s = %v after the run, want at least %v", tc.series, v, tc.want)
		}
	}
	for _, s := range []string{
		`weft_sink_failures_total{sink="webhook"} 0`, `weft_correlator_pending_sequences` + rule, `weft_consumer_pending_messages{consumer="correlator"}`,
		`weft_collector_checkpoint_lag_records{source="sources[0]",type="files"} 0`,
		`weft_collector_checkpoint_lag_seconds{source="sources[0]",type="files"} 0`,
	} {
		if !strings.Contains(text, s) {
			t.Errorf("/metrics lacks %s", s)
		}
	}
	// The TCP listener counts a connection that sends what it does not
	// take, under its reason; its address is in its labels.
	listener := listenerSeries(t, text)
	conn, err := net.Dial("tcp", listener)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	labels := `{listener="` + listener + `",source="tcp"}`
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, text = scrape(t, addr, "/metrics")
		if sample(text, `weft_listener_errors_total{listener="`+listener+`",reason="protocol",source="tcp"}`) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the listener did not count the bad connection:\n%s", text)
		}
	}
	if v := sample(text, "weft_listener_connections_total"+labels); v != 1 {
		t.Errorf("weft_listener_connections_total = %v, want 1", v)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("weft run exited %d", code)
	}
}

// listenerSeries finds the address of the one listener in a scrape.
func listenerSeries(t *testing.T, text string) string {
	t.Helper()
	_, rest, ok := strings.Cut(text, `weft_listener_connections_total{listener="`)
	addr, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 {
		t.Fatalf("/metrics has no listener:\n%s", text)
	}
	return addr
}

// TestReadyzFollowsBus runs weft against an external NATS server, stops
// the server and starts it again on the same port: /readyz turns 503, then
// 200 again.
func TestReadyzFollowsBus(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dataDir := t.TempDir()
	ext, err := bus.Open(ctx, bus.Config{Listen: "127.0.0.1:0", DataDir: dataDir}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	url := ext.ClientURL()
	defer func() { ext.Close() }()

	cfg := filepath.Join(t.TempDir(), "weft.yaml")
	writeFile(t, cfg, "correlator:\n  lateness: 1s\n")
	addrs := make(chan string, 1)
	a := &app{metricsReady: func(addr string) { addrs <- addr }}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	addr, done := runWithMetrics(t, runCtx, a, addrs, "--config", cfg, "--nats", url)
	waitReady := func(want int) {
		t.Helper()
		var code int
		var body string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if code, body = scrape(t, addr, "/readyz"); code == want {
				return
			}
		}
		t.Fatalf("/readyz stayed %d (%s), want %d", code, strings.TrimSpace(body), want)
	}
	waitReady(http.StatusOK)
	ext.Close()
	waitReady(http.StatusServiceUnavailable)
	if code, _ := scrape(t, addr, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz is %d while the bus is away: the process is alive", code)
	}
	ext, err = bus.Open(ctx, bus.Config{Listen: strings.TrimPrefix(url, "nats://"), DataDir: dataDir}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	waitReady(http.StatusOK)
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("weft run exited %d", code)
	}
}

// TestRunReloadRules starts weft run with a rule that does not fire on the
// positive fixture, puts the seed rule in the rules folder, sends a hangup
// and then drops the fixture in the watched folder: the reloaded rule
// raises the alert.
func TestRunReloadRules(t *testing.T) {
	t.Parallel()
	got := make(chan struct{}, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got <- struct{}{} }))
	defer srv.Close()
	rulesDir, watchDir, cfg := reloadSetup(t, srv.URL+"/alerts")

	addrs := make(chan string, 1)
	a := &app{metricsReady: func(addr string) { addrs <- addr }, hangup: make(chan os.Signal, 1)}
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	addr, done := runWithMetrics(t, ctx, a, addrs, "--config", cfg)
	seed, err := os.ReadFile("../../correlator/rules/incoming_dcom_lateral_movement_with_mmc.toml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(rulesDir, "mmc.toml"), string(seed))
	a.hangup <- syscall.SIGHUP
	const loaded = `weft_correlator_pending_sequences{rule="51ce96fb-9e52-4dad-b0ba-99b54440fc9a"}`
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, text := scrape(t, addr, "/metrics"); strings.Contains(text, loaded) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the seed rule never showed in /metrics after the hangup")
		}
	}
	positive, err := os.ReadFile(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(watchDir, "positive.xml"), string(positive))
	select {
	case <-got:
	case <-time.After(40 * time.Second):
		t.Fatal("no alert after the rules were reloaded")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("weft run exited %d", code)
	}
}

// runWithMetrics starts weft run with args and a metrics listener in the
// background; it returns the listener's address once a has been told it
// (a's metricsReady sends it on addrs), and the channel of run's exit code.
func runWithMetrics(t *testing.T, ctx context.Context, a *app, addrs <-chan string, args ...string) (string, <-chan int) {
	t.Helper()
	done := make(chan int, 1)
	go func() {
		code, _, e := runWeft(t, ctx, a, append(append([]string{"run"}, args...), "--metrics-listen", "127.0.0.1:0")...)
		if code != 0 {
			t.Log(e)
		}
		done <- code
	}()
	select {
	case addr := <-addrs:
		return addr, done
	case code := <-done:
		t.Fatalf("weft run exited %d before serving metrics", code)
		return "", nil
	}
}

// reloadSetup makes a rules folder holding one EQL rule for calc.exe, a
// watched input folder and a weft.yaml that reads the one with the other
// and posts alerts to webhook: the start of every reload test.
func reloadSetup(t *testing.T, webhook string) (rulesDir, watchDir, cfg string) {
	t.Helper()
	dir := t.TempDir()
	rulesDir, watchDir = filepath.Join(dir, "rules"), filepath.Join(dir, "in")
	for _, d := range []string{rulesDir, watchDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(rulesDir, "calc.toml"), `[rule]
name = "calc"
description = "test"
risk_score = 21
rule_id = "calc-rule"
severity = "low"
type = "eql"
query = 'process where process.name == "calc.exe"'
`)
	cfg = filepath.Join(dir, "weft.yaml")
	writeFile(t, cfg, "sources:\n  - type: watch\n    path: "+watchDir+"\n    pattern: \"*.xml\"\n    settle: 100ms\nrules:\n  seed: false\n  paths: [\""+rulesDir+"\"]\ncorrelator:\n  lateness: 1s\nsinks:\n  - type: webhook\n    url: "+webhook+"\n")
	return rulesDir, watchDir, cfg
}
