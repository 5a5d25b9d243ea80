package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/logagg"
)

// processEvents writes rendered Sysmon process creations (event 1, the
// first of mmc-positive.xml) of host, n of them a second apart from
// first, with record ids from record on.
func processEvents(t *testing.T, b *strings.Builder, host string, n, first, record int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	ev := strings.SplitAfter(string(data), "</Event>")[0]
	for i := range n {
		s := strings.ReplaceAll(ev, "WKS-FIN-07.corp.example", host)
		s = regexp.MustCompile(`<EventRecordID>\d+`).ReplaceAllString(s, fmt.Sprintf("<EventRecordID>%d", record+i))
		s = regexp.MustCompile(`SystemTime="[^"]*"`).ReplaceAllString(s, fmt.Sprintf(`SystemTime="2026-11-20T10:10:%02d.000Z"`, first+i))
		s = regexp.MustCompile(`UtcTime">[^<]*`).ReplaceAllString(s, fmt.Sprintf(`UtcTime">2026-11-20 10:10:%02d.000`, first+i))
		b.WriteString(strings.TrimSpace(s) + "\n")
	}
}

// TestHuntReportsSuppressed: alerts over max_signals are counted per host,
// and hunt's summary and log say how many were suppressed and by which
// rule; another host's alert is not suppressed by the first one's flood.
func TestHuntReportsSuppressed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rule := filepath.Join(dir, "starts.toml")
	if err := os.WriteFile(rule, []byte(`[rule]
rule_id = "starts"
name = "Process starts"
description = "every process start"
risk_score = 21
severity = "low"
type = "eql"
interval = "5m"
max_signals = 2
query = 'process where event.type == "start"'
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	processEvents(t, &b, "FLOOD.corp.example", 9, 0, 1000)
	processEvents(t, &b, "VICTIM.corp.example", 1, 30, 2000)
	input := filepath.Join(dir, "starts.xml")
	if err := os.WriteFile(input, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runWeft(t, testContext(t), nil, "hunt", "--json", "--no-seed", "--rules", rule, input)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	alerts := decodeAlerts(t, out)
	hosts := map[any]int{}
	for _, a := range alerts {
		hosts[field(a, "host.name")]++
	}
	if len(alerts) != 3 || hosts["FLOOD.corp.example"] != 2 || hosts["VICTIM.corp.example"] != 1 {
		t.Errorf("alerts per host %v, want 2 of the flood and the victim's", hosts)
	}
	if !strings.Contains(errOut, "1 file, 10 events, 3 alerts, 0 errors") ||
		!strings.Contains(errOut, ", 7 alerts suppressed by max_signals (Process starts: 7)\n") {
		t.Errorf("summary does not report the suppressed alerts:\n%s", errOut)
	}
	if n := strings.Count(errOut, `"message":"alerts suppressed by max_signals (per rule and host)"`); n < 1 || n > 2 ||
		!strings.Contains(errOut, `"hosts":{"FLOOD.corp.example":`) {
		t.Errorf("%d log lines about suppressed alerts, want 1 or 2 naming the host:\n%s", n, errOut)
	}

	// weft rules test says the same.
	code, _, errOut = runWeft(t, testContext(t), nil, "rules", "test", rule, input)
	if code != 0 || !strings.Contains(errOut, "7 alerts suppressed by max_signals (2 per host and 5m0s)") {
		t.Errorf("rules test: exit %d, stderr:\n%s", code, errOut)
	}
}

// loggedCount is how many log lines containing phrase the log on stderr
// stands for: a line that sums up repeated ones counts as many.
func loggedCount(t *testing.T, stderr, phrase string) (lines, count int) {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.Contains(line, phrase) {
			continue
		}
		lines++
		var rec struct {
			Repeated int `json:"repeated"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		count += max(rec.Repeated, 1)
	}
	return lines, count
}

// TestHuntLogIsBounded: a file of 3,000 damaged events makes a few log
// lines, which still account for every event skipped, per file.
func TestHuntLogIsBounded(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(strings.SplitAfter(string(data), "</Event>")[0], "</Computer>", "</Channel>", 1)
	dir := t.TempDir()
	var files []string
	for i, n := range []int{3000, 10} {
		var b strings.Builder
		for range n {
			b.WriteString(strings.TrimSpace(bad) + "\n")
		}
		f := filepath.Join(dir, fmt.Sprintf("bad%d.xml", i))
		if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	start := time.Now()
	code, _, errOut := runWeft(t, testContext(t), nil, append([]string{"hunt", "--json"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "3010 errors") {
		t.Errorf("summary does not count 3010 errors:\n%s", errOut)
	}
	// Per file and interval of 10 s the run lasted (and the flush before
	// the summary): 5 lines pass, and one sums up the rest.
	intervals := int(time.Since(start)/logagg.DefaultInterval) + 2
	bound := intervals * (logagg.DefaultBurst + 1)
	for i, want := range []int{3000, 10} {
		lines, count := loggedCount(t, errOut, fmt.Sprintf(`"file":%q`, files[i]))
		if count != want || lines > bound {
			t.Errorf("%s: %d log lines standing for %d skipped events, want at most %d lines for %d", files[i], lines, count, bound, want)
		}
	}
	if n := strings.Count(errOut, "\n"); n > 100 {
		t.Errorf("%d lines on stderr for 3010 damaged events", n)
	}
}
