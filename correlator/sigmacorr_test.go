package correlator

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// The base rules of the correlation specification's examples (and of
// SigmaHQ's documentation of correlations), as weft reads them: Windows
// Security and Sysmon events with their raw fields under weft.*.
const (
	// reconRule is recon_cmd_a, _b or _c of the temporal examples: a
	// process creation of one reconnaissance command.
	reconRule = `title: Recon %[1]s
id: 00000000-0000-4000-8000-00000000000%[2]d
name: recon_cmd_%[1]s
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\%[3]s'
    condition: selection
`
	// privGroupEnum is SigmaHQ's documentation's value_count base rule.
	privGroupEnum = `title: High-privilege group enumeration
id: 9b9f1a3c-3f7e-4f55-9d0e-1c3a6c0e4799
name: privileged_group_enumeration
status: stable
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4799
        CallerProcessId: 0x0
        TargetUserName:
            - Administrators
            - Remote Desktop Users
            - Remote Management Users
            - Distributed COM Users
    condition: selection
`
	bloodhound = `title: Enumeration of multiple high-privilege groups by tools like BloodHound
id: 2f5e8c1a-6d3b-4c4e-9a7f-5b1d2e3f4a99
status: stable
correlation:
    type: value_count
    rules:
        - privileged_group_enumeration
    group-by:
        - SubjectUserName
    timespan: 15m
    condition:
        gte: 4
        field: TargetUserName
`
	// failedLoginCount is the specification's value_count example
	// (different users failing to log on per source and destination).
	failedLoginValues = `title: Failed login
id: 0e95725d-7320-415d-80f7-004da920fc12
correlation:
    type: value_count
    rules:
        - 53ba33fd-3a50-4468-a5ef-c583635cfa92
    group-by:
        - ComputerName
        - WorkstationName
    timespan: 1d
    condition:
        field: User
        gte: 100
`
	reconTemporal = `title: Recon
id: 7c1c5bb5-0d6e-4a1e-9d0f-3d4f5e6a7b01
correlation:
    type: temporal
    rules:
        - recon_cmd_a
        - recon_cmd_b
        - recon_cmd_c
    group-by:
        - ComputerName
        - User
    timespan: 5m
`
	// internalError and newConnection are the rules of the
	// specification's field name aliases example.
	internalError = `title: Internal error
id: 3f1a0000-0000-4000-8000-000000000500
name: internal_error
logsource:
    product: windows
    service: application
detection:
    selection:
        http.response.status_code: 500
    condition: selection
`
	newConnection = `title: New network connection
id: 3f1a0000-0000-4000-8000-000000000003
name: new_network_connection
logsource:
    product: windows
    service: application
detection:
    selection:
        event.category: network
        event.type: connection
        event.outcome: success
    condition: selection
`
	aliasTemporal = `title: Internal error then connection back
id: 3f1a0000-0000-4000-8000-0000000000aa
correlation:
    type: temporal
    rules:
        - internal_error
        - new_network_connection
    group-by:
        - internal_ip
        - remote_ip
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
        remote_ip:
            internal_error: source.ip
            new_network_connection: destination.ip
`
	// The specification's final example, whole: multiple failed logins
	// (an event_count) followed by a successful login of the user.
	chainOuter = `title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
description: Detects multiple failed logins by a single user followed by a successful login of that user
references:
    - https://reference.com
author: Florian Roth (Nextron Systems)
date: 2023-06-16
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
falsepositives:
    - Unlikely
level: high
`
	chainInner = `title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
description: Detects multiple failed logins within a certain amount of time
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
`
	// burstOfFailThenSuccess is SigmaHQ's documentation's chain: an
	// event_count over a temporal_ordered correlation.
	failThenSuccessNamed = `title: Failed logons followed by a successful logon
id: 5d7c0000-0000-4000-8000-000000000001
name: failed_then_successful_logon
correlation:
    type: temporal_ordered
    rules:
        - failed_login
        - successful_login
    group-by:
        - User
    timespan: 1h
`
	burstOfFailThenSuccess = `title: Repeated successful-after-failure logon bursts
id: 5d7c0000-0000-4000-8000-000000000002
correlation:
    type: event_count
    rules:
        - failed_then_successful_logon
    group-by:
        - User
    timespan: 24h
    condition:
        gte: 3
`
)

func reconRules() []string {
	return []string{
		fmt.Sprintf(reconRule, "a", 1, "whoami.exe"),
		fmt.Sprintf(reconRule, "b", 2, "net.exe"),
		fmt.Sprintf(reconRule, "c", 3, "ipconfig.exe"),
	}
}

// stream builds the documents of one host, each with its own record id.
type stream struct {
	host string
	rec  int
}

var corrT0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// doc is an event of the host's channel at second s with EventData data.
func (st *stream) doc(s int, channel, eventID string, data ...string) event.Document {
	st.rec++
	ed := map[string]any{}
	for i := 0; i+1 < len(data); i += 2 {
		ed[data[i]] = data[i+1]
	}
	return event.Document{
		"@timestamp": corrT0.Add(time.Duration(s) * time.Second).Format(time.RFC3339Nano),
		"host":       map[string]any{"name": st.host, "id": st.host},
		"winlog":     map[string]any{"channel": channel, "record_id": strconv.Itoa(st.rec), "computer_name": st.host},
		"weft": map[string]any{
			"event_data": ed,
			"system":     map[string]any{"Channel": channel, "EventID": eventID, "Computer": st.host, "EventRecordID": strconv.Itoa(st.rec)},
		},
	}
}

func (st *stream) failed(s int, user string) event.Document {
	return st.doc(s, "Security", "4625", "User", user, "ComputerName", "WS7", "WorkstationName", "K1")
}

func (st *stream) success(s int, user string) event.Document {
	return st.doc(s, "Security", "4624", "User", user, "ComputerName", "WS7")
}

func (st *stream) recon(s int, image, user string) event.Document {
	return st.doc(s, "Microsoft-Windows-Sysmon/Operational", "1", "Image", `C:\Windows\System32\`+image, "User", user, "ComputerName", st.host)
}

// summary is an alert as the tests expect it: its rule, group and number
// of events.
func summary(a event.Alert) string {
	return fmt.Sprintf("%s %v %d", a.Rule.ID[:8], a.Weft.JoinKeys, len(a.Weft.Events))
}

func summaries(as []event.Alert) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, summary(a))
	}
	slices.Sort(out)
	return out
}

type corrCase struct {
	name     string
	lateness time.Duration
	docs     func(*stream) []event.Document
	want     []string // summaries, sorted
}

func runCorrCases(t *testing.T, rules []*Rule, cases []corrCase) {
	t.Helper()
	for _, tc := range cases {
		st := &stream{host: "DC1"}
		lateness := tc.lateness
		if lateness == 0 {
			lateness = Batch
		}
		got := summaries(runDocs(t, rules, lateness, tc.docs(st)))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: alerts %q, want %q", tc.name, got, tc.want)
		}
	}
}

func repeat(n int, f func(i int) event.Document) []event.Document {
	out := make([]event.Document, 0, n)
	for i := range n {
		out = append(out, f(i))
	}
	return out
}

// TestSigmaEventCountConditions: every condition operator of the
// specification, and a range, on an event_count of failed logins per
// computer within ten minutes. Bounded only from below, the alert comes
// with the event that reaches the count; bounded from above, when the
// window has closed.
func TestSigmaEventCountConditions(t *testing.T) {
	t.Parallel()
	fails := func(n, every int) func(*stream) []event.Document {
		return func(st *stream) []event.Document {
			return repeat(n, func(i int) event.Document { return st.failed(i*every, "u"+strconv.Itoa(i)) })
		}
	}
	for _, tc := range []struct {
		cond  string
		cases map[string][]string // docs → alerts
	}{
		{"gte: 3", map[string][]string{"2": nil, "3": {"0e95725d [WS7] 3"}, "5": {"0e95725d [WS7] 3"}, "6": {"0e95725d [WS7] 3", "0e95725d [WS7] 3"}, "3 spread": nil}},
		{"gt: 2", map[string][]string{"2": nil, "3": {"0e95725d [WS7] 3"}, "3 spread": nil}},
		{"lt: 3", map[string][]string{"2": {"0e95725d [WS7] 2"}, "3": nil, "5": nil, "3 spread": {"0e95725d [WS7] 1", "0e95725d [WS7] 2"}}},
		{"lte: 2", map[string][]string{"2": {"0e95725d [WS7] 2"}, "3": nil, "3 spread": {"0e95725d [WS7] 1", "0e95725d [WS7] 2"}}},
		{"eq: 3", map[string][]string{"2": nil, "3": {"0e95725d [WS7] 3"}, "5": nil, "3 spread": nil}},
		{"neq: 3", map[string][]string{"2": {"0e95725d [WS7] 2"}, "3": nil, "5": {"0e95725d [WS7] 5"}}},
		{"gt: 2\n        lte: 4", map[string][]string{"2": nil, "3": {"0e95725d [WS7] 3"}, "5": nil, "6": nil}},
	} {
		src := strings.Replace(strings.Replace(manyFailed, "gte: 100", tc.cond, 1), "timespan: 1h", "timespan: 10m", 1)
		rules := loadSigma(t, src, failedLogin)
		var cases []corrCase
		for k, want := range tc.cases {
			var docs func(*stream) []event.Document
			switch k {
			case "3 spread": // 0, 300 and 601 s: never three within 10m
				docs = func(st *stream) []event.Document {
					return []event.Document{st.failed(0, "a"), st.failed(300, "b"), st.failed(601, "c")}
				}
			default:
				n, _ := strconv.Atoi(k)
				docs = fails(n, 10)
			}
			cases = append(cases, corrCase{name: tc.cond + " over " + k, docs: docs, want: want})
		}
		runCorrCases(t, rules, cases)
	}
}

// TestSigmaWindowClosesOnStream: on a live stream a count bounded from
// above is reported when a later event of the host passes the window's
// end, or when Tick finds the host quiet that long, without Flush.
func TestSigmaWindowClosesOnStream(t *testing.T) {
	t.Parallel()
	src := strings.Replace(strings.Replace(manyFailed, "gte: 100", "eq: 2", 1), "timespan: 1h", "timespan: 10m", 1)
	rules := loadSigma(t, src, failedLogin)
	now := corrT0
	e, err := Compile(rules, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	st := &stream{host: "DC1"}
	var got []event.Alert
	for _, d := range []event.Document{st.failed(0, "a"), st.failed(60, "b"), st.failed(599, "c2")} {
		got = append(got, e.Process(d)...)
	}
	// 599 s makes three in the window: no alert for it however long.
	if len(got) != 0 || e.Stats().Pending != 1 {
		t.Fatalf("alerts %v before the window closed, pending %d", summaries(got), e.Stats().Pending)
	}
	st2 := &stream{host: "DC2"}
	got = append(got, e.Process(st2.failed(0, "a"))...)
	got = append(got, e.Process(st2.failed(30, "b"))...)
	got = append(got, e.Process(st2.failed(900, "x"))...) // passes DC2's window
	got = append(got, e.Process(st2.failed(901, "y"))...) // releases the 900 s event
	if want := []string{"0e95725d [WS7] 2"}; !slices.Equal(summaries(got), want) {
		t.Fatalf("alerts %q after a later event, want %q", summaries(got), want)
	}
	if !strings.Contains(got[0].Message, "2 events with ComputerName=WS7 within 10m on DC2") {
		t.Errorf("message %q", got[0].Message)
	}
	// DC2's second window (900, 901) closes by Tick once the host has
	// been quiet for its timespan: the first Tick releases the held 901 s
	// event, the second finds the host quiet ten minutes past it.
	now = now.Add(11 * time.Minute)
	if got := e.Tick(); len(got) != 0 {
		t.Fatalf("first Tick: alerts %q", summaries(got))
	}
	now = now.Add(11 * time.Minute)
	got = e.Tick()
	if want := []string{"0e95725d [WS7] 2"}; !slices.Equal(summaries(got), want) {
		t.Fatalf("Tick: alerts %q, want %q", summaries(got), want)
	}
	if got := e.Flush(); len(got) != 0 {
		t.Errorf("Flush: alerts %q, want none (DC1's window holds three)", summaries(got))
	}
}

// TestSigmaValueCount: the specification's value_count example (100
// distinct users failing on one computer from one workstation within a
// day) and SigmaHQ's BloodHound example (4 privileged groups enumerated by
// one user within 15 minutes).
func TestSigmaValueCount(t *testing.T) {
	t.Parallel()
	rules := loadSigma(t, failedLoginValues, failedLogin)
	users := func(n, distinct int, ws string) func(*stream) []event.Document {
		return func(st *stream) []event.Document {
			return repeat(n, func(i int) event.Document {
				return st.doc(i*60, "Security", "4625", "User", "user"+strconv.Itoa(i%distinct), "ComputerName", "SRV1", "WorkstationName", ws)
			})
		}
	}
	runCorrCases(t, rules, []corrCase{
		{name: "100 users", docs: users(100, 100, "K1"), want: []string{"0e95725d [SRV1 K1] 100"}},
		{name: "99 users, 300 failures", docs: users(300, 99, "K1"), want: nil},
		{name: "100 users over two workstations", docs: func(st *stream) []event.Document {
			return append(users(50, 50, "K1")(st), users(50, 50, "K2")(st)...)
		}, want: nil},
		{name: "100 users over more than a day", docs: func(st *stream) []event.Document {
			return append(users(50, 50, "K1")(st), repeat(50, func(i int) event.Document {
				return st.doc(90000+i, "Security", "4625", "User", "other"+strconv.Itoa(i), "ComputerName", "SRV1", "WorkstationName", "K1")
			})...)
		}, want: nil},
		{name: "events without the field do not count", docs: func(st *stream) []event.Document {
			return append(users(99, 99, "K1")(st), st.doc(7000, "Security", "4625", "ComputerName", "SRV1", "WorkstationName", "K1"))
		}, want: nil},
	})

	rules = loadSigma(t, bloodhound, privGroupEnum)
	enum := func(s int, subject, group string) func(*stream) event.Document {
		return func(st *stream) event.Document {
			return st.doc(s, "Security", "4799", "CallerProcessId", "0x0", "SubjectUserName", subject, "TargetUserName", group)
		}
	}
	seq := func(fs ...func(*stream) event.Document) func(*stream) []event.Document {
		return func(st *stream) []event.Document {
			var out []event.Document
			for _, f := range fs {
				out = append(out, f(st))
			}
			return out
		}
	}
	runCorrCases(t, rules, []corrCase{
		{name: "four groups", docs: seq(enum(0, "mallory", "Administrators"), enum(1, "mallory", "Remote Desktop Users"),
			enum(2, "mallory", "Administrators"), enum(3, "mallory", "Remote Management Users"), enum(4, "mallory", "Distributed COM Users")),
			want: []string{"2f5e8c1a [mallory] 4"}},
		{name: "three groups, again and again", docs: seq(enum(0, "mallory", "Administrators"), enum(1, "mallory", "Remote Desktop Users"),
			enum(2, "mallory", "Administrators"), enum(3, "mallory", "Remote Management Users"), enum(4, "mallory", "Remote Desktop Users")),
			want: nil},
		{name: "four groups by two users", docs: seq(enum(0, "mallory", "Administrators"), enum(1, "mallory", "Remote Desktop Users"),
			enum(2, "trent", "Remote Management Users"), enum(3, "trent", "Distributed COM Users")), want: nil},
		{name: "four groups over 16 minutes", docs: seq(enum(0, "mallory", "Administrators"), enum(1, "mallory", "Remote Desktop Users"),
			enum(2, "mallory", "Remote Management Users"), enum(961, "mallory", "Distributed COM Users")), want: nil},
		{name: "a fifth group not of the rule", docs: seq(enum(0, "mallory", "Administrators"), enum(1, "mallory", "Remote Desktop Users"),
			enum(2, "mallory", "Remote Management Users"), enum(3, "mallory", "Backup Operators")), want: nil},
	})
}

// TestSigmaValueCountBounded: a value_count bounded from above counts the
// distinct values of a window, reported when it closes.
func TestSigmaValueCountBounded(t *testing.T) {
	t.Parallel()
	rules := loadSigma(t, strings.Replace(bloodhound, "gte: 4", "lte: 1", 1), privGroupEnum)
	enum := func(st *stream, s int, group string) event.Document {
		return st.doc(s, "Security", "4799", "CallerProcessId", "0x0", "SubjectUserName", "svc", "TargetUserName", group)
	}
	runCorrCases(t, rules, []corrCase{
		{name: "one group thrice", docs: func(st *stream) []event.Document {
			return []event.Document{enum(st, 0, "Administrators"), enum(st, 60, "Administrators"), enum(st, 120, "Administrators")}
		}, want: []string{"2f5e8c1a [svc] 1"}},
		{name: "two groups", docs: func(st *stream) []event.Document {
			return []event.Document{enum(st, 0, "Administrators"), enum(st, 60, "Remote Desktop Users")}
		}, want: nil},
		{name: "two groups in two windows", docs: func(st *stream) []event.Document {
			return []event.Document{enum(st, 0, "Administrators"), enum(st, 901, "Remote Desktop Users")}
		}, want: []string{"2f5e8c1a [svc] 1", "2f5e8c1a [svc] 1"}},
	})
}

// TestSigmaTemporal: the specification's temporal example — three recon
// commands, in any order, on one computer by one user within 5 minutes —
// also when the events arrive out of order within the lateness.
func TestSigmaTemporal(t *testing.T) {
	t.Parallel()
	rules := loadSigma(t, append([]string{reconTemporal}, reconRules()...)...)
	if len(rules) != 1 {
		t.Fatalf("%d rules, want the correlation alone", len(rules))
	}
	recon := func(steps ...string) func(*stream) []event.Document {
		return func(st *stream) []event.Document {
			var out []event.Document
			for _, s := range steps {
				f := strings.Fields(s) // "at image user"
				at, _ := strconv.Atoi(f[0])
				out = append(out, st.recon(at, f[1], f[2]))
			}
			return out
		}
	}
	runCorrCases(t, rules, []corrCase{
		{name: "c, a, b", docs: recon("0 ipconfig.exe bob", "30 whoami.exe bob", "60 net.exe bob"), want: []string{"7c1c5bb5 [DC1 bob] 3"}},
		{name: "a, b, c", docs: recon("0 whoami.exe bob", "30 net.exe bob", "299 ipconfig.exe bob"), want: []string{"7c1c5bb5 [DC1 bob] 3"}},
		{name: "a twice: the latest counts", docs: recon("0 whoami.exe bob", "200 whoami.exe bob", "250 net.exe bob", "450 ipconfig.exe bob"),
			want: []string{"7c1c5bb5 [DC1 bob] 3"}},
		{name: "a and b only", docs: recon("0 whoami.exe bob", "30 net.exe bob", "60 whoami.exe bob"), want: nil},
		{name: "over 5 minutes", docs: recon("0 whoami.exe bob", "30 net.exe bob", "301 ipconfig.exe bob"), want: nil},
		{name: "two users", docs: recon("0 whoami.exe bob", "30 net.exe bob", "60 ipconfig.exe eve"), want: nil},
		{name: "out of order within the lateness", lateness: time.Minute,
			docs: recon("60 net.exe bob", "0 whoami.exe bob", "30 ipconfig.exe bob", "400 whoami.exe x"), want: []string{"7c1c5bb5 [DC1 bob] 3"}},
	})

	// An event without a group-by field belongs to no group.
	runCorrCases(t, rules, []corrCase{{name: "no user", docs: func(st *stream) []event.Document {
		c := st.recon(60, "ipconfig.exe", "bob")
		delete(c["weft"].(map[string]any)["event_data"].(map[string]any), "User")
		return []event.Document{st.recon(0, "whoami.exe", "bob"), st.recon(30, "net.exe", "bob"), c}
	}, want: nil}})

	// Without group-by (as SigmaHQ's CVE-2023-22518 example), the rules
	// need only share the host.
	ungrouped := loadSigma(t, append([]string{strings.Replace(reconTemporal, "    group-by:\n        - ComputerName\n        - User\n", "", 1)}, reconRules()...)...)
	runCorrCases(t, ungrouped, []corrCase{
		{name: "three users", docs: recon("0 whoami.exe bob", "30 net.exe eve", "60 ipconfig.exe mallory"), want: []string{"7c1c5bb5 [] 3"}},
		{name: "two hosts", docs: func(st *stream) []event.Document {
			other := &stream{host: "DC2"}
			return []event.Document{st.recon(0, "whoami.exe", "bob"), st.recon(30, "net.exe", "bob"), other.recon(60, "ipconfig.exe", "bob")}
		}, want: nil},
	})

	two := loadSigma(t, append([]string{strings.Replace(reconTemporal, "timespan: 5m", "timespan: 5m\n    condition:\n        gte: 2", 1)}, reconRules()...)...)
	runCorrCases(t, two, []corrCase{
		{name: "two of three", docs: recon("0 ipconfig.exe bob", "30 whoami.exe bob"), want: []string{"7c1c5bb5 [DC1 bob] 2"}},
		{name: "one, twice", docs: recon("0 ipconfig.exe bob", "30 ipconfig.exe bob"), want: nil},
	})
}

// TestSigmaTemporalOrderedRecon: the specification's temporal_ordered
// example: the recon commands in the order of the rules.
func TestSigmaTemporalOrderedRecon(t *testing.T) {
	t.Parallel()
	ordered := strings.NewReplacer("type: temporal", "type: temporal_ordered", "id: 7c1c5bb5", "id: 8c1c5bb5").Replace(reconTemporal)
	rules := loadSigma(t, append([]string{ordered}, reconRules()...)...)
	runCorrCases(t, rules, []corrCase{
		{name: "a, b, c", docs: func(st *stream) []event.Document {
			return []event.Document{st.recon(0, "whoami.exe", "bob"), st.recon(30, "net.exe", "bob"), st.recon(60, "ipconfig.exe", "bob")}
		}, want: []string{"8c1c5bb5 [DC1 bob] 3"}},
		{name: "c, a, b", docs: func(st *stream) []event.Document {
			return []event.Document{st.recon(0, "ipconfig.exe", "bob"), st.recon(30, "whoami.exe", "bob"), st.recon(60, "net.exe", "bob")}
		}, want: nil},
		{name: "out of order within the lateness", lateness: time.Minute, docs: func(st *stream) []event.Document {
			return []event.Document{st.recon(30, "net.exe", "bob"), st.recon(0, "whoami.exe", "bob"), st.recon(60, "ipconfig.exe", "bob"), st.recon(200, "x.exe", "x")}
		}, want: []string{"8c1c5bb5 [DC1 bob] 3"}},
	})
}

// TestSigmaAliases: the specification's field name aliases example — an
// internal error and a connection from its server back to its client
// within 10 s, the addresses under other fields in each event.
func TestSigmaAliases(t *testing.T) {
	t.Parallel()
	rules := loadSigma(t, aliasTemporal, internalError, newConnection)
	errEv := func(st *stream, s int, src, dst string) event.Document {
		return st.doc(s, "Application", "1000", "http.response.status_code", "500", "source.ip", src, "destination.ip", dst)
	}
	conn := func(st *stream, s int, src, dst string) event.Document {
		return st.doc(s, "Application", "1001", "event.category", "network", "event.type", "connection", "event.outcome", "success", "source.ip", src, "destination.ip", dst)
	}
	runCorrCases(t, rules, []corrCase{
		{name: "connection back", docs: func(st *stream) []event.Document {
			return []event.Document{errEv(st, 0, "10.0.0.9", "10.0.0.5"), conn(st, 5, "10.0.0.5", "10.0.0.9")}
		}, want: []string{"3f1a0000 [10.0.0.5 10.0.0.9] 2"}},
		{name: "connection back first", docs: func(st *stream) []event.Document {
			return []event.Document{conn(st, 0, "10.0.0.5", "10.0.0.9"), errEv(st, 10, "10.0.0.9", "10.0.0.5")}
		}, want: []string{"3f1a0000 [10.0.0.5 10.0.0.9] 2"}},
		{name: "same direction", docs: func(st *stream) []event.Document {
			return []event.Document{errEv(st, 0, "10.0.0.9", "10.0.0.5"), conn(st, 5, "10.0.0.9", "10.0.0.5")}
		}, want: nil},
		{name: "11 s apart", docs: func(st *stream) []event.Document {
			return []event.Document{errEv(st, 0, "10.0.0.9", "10.0.0.5"), conn(st, 11, "10.0.0.5", "10.0.0.9")}
		}, want: nil},
		{name: "status 404", docs: func(st *stream) []event.Document {
			e := errEv(st, 0, "10.0.0.9", "10.0.0.5")
			e["weft"].(map[string]any)["event_data"].(map[string]any)["http.response.status_code"] = "404"
			return []event.Document{e, conn(st, 5, "10.0.0.5", "10.0.0.9")}
		}, want: nil},
	})
}

// TestSigmaChained: the specification's final example, whole: ten failed
// logins of a user (an event_count correlation) followed by a successful
// login of the same user within ten minutes (a temporal_ordered over it).
// The alert carries the ten failures and the success; the correlation
// used and the base rules do not alert on their own.
func TestSigmaChained(t *testing.T) {
	t.Parallel()
	rules := loadSigma(t, chainOuter, chainInner, failedLogin, successfulLogin)
	if len(rules) != 1 || rules[0].ID != "b180ead8-d58f-40b2-ae54-c8940995b9b6" {
		t.Fatalf("rules %v, want the outer correlation alone", rules)
	}
	fails := func(st *stream, n, from int, user string) []event.Document {
		return repeat(n, func(i int) event.Document { return st.failed(from+i*10, user) })
	}
	runCorrCases(t, rules, []corrCase{
		{name: "ten failures then success", docs: func(st *stream) []event.Document {
			return append(fails(st, 10, 0, "bob"), st.success(120, "bob"))
		}, want: []string{"b180ead8 [bob] 11"}},
		{name: "nine failures then success", docs: func(st *stream) []event.Document {
			return append(fails(st, 9, 0, "bob"), st.success(120, "bob"))
		}, want: nil},
		{name: "success of another user", docs: func(st *stream) []event.Document {
			return append(fails(st, 10, 0, "bob"), st.success(120, "eve"))
		}, want: nil},
		{name: "success first", docs: func(st *stream) []event.Document {
			return append([]event.Document{st.success(0, "bob")}, fails(st, 10, 10, "bob")...)
		}, want: nil},
		{name: "success 11 minutes after the tenth failure", docs: func(st *stream) []event.Document {
			return append(fails(st, 10, 0, "bob"), st.success(90+660, "bob"))
		}, want: nil},
		{name: "failures over more than 10 minutes", docs: func(st *stream) []event.Document {
			return append(fails(st, 10, 0, "bob")[1:], append([]event.Document{st.failed(-700, "bob")}, st.success(120, "bob"))...)
		}, want: nil},
	})

	// SigmaHQ's chain the other way round: three failed-then-successful
	// logons (a temporal_ordered) of one user within a day.
	rules = loadSigma(t, burstOfFailThenSuccess, failThenSuccessNamed, failedLogin, successfulLogin)
	if len(rules) != 1 {
		t.Fatalf("%d rules, want the outer correlation alone", len(rules))
	}
	pairs := func(n int, user string) func(*stream) []event.Document {
		return func(st *stream) []event.Document {
			var out []event.Document
			for i := range n {
				out = append(out, st.failed(i*7200, user), st.success(i*7200+60, user))
			}
			return out
		}
	}
	runCorrCases(t, rules, []corrCase{
		{name: "three bursts", docs: pairs(3, "bob"), want: []string{"5d7c0000 [bob] 6"}},
		{name: "two bursts", docs: pairs(2, "bob"), want: nil},
	})
}

// TestSigmaGenerate: the rules (and correlations) a correlation uses alert
// on their own only with generate: true.
func TestSigmaGenerate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		docs []string
		want []string // rule ids' prefixes
	}{
		{"chain", []string{chainOuter, chainInner, failedLogin, successfulLogin}, []string{"b180ead8"}},
		{"chain, generate", []string{strings.Replace(chainOuter, "correlation:\n", "correlation:\n    generate: true\n", 1), chainInner, failedLogin, successfulLogin},
			[]string{"4d0a2c83", "a8418a5a", "b180ead8"}},
		{"inner generates", []string{chainOuter, strings.Replace(chainInner, "correlation:\n", "correlation:\n    generate: true\n", 1), failedLogin, successfulLogin},
			[]string{"53ba33fd", "b180ead8"}},
		{"one of two correlations generates", []string{strings.Replace(manyFailed, "correlation:\n", "correlation:\n    generate: true\n", 1), failedThenSuccess, failedLogin, successfulLogin},
			[]string{"0e95725d", "53ba33fd", "b180ead8"}},
		// A correlation not selected still owns its parts.
		{"deprecated correlation", []string{strings.Replace(manyFailed, "level: high", "status: deprecated\nlevel: high", 1), failedLogin}, nil},
	} {
		var ids []string
		for _, r := range loadSigma(t, tc.docs...) {
			ids = append(ids, r.ID[:8])
		}
		slices.Sort(ids)
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%s: rules %v, want %v", tc.name, ids, tc.want)
		}
	}
}

// TestSigmaCorrelationErrors: what weft cannot run, or what is wrong, is
// said, with the file and line.
func TestSigmaCorrelationErrors(t *testing.T) {
	t.Parallel()
	loop := strings.Replace(chainInner, "- failed_login", "- b180ead8-d58f-40b2-ae54-c8940995b9b6", 1)
	for _, tc := range []struct {
		name string
		docs []string
		want string
	}{
		{"value_sum", []string{strings.Replace(failedLoginValues, "value_count", "value_sum", 1), failedLogin}, "correlation type value_sum is not supported"},
		{"value_count without field", []string{strings.Replace(failedLoginValues, "field: User\n", "", 1), failedLogin}, "needs condition.field"},
		{"a loop", []string{chainOuter, loop, successfulLogin}, "refers to itself"},
		{"an unknown rule", []string{strings.Replace(chainOuter, "- successful_login", "- nope", 1), chainInner, failedLogin}, `rule "nope"`},
		{"temporal_ordered of some", []string{strings.Replace(failThenSuccessNamed, "timespan: 1h", "timespan: 1h\n    condition:\n        gte: 1", 1), failedLogin, successfulLogin},
			"temporal_ordered with a condition other than all of its rules"},
		{"temporal never satisfied", []string{strings.Replace(reconTemporal, "timespan: 5m", "timespan: 5m\n    condition:\n        gt: 3", 1)}, "no count"},
		{"huge count", []string{strings.Replace(manyFailed, "gte: 100", "gte: 1000000", 1), failedLogin}, "at most 10000"},
	} {
		docs := tc.docs
		if tc.name == "temporal never satisfied" {
			docs = append(docs, reconRules()...)
		}
		path := filepath.Join(t.TempDir(), "c.yml")
		if err := os.WriteFile(path, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errs := LoadRules(context.Background(), path)
		if len(errs) == 0 || !strings.Contains(fmt.Sprint(errs), tc.want) || !strings.Contains(fmt.Sprint(errs), "c.yml") {
			t.Errorf("%s: errors %v, want one saying %q", tc.name, errs, tc.want)
		}
	}
}

// TestSigmaCorrelationShuffled: within the lateness, the order events
// arrive in does not change the alerts of any correlation type.
func TestSigmaCorrelationShuffled(t *testing.T) {
	t.Parallel()
	eq := strings.Replace(strings.Replace(manyFailed, "gte: 100", "eq: 4", 1), "timespan: 1h", "timespan: 10m", 1)
	rules := loadSigma(t, append([]string{chainOuter, chainInner, eq, reconTemporal, failedLogin, successfulLogin}, reconRules()...)...)
	st := &stream{host: "DC1"}
	var docs []event.Document
	for i := range 10 {
		docs = append(docs, st.failed(i*5, "bob"))
	}
	docs = append(docs, st.success(55, "bob"), st.recon(60, "net.exe", "bob"), st.recon(70, "ipconfig.exe", "bob"), st.recon(80, "whoami.exe", "bob"))
	for i := range 4 {
		docs = append(docs, st.failed(1000+i*5, "eve"))
	}
	docs = append(docs, st.recon(2000, "x.exe", "x"))
	want := summaries(runDocs(t, rules, time.Minute, docs))
	if w := []string{"0e95725d [WS7] 4", "7c1c5bb5 [DC1 bob] 3", "b180ead8 [bob] 11"}; !slices.Equal(want, w) {
		t.Fatalf("in order: %q, want %q", want, w)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		// Shuffle within windows of 30 s of event time: well inside a
		// lateness of one minute.
		sh := slices.Clone(docs)
		for i := range sh {
			j := i + rng.IntN(min(4, len(sh)-i))
			ti, _ := time.Parse(time.RFC3339Nano, sh[i]["@timestamp"].(string))
			tj, _ := time.Parse(time.RFC3339Nano, sh[j]["@timestamp"].(string))
			if tj.Sub(ti) < 30*time.Second {
				sh[i], sh[j] = sh[j], sh[i]
			}
		}
		if got := summaries(runDocs(t, rules, time.Minute, sh)); !slices.Equal(got, want) {
			t.Fatalf("shuffled: %q, want %q", got, want)
		}
	}
}

// serveRules runs a stage with the rules, as a correlator process does.
func serveRules(t *testing.T, b *bus.Bus, rules []*Rule, opts ...StageOption) (*Stage, func()) {
	t.Helper()
	e, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, WithRebuild(e.RebuildWindow()), WithAlertDedup("test-alert-ids", time.Hour))
	st := NewStage(b, e, testLog(t), opts...)
	ctx, cancel := context.WithCancel(stageContext(t))
	done := make(chan error, 1)
	go func() { done <- st.Serve(ctx, 5*time.Millisecond) }()
	t.Cleanup(cancel)
	return st, func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Serve: %v", err)
		}
	}
}

// TestSigmaCorrelationRestart: a correlator stopped in the middle of a
// correlation's window rebuilds the window from the ECS stream when it
// starts again (the correlation's span is in its RebuildWindow), so the
// alert still comes, once: the chained example after six of its ten
// failures, and a count bounded from above whose window closes after the
// restart.
func TestSigmaCorrelationRestart(t *testing.T) {
	t.Parallel()
	eq := strings.Replace(strings.Replace(manyFailed, "gte: 100", "eq: 3", 1), "timespan: 1h", "timespan: 10m", 1)
	for _, tc := range []struct {
		name          string
		rules         []string
		before, after func(*stream) []event.Document
		span          time.Duration
	}{
		{
			name:  "chained",
			rules: []string{chainOuter, chainInner, failedLogin, successfulLogin},
			before: func(st *stream) []event.Document {
				return repeat(6, func(i int) event.Document { return st.failed(i*10, "bob") })
			},
			after: func(st *stream) []event.Document {
				return append(repeat(4, func(i int) event.Document { return st.failed(60+i*10, "bob") }), st.success(200, "bob"))
			},
			span: 20 * time.Minute,
		},
		{
			name:  "eq, window closed after the restart",
			rules: []string{eq, failedLogin},
			before: func(st *stream) []event.Document {
				return []event.Document{st.failed(0, "a"), st.failed(10, "b")}
			},
			after: func(st *stream) []event.Document {
				later := st.doc(700, "Security", "4625", "User", "c", "ComputerName", "WS8")
				return []event.Document{st.failed(20, "c"), later}
			},
			span: 10 * time.Minute,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rules := loadSigma(t, tc.rules...)
			if e, _ := Compile(rules, Options{}); e.MaxSpan() != tc.span {
				t.Errorf("MaxSpan %v, want %v", e.MaxSpan(), tc.span)
			}
			b := openBus(t)
			st := &stream{host: "DC1"}
			first, stop := serveRules(t, b, rules)
			publishDocs(t, b, tc.before(st)...)
			waitFor(t, "the window to be pending", func() bool {
				s, _ := first.Stats()
				return s.Pending == 1 && s.Buffered == 0
			})
			stop() // the process ends with the window in memory

			second, stop := serveRules(t, b, rules)
			waitFor(t, "the replay to rebuild the window", func() bool {
				s, _ := second.Stats()
				return s.Pending == 1 && second.StageStats().Replayed == uint64(len(tc.before(&stream{})))
			})
			publishDocs(t, b, tc.after(st)...)
			waitFor(t, "the alert", func() bool { return storedAlerts(t, b) == 1 })
			stop()

			third, stop := serveRules(t, b, rules)
			waitFor(t, "the replay of every event", func() bool { return third.StageStats().Deduplicated == 1 })
			stop()
			if n := storedAlerts(t, b); n != 1 {
				t.Errorf("%d alerts stored, want 1", n)
			}
		})
	}
}

// TestSigmaCorrelationReload: a reload that brings a correlation in place
// of Sigma rules indexes the new rules by channel and event ID (the old
// index pointed at rules that were gone), and a reload that keeps the
// correlation unchanged keeps its window.
func TestSigmaCorrelationReload(t *testing.T) {
	t.Parallel()
	gte3 := strings.Replace(strings.Replace(manyFailed, "gte: 100", "gte: 3", 1), "timespan: 1h", "timespan: 10m", 1)
	e, err := Compile(loadSigma(t, append([]string{successfulLogin}, reconRules()...)...), Options{Lateness: Batch})
	if err != nil {
		t.Fatal(err)
	}
	st := &stream{host: "DC1"}
	if _, err := e.ReplaceRules(loadSigma(t, gte3, failedLogin)); err != nil {
		t.Fatal(err)
	}
	// A process creation was indexed under the recon rules, now gone.
	got := e.Process(st.recon(0, "whoami.exe", "bob"))
	for i := range 2 {
		got = append(got, e.Process(st.failed(i, "u"))...)
	}
	got = append(got, e.Flush()...)
	if len(got) != 0 || e.Stats().Pending != 1 {
		t.Fatalf("two failures: alerts %q, pending %d", summaries(got), e.Stats().Pending)
	}
	if _, err := e.ReplaceRules(loadSigma(t, gte3, failedLogin)); err != nil {
		t.Fatal(err)
	}
	got = append(e.Process(st.failed(5, "u")), e.Flush()...)
	if want := []string{"0e95725d [WS7] 3"}; !slices.Equal(summaries(got), want) {
		t.Errorf("after the reload: alerts %q, want %q", summaries(got), want)
	}
}

// TestSigmaCorrelationHandover: a member of a correlator group that stops
// in the middle of the chained example's window hands its partitions
// over; the member that takes them rebuilds the window from the ECS
// stream and raises the alert, once.
func TestSigmaCorrelationHandover(t *testing.T) {
	t.Parallel()
	rules := loadSigma(t, chainOuter, chainInner, failedLogin, successfulLogin)
	b := openBus(t)
	n := b.Partitions()
	group := func(member string) StageOption {
		return WithGroup(Group{Name: "corr", TTL: testGroupTTL, Member: member})
	}
	a, stopA := serveRules(t, b, rules, group("a"))
	c, stopC := serveRules(t, b, rules, group("b"))
	waitFor(t, "the partitions shared out", func() bool {
		return len(a.Owned()) == n/2 && len(c.Owned()) == n/2
	})
	var host string
	for i := range 1000 {
		if h := fmt.Sprintf("DC%03d", i); slices.Contains(a.Owned(), bus.PartitionOf(h, n)) {
			host = h
			break
		}
	}
	st := &stream{host: host}
	publishDocs(t, b, repeat(6, func(i int) event.Document { return st.failed(i*10, "bob") })...)
	waitFor(t, "the window pending on its owner", func() bool {
		s, _ := a.Stats()
		return s.Pending == 1 && s.Buffered == 0
	})
	stopA()
	waitFor(t, "the other member to own every partition", func() bool { return len(c.Owned()) == n })
	waitFor(t, "the window rebuilt", func() bool {
		s, _ := c.Stats()
		return s.Pending == 1
	})
	publishDocs(t, b, append(repeat(4, func(i int) event.Document { return st.failed(60+i*10, "bob") }), st.success(200, "bob"))...)
	waitFor(t, "the alert", func() bool { return c.StageStats().Published == 1 })
	stopC()
	if a.StageStats().Published != 0 {
		t.Errorf("the stopped member published %d alerts", a.StageStats().Published)
	}
	if got := storedAlerts(t, b); got != 1 {
		t.Errorf("%d alerts stored, want 1", got)
	}
}

// BenchmarkSigmaCorrelation runs failed and successful logons of 10 users
// on 4 hosts through the base rules alone (the baseline: every event
// alerts, as the rules do without a correlation) and through each kind of
// correlation over them, so that a correlation's cost reads as a ratio to
// the baseline of one run.
func BenchmarkSigmaCorrelation(b *testing.B) {
	eq := strings.Replace(strings.Replace(manyFailed, "gte: 100", "eq: 7", 1), "timespan: 1h", "timespan: 10m", 1)
	gte := strings.Replace(strings.Replace(manyFailed, "gte: 100", "gte: 10", 1), "ComputerName", "User", 1)
	values := strings.Replace(failedLoginValues, "gte: 100", "gte: 5", 1)
	withGen := func(s string) string {
		return strings.Replace(s, "correlation:\n", "correlation:\n    generate: true\n", 1)
	}
	for _, bc := range []struct {
		name  string
		rules []string
	}{
		{"base rule", []string{failedLogin, successfulLogin}},
		{"event_count gte", []string{gte, failedLogin}},
		{"event_count eq", []string{eq, failedLogin}},
		{"value_count", []string{values, failedLogin}},
		{"chained", []string{chainOuter, chainInner, failedLogin, successfulLogin}},
		{"chained with base alerts", []string{withGen(chainOuter), chainInner, failedLogin, successfulLogin}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "r.yml")
			if err := os.WriteFile(path, []byte(strings.Join(bc.rules, "---\n")), 0o644); err != nil {
				b.Fatal(err)
			}
			rules, errs := LoadRules(context.Background(), path)
			if len(errs) > 0 {
				b.Fatal(errs)
			}
			hosts := []*stream{{host: "DC1"}, {host: "DC2"}, {host: "DC3"}, {host: "DC4"}}
			const n = 20_000
			docs := make([]event.Document, 0, n)
			for i := range n {
				st := hosts[i%len(hosts)]
				user := "user" + strconv.Itoa(i%10)
				if i%13 == 0 {
					docs = append(docs, st.success(i, user))
				} else {
					docs = append(docs, st.failed(i, user))
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			alerts := 0
			for b.Loop() {
				e, err := Compile(rules, Options{Now: fixedClock})
				if err != nil {
					b.Fatal(err)
				}
				for _, d := range docs {
					alerts += len(e.Process(d))
				}
				alerts += len(e.Flush())
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(alerts)/float64(b.N), "alerts/run")
		})
	}
}
