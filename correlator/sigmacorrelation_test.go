package correlator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/event"
)

// The correlation specification's examples, as weft loads them.
const (
	failedLogin = `title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 529
            - 4625
    condition: selection
`
	successfulLogin = `title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
description: Detects a successful login
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 528
            - 4624
    condition: selection
`
	// manyFailed is the specification's event_count example (Many failed
	// logins, gte 100 by ComputerName in 1h) referring to failed_login.
	manyFailed = `title: Many failed logins
id: 0e95725d-7320-415d-80f7-004da920fc11
level: high
correlation:
    type: event_count
    rules:
        - 53ba33fd-3a50-4468-a5ef-c583635cfa92
    group-by:
        - ComputerName
    timespan: 1h
    condition:
        gte: 100
`
	// failedThenSuccess is the temporal_ordered of the specification's
	// final example, over the two rules directly.
	failedThenSuccess = `title: Correlation - Failed Login Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
author: Florian Roth (Nextron Systems)
correlation:
    type: temporal_ordered
    rules:
        - failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
falsepositives:
    - Unlikely
level: high
`
)

// loginDoc is a Security logon event of host at second s.
func loginDoc(host string, s int, eventID, user, computer string) event.Document {
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(s) * time.Second)
	return event.Document{
		"@timestamp": ts.Format(time.RFC3339Nano),
		"host":       map[string]any{"name": host, "id": host},
		"winlog":     map[string]any{"channel": "Security", "record_id": fmt.Sprint(s), "computer_name": host},
		"weft": map[string]any{
			"event_data": map[string]any{"User": user, "ComputerName": computer},
			"system":     map[string]any{"Channel": "Security", "EventID": eventID, "Computer": host, "EventRecordID": fmt.Sprint(s)},
		},
	}
}

func loadSigma(t *testing.T, docs ...string) []*Rule {
	t.Helper()
	path := filepath.Join(t.TempDir(), "correlation.yml")
	if err := os.WriteFile(path, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	rules, errs := LoadRules(context.Background(), path)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return rules
}

func runDocs(t *testing.T, rules []*Rule, lateness time.Duration, docs []event.Document) []event.Alert {
	t.Helper()
	e, err := Compile(rules, Options{Lateness: lateness})
	if err != nil {
		t.Fatal(err)
	}
	var alerts []event.Alert
	for _, d := range docs {
		alerts = append(alerts, e.Process(d)...)
	}
	return append(alerts, e.Flush()...)
}

// TestSigmaEventCount: the specification's event_count example raises an
// alert with its hundred events when a hundred failed logins to one
// computer fall within an hour, and none for 99 or for a hundred spread
// over more than an hour. The rule it refers to does not alert alone.
func TestSigmaEventCount(t *testing.T) {
	t.Parallel()
	rules := loadSigma(t, manyFailed, failedLogin)
	if len(rules) != 1 || rules[0].ID != "0e95725d-7320-415d-80f7-004da920fc11" || !rules[0].Program().IsSequence() {
		t.Fatalf("rules %v: want the correlation alone, as a sequence", rules)
	}
	failures := func(n, every int, computer string) []event.Document {
		var out []event.Document
		for i := 0; i < n; i++ {
			out = append(out, loginDoc("DC1", i*every, "4625", "u", computer))
		}
		return out
	}
	tests := []struct {
		name   string
		docs   []event.Document
		alerts int
	}{
		{"100 in 99 s", failures(100, 1, "WS7"), 1},
		{"99 in an hour", failures(99, 1, "WS7"), 0},
		{"100 over 100 minutes", failures(100, 60, "WS7"), 0},
		{"100 over two computers", append(failures(50, 1, "WS7"), failures(50, 1, "WS8")...), 0},
		{"successful logins do not count", append(failures(99, 1, "WS7"), loginDoc("DC1", 200, "4624", "u", "WS7")), 0},
	}
	for _, tc := range tests {
		alerts := runDocs(t, rules, Batch, tc.docs)
		if len(alerts) != tc.alerts {
			t.Errorf("%s: %d alerts, want %d", tc.name, len(alerts), tc.alerts)
			continue
		}
		for _, a := range alerts {
			if len(a.Weft.Events) != 100 || a.Rule.Severity != "high" || a.Rule.Ruleset != "sigma" {
				t.Errorf("%s: alert with %d events, severity %s", tc.name, len(a.Weft.Events), a.Rule.Severity)
			}
		}
	}
}

// TestSigmaTemporalOrdered: a failed login followed within ten minutes by
// a successful login of the same user raises an alert with both events,
// also when the events arrive out of order within the lateness; not when
// the order, the user or the timespan differ.
func TestSigmaTemporalOrdered(t *testing.T) {
	t.Parallel()
	rules := loadSigma(t, failedThenSuccess, failedLogin, successfulLogin)
	if len(rules) != 1 {
		t.Fatalf("%d rules, want the correlation alone", len(rules))
	}
	fail := func(s int, user string) event.Document { return loginDoc("DC1", s, "4625", user, "WS7") }
	ok := func(s int, user string) event.Document { return loginDoc("DC1", s, "4624", user, "WS7") }
	tests := []struct {
		name     string
		lateness time.Duration
		docs     []event.Document
		alerts   int
	}{
		{"in order", Batch, []event.Document{fail(0, "bob"), ok(60, "bob")}, 1},
		{"other user", Batch, []event.Document{fail(0, "bob"), ok(60, "eve")}, 0},
		{"wrong order", Batch, []event.Document{ok(0, "bob"), fail(60, "bob")}, 0},
		{"too late", Batch, []event.Document{fail(0, "bob"), ok(601, "bob")}, 0},
		{"arrive out of order within lateness", time.Minute, []event.Document{ok(30, "bob"), fail(0, "bob"), ok(200, "x")}, 1},
		{"user names compare as written", Batch, []event.Document{fail(0, "bob"), ok(60, "BOB")}, 0},
	}
	for _, tc := range tests {
		alerts := runDocs(t, rules, tc.lateness, tc.docs)
		if len(alerts) != tc.alerts {
			t.Errorf("%s: %d alerts, want %d", tc.name, len(alerts), tc.alerts)
			continue
		}
		for _, a := range alerts {
			if len(a.Weft.Events) != 2 || a.Rule.ID != "b180ead8-d58f-40b2-ae54-c8940995b9b6" || len(a.Rule.Author) != 1 {
				t.Errorf("%s: alert %+v", tc.name, a.Rule)
			}
		}
	}
}

// TestSigmaCorrelationGenerate: with generate: true the rules a correlation
// uses alert on their own too; wrong correlations say why.
func TestSigmaCorrelationGenerate(t *testing.T) {
	t.Parallel()
	gen := strings.Replace(failedThenSuccess, "correlation:\n", "correlation:\n    generate: true\n", 1)
	rules := loadSigma(t, gen, failedLogin, successfulLogin)
	if len(rules) != 3 {
		t.Errorf("%d rules with generate: true, want 3", len(rules))
	}
	path := filepath.Join(t.TempDir(), "c.yml")
	for _, tc := range []struct{ src, want string }{
		{strings.Replace(manyFailed, "gte: 100", "lt: -1", 1), "correlation condition lt -1 is negative"},
		{strings.Replace(manyFailed, "type: event_count", "type: value_count", 1), "value_count"},
		{strings.Replace(failedThenSuccess, "temporal_ordered", "value_avg", 1), "correlation type value_avg is not supported"},
		{strings.Replace(failedThenSuccess, "successful_login\n", "nope\n", 1), `rule "nope"`},
	} {
		if err := os.WriteFile(path, []byte(tc.src+"---\n"+failedLogin+"---\n"+successfulLogin), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errs := LoadRules(context.Background(), path)
		if len(errs) == 0 || !strings.Contains(fmt.Sprint(errs), tc.want) {
			t.Errorf("errors %v, want one saying %q", errs, tc.want)
		}
	}
}
