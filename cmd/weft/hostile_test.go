package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// longHost is a host name of 4,100 characters: as a subject token it made
// NATS close the connection ("maximum control line exceeded"), which
// stopped every stage until a restart.
var longHost = strings.Repeat("H", 4100)

// withHost is doc with every <Computer> naming host.
func withHost(doc, host string) string {
	return regexp.MustCompile(`<Computer>[^<]*</Computer>`).ReplaceAllLiteralString(doc, "<Computer>"+host+"</Computer>")
}

// TestHuntHostileHost: a hunt of the MMC sequence on a host named by
// 4,100 characters and of the same sequence on an ordinary host raises
// both alerts and exits 0.
func TestHuntHostileHost(t *testing.T) {
	t.Parallel()
	good := filepath.Join(fixtures, "mmc-positive.xml")
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.xml")
	writeFile(t, bad, withHost(string(data), longHost))
	code, out, errOut := runWeft(t, testContext(t), nil, "hunt", "--json", bad, good)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	var hosts []string
	for _, a := range decodeAlerts(t, out) {
		if field(a, "rule.name") != "Incoming DCOM Lateral Movement with MMC" {
			t.Errorf("alert of rule %v", field(a, "rule.name"))
		}
		h, _ := field(a, "host.name").(string)
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	if want := []string{longHost, "WKS-FIN-07.corp.example"}; !slices.Equal(hosts, want) {
		t.Errorf("alerts for hosts %.60q, want %.60q", hosts, want)
	}
	if !strings.Contains(errOut, "2 files, 14 events, 2 alerts, 0 errors") {
		t.Errorf("summary missing from stderr:\n%s", errOut)
	}
}

// TestRunHostileHost: weft run takes the MMC sequence of a host named by
// 4,100 characters over its TCP listener, then the sequence of an
// ordinary host: both alerts reach the webhook, /readyz stays 200, and
// weft stops cleanly.
func TestRunHostileHost(t *testing.T) {
	t.Parallel()
	hook, alerts := alertReceiver(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	config := filepath.Join(t.TempDir(), "weft.yaml")
	writeFile(t, config, "sources:\n  - type: tcp\n    listen: "+addr+`
correlator:
  lateness: 2s
sinks:
  - type: webhook
    url: `+hook.URL+`/alerts
`)
	addrs := make(chan string, 1)
	a := &app{metricsReady: func(addr string) { addrs <- addr }}
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	metrics, done := runWithMetrics(t, ctx, a, addrs, "--config", config)
	stop := func() int {
		cancel()
		return <-done
	}
	positive, err := os.ReadFile(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	send(t, "tcp", addr, nil, "", []string{withHost(string(positive), longHost), string(positive)})
	var hosts []string
	for len(hosts) < 2 {
		select {
		case a := <-alerts:
			h, _ := field(a, "host.name").(string)
			hosts = append(hosts, h)
		case <-time.After(60 * time.Second):
			t.Fatalf("alerts for %.60q only; weft run exited %d", hosts, stop())
		}
	}
	// Still connected to its bus: ready.
	var code int
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code, body = scrape(t, metrics, "/readyz"); code == http.StatusOK {
			break
		}
	}
	if code != http.StatusOK {
		t.Errorf("/readyz %d: %s", code, body)
	}
	if code := stop(); code != 0 {
		t.Fatalf("weft run exited %d", code)
	}
	slices.Sort(hosts)
	if want := []string{longHost, "WKS-FIN-07.corp.example"}; !slices.Equal(hosts, want) {
		t.Errorf("alerts for hosts %.60q, want %.60q", hosts, want)
	}
}

// TestHuntSummaryRefused: what the bus refused is in hunt's summary, not
// only in the log.
func TestHuntSummaryRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sum  huntSummary
		want string
	}{
		{huntSummary{files: 1, events: 7, alerts: 1, rules: 1}, "weft hunt: 1 file, 7 events, 1 alert, 0 errors, 1 rule in 0.00s"},
		{huntSummary{files: 1, events: 7, inputErrors: 1, rules: 392, ruleErrors: 2, ruleOrigins: " (1 built-in, 391 from rules/)"}, "weft hunt: 1 file, 7 events, 0 alerts, 3 errors, 392 rules (1 built-in, 391 from rules/) in 0.00s (2 rules did not load)"},
		{huntSummary{files: 2, events: 9, refused: 2, rules: 1}, "weft hunt: 2 files, 9 events, 0 alerts, 0 errors, 1 rule in 0.00s, 2 items too big for the bus (logged, not evaluated)"},
	} {
		if got := tc.sum.String(); got != tc.want {
			t.Errorf("summary %q, want %q", got, tc.want)
		}
	}
}
