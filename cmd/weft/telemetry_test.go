package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMetricsListenerTaken runs weft run with --metrics-listen on a
// loopback port another socket holds: that stops weft with exit 1 and the
// address named, before any source is read, unless --metrics-optional (or
// WEFT_METRICS_OPTIONAL) says to run on without the endpoints.
func TestMetricsListenerTaken(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Held until the parallel subtests end, which is after this body.
	t.Cleanup(func() { busy.Close() })
	positive, err := filepath.Abs(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		optional bool
	}{
		{name: "taken is fatal"},
		{name: "optional flag", args: []string{"--metrics-optional"}, optional: true},
		{name: "optional from the environment", env: map[string]string{"WEFT_METRICS_OPTIONAL": "true"}, optional: true},
		{name: "optional=false", args: []string{"--metrics-optional=false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := filepath.Join(t.TempDir(), "weft.yaml")
			writeFile(t, cfg, "sources:\n  - type: files\n    paths: [\""+positive+"\"]\n")
			ctx, cancel := context.WithCancel(testContext(t))
			defer cancel()
			ready := make(chan string, 1)
			a := &app{
				getenv:       func(k string) string { return tc.env[k] },
				metricsReady: func(addr string) { ready <- addr },
			}
			done := make(chan struct{})
			var code int
			var stderr string
			go func() {
				defer close(done)
				code, _, stderr = runWeft(t, ctx, a, append([]string{"run", "--config", cfg, "--metrics-listen", busy.Addr().String()}, tc.args...)...)
			}()
			if !tc.optional {
				<-done
				if code != exitFailure {
					t.Errorf("exit %d, want %d; stderr:\n%s", code, exitFailure, stderr)
				}
				for _, want := range []string{"--metrics-listen " + busy.Addr().String(), "address already in use", "--metrics-optional"} {
					if !strings.Contains(stderr, want) {
						t.Errorf("stderr does not say %q:\n%s", want, stderr)
					}
				}
				if len(ready) != 0 {
					t.Error("metrics reported ready")
				}
				return
			}
			select {
			case addr := <-ready:
				if addr != "" {
					t.Errorf("metrics listener on %q, want none", addr)
				}
			case <-done:
				t.Fatalf("weft run exited %d with --metrics-optional; stderr:\n%s", code, stderr)
			}
			cancel()
			<-done
			if code != exitOK {
				t.Errorf("exit %d, want 0; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, "the metrics listener could not start") {
				t.Errorf("the missing listener is not logged:\n%s", stderr)
			}
		})
	}
}

// TestRunEventsBehindWatermark runs weft run over two files of one host,
// the one with the newer events first, as a files source reading a host's
// backups out of order does. The older file's events arrive behind the
// host's watermark: they are still evaluated (its alert is delivered) and
// counted as weft_correlator_events_behind_watermark_total, not as an
// error.
func TestRunEventsBehindWatermark(t *testing.T) {
	t.Parallel()
	got := make(chan struct{}, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got <- struct{}{} }))
	defer srv.Close()
	positive, err := os.ReadFile(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// The same attack an hour later, as other records.
	later := strings.NewReplacer("2026-11-20T10:1", "2026-11-20T11:1", "2026-11-20 10:1", "2026-11-20 11:1",
		"<EventRecordID>482", "<EventRecordID>582").Replace(string(positive))
	dir := t.TempDir()
	newer, older := filepath.Join(dir, "newer.xml"), filepath.Join(dir, "older.xml")
	writeFile(t, newer, later)
	writeFile(t, older, string(positive))
	cfg := filepath.Join(dir, "weft.yaml")
	writeFile(t, cfg, "sources:\n  - type: files\n    paths: [\""+newer+"\", \""+older+"\"]\ncorrelator:\n  lateness: 1s\nsinks:\n  - type: webhook\n    url: "+srv.URL+"/alerts\n")

	addrs := make(chan string, 1)
	a := &app{metricsReady: func(addr string) { addrs <- addr }}
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	addr, done := runWithMetrics(t, ctx, a, addrs, "--config", cfg)
	for range 2 {
		select {
		case <-got:
		case <-time.After(60 * time.Second):
			t.Fatal("the alerts of both files were not delivered")
		}
	}
	// The two mmc.exe events of the older file the rule keeps (the
	// connection and the child process) are behind the watermark.
	const behind = "weft_correlator_events_behind_watermark_total"
	var text string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, text = scrape(t, addr, "/metrics")
		if sample(text, behind) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	for _, tc := range []struct {
		series string
		want   func(float64) bool
		says   string
	}{
		{behind, func(v float64) bool { return v >= 2 }, "at least 2"},
		{`weft_errors_total{reason="late",stage="correlator"}`, func(v float64) bool { return v == -1 }, "absent"},
		{`weft_errors_total{reason="invalid_timestamp",stage="correlator"}`, func(v float64) bool { return v == 0 }, "0"},
		{"weft_correlator_early_releases_total", func(v float64) bool { return v == 0 }, "0"},
	} {
		if v := sample(text, tc.series); !tc.want(v) {
			t.Errorf("%s = %v, want %s", tc.series, v, tc.says)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("weft run exited %d", code)
	}
}

// TestHuntDuplicateFiles hunts a folder holding the positive fixture twice
// under two names, and a third copy named again on the command line: the
// copies are skipped, each logged with the file it repeats, and the
// summary counts them; the alert is raised once.
func TestHuntDuplicateFiles(t *testing.T) {
	t.Parallel()
	positive, err := os.ReadFile(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.xml"), filepath.Join(dir, "b.xml"), filepath.Join(t.TempDir(), "c.xml")
	for _, p := range []string{a, b, c} {
		writeFile(t, p, string(positive))
	}
	for _, tc := range []struct {
		name       string
		args       []string
		duplicates string
		of         map[string]string // skipped file: the one it repeats
	}{
		{"one file", []string{a}, "", nil},
		{"a folder with a copy", []string{dir}, "1 duplicate file skipped", map[string]string{b: a}},
		{"and another copy", []string{dir, c}, "2 duplicate files skipped", map[string]string{b: a, c: a}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runWeft(t, testContext(t), nil, append([]string{"--log-level", "info", "hunt", "--json"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if n := len(decodeAlerts(t, stdout)); n != 1 {
				t.Errorf("%d alerts, want 1", n)
			}
			summary := stderr[strings.LastIndex(strings.TrimSuffix(stderr, "\n"), "\n")+1:]
			if tc.duplicates == "" && strings.Contains(summary, "duplicate") || !strings.Contains(summary, tc.duplicates) {
				t.Errorf("summary %q, want %q", summary, tc.duplicates)
			}
			var logged int
			for _, line := range strings.Split(stderr, "\n") {
				if !strings.Contains(line, "the same content was read before") {
					continue
				}
				var l struct {
					File string `json:"file"`
					Of   string `json:"duplicate_of"`
				}
				if err := json.Unmarshal([]byte(line), &l); err != nil {
					t.Fatal(err)
				}
				if tc.of[l.File] != l.Of {
					t.Errorf("logged %s as a copy of %s", l.File, l.Of)
				}
				logged++
			}
			if logged != len(tc.of) {
				t.Errorf("%d copies logged, want %d:\n%s", logged, len(tc.of), stderr)
			}
		})
	}
}

// TestRunReloadAddsSigmaRawFields starts weft run with an EQL rule only,
// so the normalizer adds no raw Windows fields; then a Sigma rule is put
// in the rules folder and the rules are reloaded (SIGHUP). The Sigma
// rule reads Image, ParentImage and CommandLine, which only the raw
// fields carry: the fixture dropped afterwards raises its alert.
func TestRunReloadAddsSigmaRawFields(t *testing.T) {
	t.Parallel()
	alerts := make(chan []byte, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		alerts <- body
	}))
	defer srv.Close()
	rulesDir, watchDir, cfg := reloadSetup(t, srv.URL+"/alerts")

	addrs := make(chan string, 1)
	a := &app{metricsReady: func(addr string) { addrs <- addr }, hangup: make(chan os.Signal, 1)}
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	addr, done := runWithMetrics(t, ctx, a, addrs, "--config", cfg)
	writeFile(t, filepath.Join(rulesDir, "mmc_child.yml"), fmt.Sprintf(mmcChildRule, "test", "high"))
	a.hangup <- syscall.SIGHUP
	const loaded = `weft_alerts_total{rule="0f9c1e43-3a5d-4a8e-9b61-8c4b5d0e2f11"}`
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, text := scrape(t, addr, "/metrics"); strings.Contains(text, loaded) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Sigma rule never showed in /metrics after the hangup")
		}
	}
	positive, err := os.ReadFile(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(watchDir, "positive.xml"), string(positive))
	select {
	case body := <-alerts:
		var alert map[string]any
		if err := json.Unmarshal(body, &alert); err != nil {
			t.Fatal(err)
		}
		if got := field(alert, "rule.name"); got != "Shell Spawned by MMC" {
			t.Errorf("alert of rule %v, want the Sigma rule's", got)
		}
		if got := field(alert, "weft.events"); got == nil || !strings.Contains(fmt.Sprint(got), "event_data") {
			t.Errorf("the alert's event carries no raw fields: %v", got)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("no alert from the Sigma rule loaded by the reload")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("weft run exited %d", code)
	}
}
