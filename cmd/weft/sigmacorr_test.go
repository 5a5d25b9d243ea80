package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sigmaChainFile is the correlation specification's final example, whole
// and in one multi-document file, grouping by TargetUserName (the field
// Security's logon events name the user with; the specification's example
// says User).
const sigmaChainFile = `title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
description: Detects multiple failed logins by a single user followed by a successful login of that user
author: Florian Roth (Nextron Systems)
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - TargetUserName
    timespan: 10m
falsepositives:
    - Unlikely
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - TargetUserName
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
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
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
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

// sigmaSprayFile is a value_count: failed logons of three users or more
// from one address within five minutes, using failed_login of the other
// file.
const sigmaSprayFile = `title: Password spraying from one address
id: 6a3e1f2b-8c4d-4e5f-9a0b-1c2d3e4f5a6b
level: medium
correlation:
    type: value_count
    rules:
        - failed_login
    group-by:
        - IpAddress
    timespan: 5m
    condition:
        field: TargetUserName
        gte: 3
`

// logonXML is a rendered Security 4624 or 4625 event of DC01.
func logonXML(record, eventID int, at time.Time, user, ip string) string {
	return fmt.Sprintf(`<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-A5BA-3E3B0328C30D}'/><EventID>%d</EventID><Version>0</Version><Level>0</Level><Task>12544</Task><Opcode>0</Opcode><Keywords>0x8010000000000000</Keywords><TimeCreated SystemTime='%s'/><EventRecordID>%d</EventRecordID><Correlation/><Execution ProcessID='640' ThreadID='720'/><Channel>Security</Channel><Computer>DC01.corp.example.com</Computer><Security/></System><EventData><Data Name='SubjectUserSid'>S-1-5-18</Data><Data Name='TargetUserName'>%s</Data><Data Name='TargetDomainName'>CORP</Data><Data Name='LogonType'>10</Data><Data Name='WorkstationName'>WS7</Data><Data Name='IpAddress'>%s</Data><Data Name='IpPort'>0</Data></EventData></Event>
`, eventID, at.Format("2006-01-02T15:04:05.0000000Z"), record, user, ip)
}

// TestSigmaCorrelationHunt: weft hunt runs Sigma correlations from rule
// files as the specification writes them (base rules and correlations in
// one multi-document file, rules used from another file) over rendered
// XML, and rules list and check show them. Ten failed logons of
// administrator then a success raise the chain's alert with the eleven
// events; nine of svc then a success do not; three users failing from one
// address raise the spraying alert; the base rules do not alert alone.
func TestSigmaCorrelationHunt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "rules", "mr_failed_then_success.yml"), sigmaChainFile)
	writeFile(t, filepath.Join(dir, "rules", "mr_spray.yml"), sigmaSprayFile)
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var xml strings.Builder
	rec := 1000
	logon := func(s, eventID int, user, ip string) {
		rec++
		xml.WriteString(logonXML(rec, eventID, t0.Add(time.Duration(s)*time.Second), user, ip))
	}
	for i := range 10 {
		logon(i*5, 4625, "administrator", "203.0.113.9")
	}
	logon(60, 4624, "administrator", "203.0.113.9")
	for i := range 9 {
		logon(1000+i*5, 4625, "svc", "203.0.113.10")
	}
	logon(1060, 4624, "svc", "203.0.113.10")
	for i, u := range []string{"alice", "bob", "carol"} {
		logon(2000+i*30, 4625, u, "198.51.100.7")
	}
	input := filepath.Join(dir, "security.xml")
	writeFile(t, input, xml.String())
	rules := filepath.Join(dir, "rules")

	code, out, errOut := runWeft(t, testContext(t), nil, "hunt", "--json", "--no-seed", "--rules", rules, input)
	if code != 0 {
		t.Fatalf("hunt: exit %d: %s", code, errOut)
	}
	var got []string
	for _, a := range decodeAlerts(t, out) {
		evs, _ := field(a, "weft.events").([]any)
		got = append(got, fmt.Sprintf("%v %v %d", field(a, "rule.id"), field(a, "weft.join_keys"), len(evs)))
		if field(a, "rule.id") == "b180ead8-d58f-40b2-ae54-c8940995b9b6" {
			if field(a, "rule.severity") != "high" || field(a, "rule.ruleset") != "sigma" ||
				!strings.Contains(fmt.Sprint(field(a, "message")), "in this order with TargetUserName=administrator within 10m") {
				t.Errorf("chain alert: %v %v %v", field(a, "rule.severity"), field(a, "rule.ruleset"), field(a, "message"))
			}
			if last := evs[len(evs)-1].(map[string]any); field(last, "weft.system.EventID") != "4624" {
				t.Errorf("the chain's last event is %v, want the successful logon", field(last, "weft.system.EventID"))
			}
		}
	}
	slices.Sort(got)
	want := []string{
		"6a3e1f2b-8c4d-4e5f-9a0b-1c2d3e4f5a6b [198.51.100.7] 3",
		"b180ead8-d58f-40b2-ae54-c8940995b9b6 [administrator] 11",
	}
	if !slices.Equal(got, want) {
		t.Errorf("hunt alerts:\n%s\nwant:\n%s\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), errOut)
	}

	code, out, errOut = runWeft(t, testContext(t), nil, "rules", "list", "--json", "--no-seed", "--rules", rules)
	if code != 0 {
		t.Fatalf("rules list: exit %d: %s", code, errOut)
	}
	var listed []string
	for _, r := range decodeAlerts(t, out) {
		listed = append(listed, fmt.Sprint(r["query_type"], " ", r["id"]))
	}
	slices.Sort(listed)
	if w := []string{"temporal_ordered b180ead8-d58f-40b2-ae54-c8940995b9b6", "value_count 6a3e1f2b-8c4d-4e5f-9a0b-1c2d3e4f5a6b"}; !slices.Equal(listed, w) {
		t.Errorf("rules list: %v, want %v", listed, w)
	}

	// The folder is checked as it loads: the spraying correlation uses a
	// rule of the other file.
	code, out, errOut = runWeft(t, testContext(t), nil, "rules", "check", "--json", rules)
	if code != 0 {
		t.Fatalf("rules check: exit %d: %s", code, errOut)
	}
	checked := 0
	for _, r := range decodeAlerts(t, out) {
		if r["parses"] != true {
			t.Errorf("rules check: %v", r)
		}
		checked++
	}
	if checked != 5 {
		t.Errorf("rules check reported %d rules, want the 2 rules and 3 correlations:\n%s", checked, out)
	}
	// Alone, the spraying correlation names the rule it lacks.
	code, out, _ = runWeft(t, testContext(t), nil, "rules", "check", "--json", filepath.Join(rules, "mr_spray.yml"))
	if r := decodeAlerts(t, out); code != 0 || len(r) != 1 || r[0]["parses"] != false || !strings.Contains(fmt.Sprint(r[0]["error"]), `rule "failed_login", which is not loaded`) {
		t.Errorf("rules check of the spraying correlation alone: exit %d, %s", code, out)
	}
}
