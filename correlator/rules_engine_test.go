package correlator

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/event"
)

func testRule(t testing.TB, id, query string) *Rule {
	t.Helper()
	r, err := ParseRule(id+".toml", []byte(`[rule]
name = "`+id+`"
description = "test"
risk_score = 21
rule_id = "`+id+`"
severity = "low"
type = "eql"
query = '''
`+query+`
'''
`))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// moreRules use what the correlator adds to the seed rule's kind of
// query: missing events (middle and trailing), samples and head.
func moreRules(t testing.TB) []*Rule {
	return []*Rule{
		seedRule(t),
		testRule(t, "middle-missing", `sequence by host.id with maxspan=30s
  [network where process.name == "mmc.exe"]
  ![file where true]
  [process where true]`),
		testRule(t, "trailing-missing", `sequence by host.id with maxspan=20s
  [network where process.name == "mmc.exe"]
  [process where true]
  ![file where true]`),
		testRule(t, "sample", `sample by host.id [file where true] [process where true]`),
		// Which alerts a full limit keeps depends on arrival order across
		// hosts (see throttle); within one host it is exact.
		testRule(t, "head", `network where network.direction == "egress" and host.id == "id-WS00" | head 1`),
	}
}

func newEngine(t testing.TB, rules []*Rule, opts Options) *Engine {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedClock
	}
	e, err := Compile(rules, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestLatenessPropertyAllFeatures extends TestLatenessProperty to missing
// events, samples and head: any arrival order within the lateness gives
// the alerts of the time-sorted batch.
func TestLatenessPropertyAllFeatures(t *testing.T) {
	t.Parallel()
	const lateness = 20 * time.Second
	kinds := map[string]bool{}
	for seed := uint64(1); seed <= 15; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		docs := generateTraffic(rng, 3, 40)
		want := alertSet(runAll(newEngine(t, moreRules(t), Options{Lateness: Batch}), docs...))
		for _, a := range want {
			kinds[a.Rule.ID] = true
		}
		for round := 0; round < 3; round++ {
			arrival := shuffleWithin(rng, docs, lateness)
			got := alertSet(runAll(newEngine(t, moreRules(t), Options{Lateness: lateness}), arrival...))
			if !reflect.DeepEqual(alertIDs(got), alertIDs(want)) {
				t.Fatalf("seed %d round %d:\n got %v\nwant %v", seed, round, alertIDs(got), alertIDs(want))
			}
		}
	}
	for _, id := range []string{"51ce96fb-9e52-4dad-b0ba-99b54440fc9a", "middle-missing", "trailing-missing", "sample", "head"} {
		if !kinds[id] {
			t.Errorf("no traffic raised an alert of rule %s: the property says nothing about it", id)
		}
	}
}

func alertIDs(as []event.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Rule.ID+":"+a.Event.ID+"@"+a.Timestamp.Format(time.RFC3339Nano))
	}
	return out
}

func TestMissingEventRule(t *testing.T) {
	t.Parallel()
	rule := testRule(t, "no-logoff", `sequence by host.name, user.name with maxspan=5s
  [ authentication where event.code : "4624" ]
  ![ authentication where event.code : "4647" ]`)
	auth := func(code string, at time.Duration, rec int) event.Document {
		return event.Document{
			"@timestamp": t0.Add(at).Format(time.RFC3339Nano),
			"event":      map[string]any{"category": []any{"authentication"}, "code": code},
			"host":       map[string]any{"name": "DC1", "id": "id-DC1"},
			"user":       map[string]any{"name": "ann"},
			"winlog":     map[string]any{"computer_name": "DC1", "channel": "Security", "record_id": rec},
		}
	}
	now := t0
	e := newEngine(t, []*Rule{rule}, Options{Lateness: time.Second, Now: func() time.Time { return now }})
	var alerts []event.Alert
	for i, at := range []time.Duration{0, 3, 10, 30, 31, 32} {
		code := "4624"
		if at == 3 {
			code = "4647" // a logoff within 5s of the first logon
		}
		alerts = append(alerts, e.Process(auth(code, at*time.Second, i+1))...)
	}
	// The logon at 10s alerts once an event past 15s is evaluated: the one
	// at 30s, released by the one at 32s (lateness 1s).
	if len(alerts) != 1 || alerts[0].Weft.Events[0]["winlog"].(map[string]any)["record_id"] != 3 {
		t.Fatalf("alerts %+v", alerts)
	}
	if alerts[0].Timestamp != t0.Add(10*time.Second) {
		t.Errorf("alert time %v, want the logon's", alerts[0].Timestamp)
	}
	if st := e.Stats(); st.Discarded != 1 || st.Waiting != 1 || st.Buffered != 2 {
		t.Errorf("stats %+v", st)
	}
	// The host goes quiet: Tick releases its last logons, then closes
	// their windows once the clock has moved past them (less the
	// lateness).
	now = now.Add(10 * time.Second)
	if a := e.Tick(); len(a) != 0 || e.Stats().Waiting != 3 {
		t.Fatalf("first tick: %d alerts, stats %+v", len(a), e.Stats())
	}
	now = now.Add(10 * time.Second)
	if a := e.Tick(); len(a) != 3 || e.Stats().Waiting != 0 {
		t.Fatalf("second tick: %d alerts, stats %+v", len(a), e.Stats())
	}
}

func TestRulePipes(t *testing.T) {
	t.Parallel()
	if _, err := ParseRule("tail.toml", []byte(`[rule]
name = "t"
description = "t"
risk_score = 21
rule_id = "t"
severity = "low"
type = "eql"
query = """
process where true
| tail 5"""
`)); err == nil || !strings.Contains(err.Error(), "tail.toml:10:1: query: tail needs the end of the input") {
		t.Errorf("a rule with tail: %v", err)
	}
	bad := &Rule{ID: "x", Name: "x", Type: "eql", Severity: "low", MaxSignals: 1, Query: `process where true | tail 1`}
	if _, err := Compile([]*Rule{bad}, Options{}); err == nil {
		t.Error("an in-memory rule with tail compiled")
	}
	// head 2 caps a rule's alerts per interval below max_signals.
	e := newEngine(t, []*Rule{testRule(t, "h", `process where true | head 2`)}, Options{})
	var docs []event.Document
	for i := 0; i < 5; i++ {
		docs = append(docs, sysmonProcess("WS01", t0.Add(time.Duration(i)*time.Second), i))
	}
	if a := runAll(e, docs...); len(a) != 2 || e.Stats().Suppressed != 3 {
		t.Errorf("%d alerts, stats %+v", len(a), e.Stats())
	}
}

func TestSampleRule(t *testing.T) {
	t.Parallel()
	rule := testRule(t, "s", `sample by host.id [file where true] [process where process.parent.name == "mmc.exe"]`)
	file := func(host string, at time.Duration, rec int) event.Document {
		return event.Document{
			"@timestamp": t0.Add(at).Format(time.RFC3339Nano),
			"event":      map[string]any{"category": []any{"file"}},
			"host":       map[string]any{"name": host, "id": "id-" + host},
			"winlog":     map[string]any{"computer_name": host, "record_id": rec},
		}
	}
	for _, lateness := range []time.Duration{0, Batch} {
		e := newEngine(t, []*Rule{rule}, Options{Lateness: lateness})
		// Unordered in time: the process comes an hour before the file.
		alerts := runAll(e, sysmonProcess("WS01", t0, 1), file("WS01", time.Hour, 2), file("WS01", 2*time.Hour, 3),
			file("WS02", 0, 4))
		if len(alerts) != 1 || len(alerts[0].Weft.Events) != 2 || alerts[0].Host.ID != "id-WS01" ||
			!reflect.DeepEqual(alerts[0].Weft.JoinKeys, []any{"id-WS01"}) {
			t.Fatalf("lateness %v: alerts %+v", lateness, alerts)
		}
	}
}
