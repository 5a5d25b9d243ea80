package correlator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/event"
)

// TestMaxSignalsPerHost: forged attacks from 100 invented hosts in one
// window do not use up the max_signals of the host under attack, whose
// alert still fires; what is suppressed is counted per rule and logged in
// a few lines naming the rule and the hosts.
func TestMaxSignalsPerHost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		maxSignals         int
		alerts, suppressed int
		logLines           int
	}{
		// The default limit: before, the 200 forged alerts used up the
		// rule's 100 and the victim's alert was suppressed.
		{maxSignals: 100, alerts: 201},
		// One alert per host and window: each flood host's second attack
		// is suppressed, the victim's first is not.
		{maxSignals: 1, alerts: 101, suppressed: 100, logLines: 2},
	} {
		t.Run(fmt.Sprintf("max_signals=%d", tc.maxSignals), func(t *testing.T) {
			t.Parallel()
			r := *seedRule(t)
			r.MaxSignals = tc.maxSignals
			var logs bytes.Buffer
			e, err := Compile([]*Rule{&r}, Options{Now: fixedClock, Log: zerolog.New(&logs)})
			if err != nil {
				t.Fatal(err)
			}
			var docs []event.Document
			step := 0
			attack := func(host string) {
				at := t0.Add(time.Duration(step) * 500 * time.Millisecond)
				docs = append(docs, sysmonNetwork(host, at, 2*step), sysmonProcess(host, at.Add(100*time.Millisecond), 2*step+1))
				step++
			}
			for i := range 100 {
				attack(fmt.Sprintf("FORGED%03d", i))
				attack(fmt.Sprintf("FORGED%03d", i))
			}
			attack("VICTIM")
			if end := t0.Add(time.Duration(step) * 500 * time.Millisecond); end.Truncate(r.Interval) != t0.Truncate(r.Interval) {
				t.Fatalf("the attacks span two windows of %s", r.Interval)
			}
			alerts := runAll(e, docs...)
			if len(alerts) != tc.alerts {
				t.Errorf("%d alerts, want %d", len(alerts), tc.alerts)
			}
			if n := len(alerts); n == 0 || alerts[n-1].Host.Name != "VICTIM.corp.local" {
				t.Error("the victim's alert is not the last one")
			}
			st := e.Stats()
			if st.Suppressed != uint64(tc.suppressed) || st.Rules[0].Suppressed != uint64(tc.suppressed) || st.Forgotten != 0 {
				t.Errorf("stats: suppressed %d (rule %d), forgotten %d; want %d suppressed", st.Suppressed, st.Rules[0].Suppressed, st.Forgotten, tc.suppressed)
			}
			lines := bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n"))
			if logs.Len() == 0 {
				lines = nil
			}
			if len(lines) != tc.logLines {
				t.Fatalf("%d log lines, want %d:\n%s", len(lines), tc.logLines, logs.String())
			}
			var total, named, other uint64
			for _, l := range lines {
				var rec struct {
					Level, Message, Rule string
					Suppressed           uint64
					Hosts                map[string]uint64
					Other                uint64 `json:"other_hosts_suppressed"`
				}
				if err := json.Unmarshal(l, &rec); err != nil {
					t.Fatalf("%s: %v", l, err)
				}
				if rec.Level != "warn" || rec.Rule != r.ID || rec.Message != "alerts suppressed by max_signals (per rule and host)" {
					t.Errorf("log line %s", l)
				}
				if _, ok := rec.Hosts["VICTIM.corp.local"]; ok {
					t.Errorf("the victim's alert logged as suppressed: %s", l)
				}
				total += rec.Suppressed
				other += rec.Other
				for _, n := range rec.Hosts {
					named += n
				}
			}
			if total != uint64(tc.suppressed) || named+other != total || len(lines) > 0 && other == 0 {
				t.Errorf("logged %d suppressed (%d named, %d of other hosts), want %d", total, named, other, tc.suppressed)
			}
		})
	}
}

// TestThrottleBounded: the hosts a rule's throttle remembers are bounded;
// forgetting one only lets it alert again, and is counted.
func TestThrottleBounded(t *testing.T) {
	t.Parallel()
	th := throttle{interval: time.Minute, max: 1}
	for i := range maxThrottleHosts + 10 {
		if !th.allow(fmt.Sprintf("h%d", i), t0) {
			t.Fatalf("host %d suppressed on its first alert", i)
		}
	}
	if len(th.hosts) != maxThrottleHosts || th.lru.Len() != maxThrottleHosts || th.forgotten != 10 {
		t.Errorf("%d hosts (%d in order), %d forgotten", len(th.hosts), th.lru.Len(), th.forgotten)
	}
	// The latest host is remembered and limited; the first was forgotten.
	last := fmt.Sprintf("h%d", maxThrottleHosts+9)
	if th.allow(last, t0.Add(time.Second)) || !th.allow("h0", t0) {
		t.Error("remembered host let through or forgotten host suppressed")
	}
	// Windows of one host: a new window starts afresh, an old remembered
	// one is still limited, and one older than all remembered is let through.
	h := throttle{interval: time.Minute, max: 1}
	for i := range throttleWindows {
		if !h.allow("x", t0.Add(time.Duration(i+10)*time.Minute)) {
			t.Fatalf("window %d suppressed", i)
		}
	}
	if h.allow("x", t0.Add(10*time.Minute)) {
		t.Error("a remembered window let a second alert through")
	}
	if !h.allow("x", t0) {
		t.Error("an alert older than every remembered window was suppressed")
	}
	if h.suppressed != 1 {
		t.Errorf("suppressed %d, want 1", h.suppressed)
	}
}
