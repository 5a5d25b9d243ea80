package correlator

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/weft-dev/weft/correlator/eql"
	"github.com/weft-dev/weft/event"
)

var (
	t0      = time.Date(2024, 5, 1, 10, 0, 0, 123_000_000, time.UTC)
	created = time.Date(2024, 5, 2, 8, 0, 0, 0, time.UTC)
)

func fixedClock() time.Time { return created }

const (
	mmcGUID   = "{6b6c9a4e-1c2d-6630-3a05-000000000f00}"
	childGUID = "{6b6c9a4e-1c2e-6630-3b05-000000000f00}"
)

// sysmonNetwork is a Sysmon event 3 (incoming connection to mmc.exe) as the
// normalizer produces it from Elastic's pipeline: Sysmon reports the local
// endpoint in source.* and the remote client in destination.*.
func sysmonNetwork(host string, at time.Time, record int) event.Document {
	return event.Document{
		"@timestamp": at.Format(time.RFC3339Nano),
		"event": map[string]any{
			"kind": "event", "code": "3", "module": "sysmon", "action": "Network connection",
			"category": []any{"network"}, "type": []any{"start", "connection", "protocol"},
		},
		"host": map[string]any{"name": host + ".corp.local", "id": "id-" + host, "os": map[string]any{"type": "windows"}},
		"winlog": map[string]any{
			"computer_name": host + ".corp.local", "channel": "Microsoft-Windows-Sysmon/Operational",
			"record_id": strconv.Itoa(record), "event_id": "3",
		},
		"process": map[string]any{
			"name": "mmc.exe", "executable": `C:\Windows\System32\mmc.exe`, "pid": int64(4242), "entity_id": mmcGUID,
		},
		"source":      map[string]any{"ip": "10.0.0.5", "port": int64(49701)},
		"destination": map[string]any{"ip": "10.0.0.99", "port": int64(50122)},
		"network":     map[string]any{"direction": "ingress", "transport": "tcp", "type": "ipv4"},
	}
}

// sysmonProcess is a Sysmon event 1: a child of the mmc.exe above.
func sysmonProcess(host string, at time.Time, record int) event.Document {
	return event.Document{
		"@timestamp": at.Format(time.RFC3339Nano),
		"event": map[string]any{
			"kind": "event", "code": "1", "module": "sysmon", "action": "Process creation",
			"category": []any{"process"}, "type": []any{"start"},
		},
		"host": map[string]any{"name": host + ".corp.local", "id": "id-" + host, "os": map[string]any{"type": "windows"}},
		"winlog": map[string]any{
			"computer_name": host + ".corp.local", "channel": "Microsoft-Windows-Sysmon/Operational",
			"record_id": strconv.Itoa(record), "event_id": "1",
		},
		"process": map[string]any{
			"name": "cmd.exe", "executable": `C:\Windows\System32\cmd.exe`, "pid": int64(5120), "entity_id": childGUID,
			"command_line": `cmd.exe /c whoami > C:\Windows\Temp\out.txt`,
			"parent": map[string]any{
				"name": "mmc.exe", "executable": `C:\Windows\System32\mmc.exe`, "pid": int64(4242), "entity_id": mmcGUID,
			},
		},
	}
}

func newSeedEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedClock
	}
	e, err := Compile([]*Rule{seedRule(t)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func runAll(e *Engine, docs ...event.Document) []event.Alert {
	var out []event.Alert
	for _, d := range docs {
		out = append(out, e.Process(d)...)
	}
	return append(out, e.Flush()...)
}

func TestSeedRuleFires(t *testing.T) {
	t.Parallel()
	net := sysmonNetwork("WS01", t0, 1001)
	proc := sysmonProcess("WS01", t0.Add(5*time.Second), 1002)
	e := newSeedEngine(t, Options{})
	alerts := runAll(e, net, proc)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(alerts))
	}
	r := seedRule(t)
	want := event.Alert{
		Timestamp: t0.Add(5 * time.Second),
		Message:   `mmc.exe on WS01.corp.local accepted TCP from 10.0.0.99:50122 and started cmd.exe /c whoami > C:\Windows\Temp\out.txt`,
		Event: event.AlertEvent{
			Kind: "alert", ID: event.AlertID(r.ID, []event.Document{net, proc}), Created: created,
			Severity: 73, RiskScore: 73,
		},
		Rule:   r.EventRule(),
		Threat: r.Threat,
		Host:   event.Host{Name: "WS01.corp.local", ID: "id-WS01", OS: event.HostOS{Type: "windows"}},
		Weft: event.AlertWeft{JoinKeys: []any{"id-WS01", mmcGUID}, Events: []event.Document{net, proc}, Origins: []event.EventOrigin{
			{Channel: "Microsoft-Windows-Sysmon/Operational", RecordID: "1001", EventID: "3"},
			{Channel: "Microsoft-Windows-Sysmon/Operational", RecordID: "1002", EventID: "1"},
		}},
	}
	if !reflect.DeepEqual(alerts[0], want) {
		t.Errorf("alert\n got %+v\nwant %+v", alerts[0], want)
	}
	if id := alerts[0].Event.ID; len(id) != 32 {
		t.Errorf("alert id %q", id)
	}
	st := e.Stats()
	if st.Alerts != 1 || st.Received != 2 || st.Evaluated != 2 || st.Pending != 0 || st.Rules[0].Alerts != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestSeedRuleCases checks the seed rule on variations of the positive
// pair; each negative breaks exactly one condition of the rule.
func TestSeedRuleCases(t *testing.T) {
	t.Parallel()
	set := func(path string, v any) func(n, p event.Document) {
		return func(n, _ event.Document) { n.Set(path, v) }
	}
	setProc := func(path string, v any) func(n, p event.Document) {
		return func(_, p event.Document) { p.Set(path, v) }
	}
	tests := []struct {
		name    string
		modify  func(net, proc event.Document)
		childAt time.Duration
		fires   bool
	}{
		{"positive", nil, 5 * time.Second, true},
		{"child exactly one minute later", nil, time.Minute, true},
		{"direction incoming", set("network.direction", "incoming"), time.Second, true},
		{"process name in upper case", set("process.name", "MMC.EXE"), time.Second, true},
		{"parent name in upper case", setProc("process.parent.name", "MMC.exe"), time.Second, true},
		{"ports as strings", func(n, _ event.Document) {
			n.Set("source.port", "49701")
			n.Set("destination.port", "50122")
		}, time.Second, true},
		{"ports as JSON numbers", func(n, _ event.Document) {
			n.Set("source.port", float64(49701))
			n.Set("destination.port", uint16(50122))
		}, time.Second, true},
		{"timestamps as time values", func(n, p event.Document) {
			n["@timestamp"] = t0
			p["@timestamp"] = t0.Add(time.Second)
		}, time.Second, true},
		{"ports at the boundary", func(n, _ event.Document) {
			n.Set("source.port", int32(49152))
			n.Set("destination.port", int32(49152))
		}, time.Second, true},
		{"local port below 49152", set("source.port", int64(49151)), time.Second, false},
		{"remote port below 49152", set("destination.port", int64(135)), time.Second, false},
		{"loopback 127.0.0.1", set("source.ip", "127.0.0.1"), time.Second, false},
		{"loopback ::1", set("source.ip", "::1"), time.Second, false},
		{"loopback ::1 written long", set("source.ip", "0:0:0:0:0:0:0:1"), time.Second, false},
		{"outgoing connection", set("network.direction", "egress"), time.Second, false},
		{"udp", set("network.transport", "udp"), time.Second, false},
		{"not mmc.exe", set("process.name", "svchost.exe"), time.Second, false},
		{"not a start", set("event.type", []any{"end", "connection", "protocol"}), time.Second, false},
		{"not windows", set("host.os.type", "linux"), time.Second, false},
		{"child of a different mmc.exe", setProc("process.parent.entity_id", "{6b6c9a4e-0000-6630-3a05-000000000f00}"), time.Second, false},
		{"parent is not mmc.exe", setProc("process.parent.name", "explorer.exe"), time.Second, false},
		{"child more than one minute later", nil, time.Minute + time.Millisecond, false},
		{"child on another host", func(_, p event.Document) {
			p.Set("host.id", "id-WS02")
			p.Set("host.name", "WS02.corp.local")
		}, time.Second, false},
		{"child before the connection", nil, -time.Second, false},
		{"connection without entity id", func(n, _ event.Document) {
			delete(n["process"].(map[string]any), "entity_id")
		}, time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			net := sysmonNetwork("WS01", t0, 1001)
			proc := sysmonProcess("WS01", t0.Add(tt.childAt), 1002)
			if tt.modify != nil {
				tt.modify(net, proc)
			}
			for _, lateness := range []time.Duration{0, 2 * time.Minute, Batch} {
				alerts := runAll(newSeedEngine(t, Options{Lateness: lateness}), net, proc)
				if got := len(alerts) == 1; got != tt.fires || len(alerts) > 1 {
					t.Errorf("lateness %v: %d alerts, want fires=%v", lateness, len(alerts), tt.fires)
				}
			}
		})
	}
}

func TestAlertReasons(t *testing.T) {
	t.Parallel()
	rule := &Rule{Name: "R"}
	net := sysmonNetwork("WS01", t0, 1)
	proc := sysmonProcess("WS01", t0, 2)
	egress := sysmonNetwork("WS01", t0, 3)
	egress.Set("network.direction", "egress")
	v6 := sysmonNetwork("WS01", t0, 4)
	v6.Set("destination.ip", "fe80::1")
	other := sysmonProcess("WS01", t0, 5)
	other.Set("process.parent.entity_id", "{x}")
	ecsIngress := sysmonNetwork("WS01", t0, 6)
	ecsIngress.Set("host.ip", []any{"10.0.0.99"})
	bare := event.Document{"event": map[string]any{"category": "file"}, "host": map[string]any{"id": "H"}}
	tests := []struct {
		docs []event.Document
		want string
	}{
		{[]event.Document{net, proc}, `mmc.exe on WS01.corp.local accepted TCP from 10.0.0.99:50122 and started cmd.exe /c whoami > C:\Windows\Temp\out.txt`},
		{[]event.Document{egress, proc}, `mmc.exe on WS01.corp.local connected over TCP to 10.0.0.99:50122 and started cmd.exe /c whoami > C:\Windows\Temp\out.txt`},
		{[]event.Document{v6, proc}, `mmc.exe on WS01.corp.local accepted TCP from [fe80::1]:50122 and started cmd.exe /c whoami > C:\Windows\Temp\out.txt`},
		{[]event.Document{net, other}, `mmc.exe on WS01.corp.local accepted TCP from 10.0.0.99:50122, then mmc.exe started cmd.exe /c whoami > C:\Windows\Temp\out.txt`},
		{[]event.Document{ecsIngress, proc}, `mmc.exe on WS01.corp.local accepted TCP from 10.0.0.5:49701 and started cmd.exe /c whoami > C:\Windows\Temp\out.txt`},
		{[]event.Document{proc}, `R: mmc.exe on WS01.corp.local started cmd.exe /c whoami > C:\Windows\Temp\out.txt`},
		{[]event.Document{bare}, `R: an event on H`},
		{[]event.Document{bare, bare, bare}, `R: 3 events on H: an event; then an event; then an event`},
		{[]event.Document{{}}, `R: an event on an unknown host`},
	}
	for _, tt := range tests {
		if got := reason(rule, tt.docs); got != tt.want {
			t.Errorf("reason = %q\n        want %q", got, tt.want)
		}
	}
}

// TestLatenessProperty: for any arrival order in which no document is more
// than Lateness behind the latest one of its host, the alerts equal those of
// evaluating the time-sorted documents in one batch.
func TestLatenessProperty(t *testing.T) {
	t.Parallel()
	const lateness = 20 * time.Second
	for seed := uint64(1); seed <= 25; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		docs := generateTraffic(rng, 4, 40)
		want := alertSet(runAll(newSeedEngine(t, Options{Lateness: Batch}), docs...))
		if len(want) == 0 {
			t.Fatalf("seed %d: generated traffic raises no alert", seed)
		}
		inOrder := alertSet(runAll(newSeedEngine(t, Options{}), docs...))
		if !reflect.DeepEqual(inOrder, want) {
			t.Fatalf("seed %d: in-order streaming differs from batch", seed)
		}
		for round := 0; round < 4; round++ {
			arrival := shuffleWithin(rng, docs, lateness)
			e := newSeedEngine(t, Options{Lateness: lateness})
			got := alertSet(runAll(e, arrival...))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d round %d: %d alerts, want %d", seed, round, len(got), len(want))
			}
			if st := e.Stats(); st.Late != 0 || st.Buffered != 0 {
				t.Fatalf("seed %d: stats %+v", seed, st)
			}
		}
	}
}

// generateTraffic makes documents for several hosts: DCOM pairs that fire,
// near misses, and unrelated events, each host with distinct timestamps.
func generateTraffic(rng *rand.Rand, hosts, scenarios int) []event.Document {
	var docs []event.Document
	for h := 0; h < hosts; h++ {
		host := fmt.Sprintf("WS%02d", h)
		at := t0
		record := 1
		next := func(max time.Duration) time.Time {
			at = at.Add(time.Millisecond + time.Duration(rng.Int64N(int64(max))))
			record++
			return at
		}
		for s := 0; s < scenarios; s++ {
			guid := fmt.Sprintf("{mmc-%d-%d}", h, s)
			switch rng.IntN(5) {
			case 0, 1: // connection, then a child within or beyond a minute
				n := sysmonNetwork(host, next(10*time.Second), record)
				n.Set("process.entity_id", guid)
				if rng.IntN(4) == 0 {
					n.Set("network.direction", "egress")
				}
				docs = append(docs, n)
				for c := rng.IntN(3); c >= 0; c-- {
					p := sysmonProcess(host, next(40*time.Second), record)
					p.Set("process.parent.entity_id", guid)
					docs = append(docs, p)
				}
			case 2: // a child without a connection
				p := sysmonProcess(host, next(5*time.Second), record)
				p.Set("process.parent.entity_id", guid)
				docs = append(docs, p)
			case 3: // unrelated network traffic
				n := sysmonNetwork(host, next(5*time.Second), record)
				n.Set("process.name", "svchost.exe")
				docs = append(docs, n)
			default: // other categories
				docs = append(docs, event.Document{
					"@timestamp": next(5 * time.Second).Format(time.RFC3339Nano),
					"event":      map[string]any{"category": []any{"file"}, "type": []any{"creation"}},
					"host":       map[string]any{"name": host, "id": "id-" + host},
					"winlog":     map[string]any{"computer_name": host, "record_id": strconv.Itoa(record)},
				})
			}
		}
	}
	// Interleave hosts by time, as a collector would see them.
	slices.SortStableFunc(docs, func(a, b event.Document) int {
		ta, _ := eql.Timestamp(a)
		tb, _ := eql.Timestamp(b)
		return ta.Compare(tb)
	})
	return docs
}

// shuffleWithin delays each document by up to lateness and returns them in
// arrival order: no document arrives after one more than lateness younger.
func shuffleWithin(rng *rand.Rand, docs []event.Document, lateness time.Duration) []event.Document {
	type arrival struct {
		at  time.Time
		doc event.Document
	}
	arr := make([]arrival, len(docs))
	for i, d := range docs {
		ts, _ := eql.Timestamp(d)
		arr[i] = arrival{ts.Add(time.Duration(rng.Int64N(int64(lateness) + 1))), d}
	}
	slices.SortStableFunc(arr, func(a, b arrival) int { return a.at.Compare(b.at) })
	out := make([]event.Document, len(arr))
	for i, a := range arr {
		out[i] = a.doc
	}
	return out
}

func alertSet(alerts []event.Alert) []event.Alert {
	out := slices.Clone(alerts)
	slices.SortFunc(out, func(a, b event.Alert) int { return cmp.Compare(a.Event.ID, b.Event.ID) })
	return out
}

func TestLateArrivalIsCounted(t *testing.T) {
	t.Parallel()
	e := newSeedEngine(t, Options{Lateness: 10 * time.Second})
	e.Process(sysmonNetwork("WS01", t0.Add(time.Minute), 1))
	e.Process(sysmonNetwork("WS01", t0.Add(2*time.Minute), 2))
	e.Process(sysmonNetwork("WS01", t0, 3))
	if st := e.Stats(); st.Late != 1 {
		t.Errorf("late = %d, want 1", st.Late)
	}
}

func TestTiebreaker(t *testing.T) {
	t.Parallel()
	net := sysmonNetwork("WS01", t0, 100)
	net.Set("winlog.record_id", int64(100))
	proc := sysmonProcess("WS01", t0, 101)
	proc.Set("winlog.record_id", int64(101))
	// Same @timestamp, child arrives first: only the tiebreaker orders them.
	with := runAll(newSeedEngine(t, Options{Lateness: time.Second, Tiebreaker: "winlog.record_id"}), proc, net)
	without := runAll(newSeedEngine(t, Options{Lateness: time.Second}), proc, net)
	if len(with) != 1 || len(without) != 0 {
		t.Errorf("with tiebreaker %d alerts (want 1), without %d (want 0)", len(with), len(without))
	}
}

func TestTickReleasesIdleHosts(t *testing.T) {
	t.Parallel()
	now := t0
	e := newSeedEngine(t, Options{Lateness: 30 * time.Second, Now: func() time.Time { return now }})
	var alerts []event.Alert
	alerts = append(alerts, e.Process(sysmonNetwork("WS01", t0, 1))...)
	alerts = append(alerts, e.Process(sysmonProcess("WS01", t0.Add(time.Second), 2))...)
	alerts = append(alerts, e.Tick()...)
	if len(alerts) != 0 || e.Stats().Buffered != 2 {
		t.Fatalf("before the idle timeout: %d alerts, %d buffered", len(alerts), e.Stats().Buffered)
	}
	now = now.Add(30 * time.Second)
	alerts = e.Tick()
	if len(alerts) != 1 || e.Stats().Buffered != 0 {
		t.Fatalf("after the idle timeout: %d alerts, %d buffered", len(alerts), e.Stats().Buffered)
	}
	if alerts[0].Event.Created != now {
		t.Errorf("created %v, want the injected clock %v", alerts[0].Event.Created, now)
	}
}

// TestUnmatchedEventsAdvanceTheWatermark: a host's events that no rule
// wants still move its clock, so a completed sequence is reported once the
// lateness has passed in event time, not only on the idle tick.
func TestUnmatchedEventsAdvanceTheWatermark(t *testing.T) {
	t.Parallel()
	e := newSeedEngine(t, Options{Lateness: 2 * time.Second})
	var alerts []event.Alert
	alerts = append(alerts, e.Process(sysmonNetwork("WS01", t0, 1))...)
	alerts = append(alerts, e.Process(sysmonProcess("WS01", t0.Add(time.Second), 2))...)
	other := sysmonProcess("WS02", t0.Add(10*time.Second), 3) // another host: its clock only
	alerts = append(alerts, e.Process(other)...)
	if len(alerts) != 0 {
		t.Fatalf("%d alerts before WS01's clock moved", len(alerts))
	}
	quiet := event.Document{
		"@timestamp": t0.Add(4 * time.Second).Format(time.RFC3339Nano),
		"event":      map[string]any{"category": []any{"file"}, "type": []any{"creation"}},
		"host":       map[string]any{"name": "WS01.corp.local", "id": "id-WS01", "os": map[string]any{"type": "windows"}},
	}
	alerts = e.Process(quiet)
	if len(alerts) != 1 {
		t.Fatalf("an unmatched WS01 event 3s later released %d alerts, want 1", len(alerts))
	}
	if got := e.Stats().Buffered; got != 1 {
		t.Errorf("%d documents still held, want 1 (WS02's)", got)
	}
}

func TestBatchModeHoldsUntilFlush(t *testing.T) {
	t.Parallel()
	e := newSeedEngine(t, Options{Lateness: Batch})
	// Child first: a batch sorts by time before evaluating.
	if a := e.Process(sysmonProcess("WS01", t0.Add(time.Second), 2)); len(a) != 0 {
		t.Fatal("batch mode raised before Flush")
	}
	e.Process(sysmonNetwork("WS01", t0, 1))
	if e.Tick() != nil || e.Stats().Buffered != 2 {
		t.Fatal("Tick released documents in batch mode")
	}
	if a := e.Flush(); len(a) != 1 {
		t.Fatalf("%d alerts after Flush", len(a))
	}
}

func TestBufferCap(t *testing.T) {
	t.Parallel()
	e := newSeedEngine(t, Options{Lateness: Batch, MaxBuffered: 2})
	for i := 0; i < 5; i++ {
		e.Process(sysmonNetwork("WS01", t0.Add(time.Duration(i)*time.Second), i))
	}
	if st := e.Stats(); st.Forced != 3 || st.Buffered != 2 || st.Evaluated != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestPendingCapAndExpiry(t *testing.T) {
	t.Parallel()
	e := newSeedEngine(t, Options{MaxPending: 2})
	for i := 0; i < 3; i++ {
		n := sysmonNetwork("WS01", t0.Add(time.Duration(i)*time.Second), i)
		n.Set("process.entity_id", fmt.Sprintf("{mmc-%d}", i))
		e.Process(n)
	}
	e.Process(sysmonNetwork("WS01", t0.Add(5*time.Minute), 9)) // expires the two left
	e.Flush()
	st := e.Stats()
	if st.Evicted != 1 || st.Expired != 2 || st.Pending != 1 || st.Rules[0].Evicted != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestInvalidTimestamp(t *testing.T) {
	t.Parallel()
	e := newSeedEngine(t, Options{})
	d := sysmonNetwork("WS01", t0, 1)
	d["@timestamp"] = "yesterday"
	e.Process(d)
	noTime := sysmonNetwork("WS01", t0, 2)
	delete(noTime, "@timestamp")
	e.Process(noTime)
	// A document no rule can use is dropped before its time is read.
	e.Process(event.Document{"event": map[string]any{"category": "network"}})
	if st := e.Stats(); st.Invalid != 2 || st.Unmatched != 1 || st.Evaluated != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestEventQueryRuleAndMaxSignals(t *testing.T) {
	t.Parallel()
	r, err := ParseRule("cmd.toml", []byte(`[rule]
name = "Command shell started"
description = "cmd"
risk_score = 47
rule_id = "cmd-rule"
severity = "medium"
type = "eql"
interval = "5m"
max_signals = 2
query = 'process where event.type == "start" and process.name : "cmd.exe"'
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Compile([]*Rule{r, seedRule(t)}, Options{Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	var docs []event.Document
	for i := 0; i < 5; i++ {
		docs = append(docs, sysmonProcess("WS01", t0.Add(time.Duration(i)*time.Second), i))
	}
	docs = append(docs, sysmonProcess("WS01", t0.Add(10*time.Minute), 10))
	alerts := runAll(e, docs...)
	if len(alerts) != 3 {
		t.Fatalf("%d alerts, want 2 in the first window and 1 in a later one", len(alerts))
	}
	a := alerts[0]
	if a.Rule.ID != "cmd-rule" || a.Event.Severity != 47 || len(a.Weft.Events) != 1 || a.Weft.JoinKeys != nil ||
		a.Message != `Command shell started: mmc.exe on WS01.corp.local started cmd.exe /c whoami > C:\Windows\Temp\out.txt` {
		t.Errorf("alert %+v", a)
	}
	st := e.Stats()
	if st.Suppressed != 3 || st.Rules[0].Suppressed != 3 || st.Rules[0].Alerts != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestCompileRejectsBadRules(t *testing.T) {
	t.Parallel()
	good := &Rule{ID: "x", Name: "x", Type: "eql", Severity: "low", MaxSignals: 1, Query: `any where true`}
	bad := &Rule{ID: "y", Name: "y", Type: "eql", Severity: "low", MaxSignals: 1, Query: `any where`}
	e, err := Compile([]*Rule{good}, Options{})
	if err != nil {
		t.Fatalf("in-memory rule: %v", err)
	}
	if rules := e.Rules(); len(rules) != 1 || rules[0] != good || good.Program() == nil {
		t.Errorf("Rules() = %v", rules)
	}
	if _, err := Compile([]*Rule{good, bad}, Options{}); err == nil {
		t.Error("a rule with a broken query compiled")
	}
	if _, err := Compile(nil, Options{PartitionField: "a b"}); err == nil {
		t.Error("a bad partition field was accepted")
	}
}
