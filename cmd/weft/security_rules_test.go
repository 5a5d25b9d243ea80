package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/testdata/gen/scenario"
)

// elasticWindowsRules is Elastic's rules/windows folder in the shared
// corpus, relative to this package.
var elasticWindowsRules = filepath.Join("..", "..", "..", "shared", "corpus", "elastic-rules", "windows")

// securityRuleGaps are the Windows-log scenarios left out of
// TestHuntSecurityRules, and why: each names an expected alert weft cannot
// raise yet.
var securityRuleGaps = map[scenario.WinKind]string{
	// Remote Windows Service Installed joins 4624 and 4697 by
	// winlog.logon.id. Winlogbeat's security module sets it from 4624's
	// TargetLogonId; the ingest pipeline the normalizer follows
	// (security_standard.yml) copies SubjectLogonId, 0x0 for a network
	// logon, so the two never join.
	scenario.RemoteService: "d33ea3bf: 4624's winlog.logon.id is SubjectLogonId in security_standard.yml",
	scenario.SMBExec:       "d33ea3bf: 4624's winlog.logon.id is SubjectLogonId in security_standard.yml",
}

// TestHuntSecurityRules synthesizes a domain's Security, System and
// PowerShell logs with every Windows-log attack and near-miss, runs weft
// hunt with Elastic's Windows rules over them, and checks the alerts
// against the manifest: each attack raises exactly the rules it lists
// (other rules its events set off included), each near-miss raises
// nothing, and no alert comes from the background.
func TestHuntSecurityRules(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(elasticWindowsRules); err != nil {
		t.Skipf("Elastic's rules are absent (%s): %v", elasticWindowsRules, err)
	}
	var kinds []scenario.WinKind
	for _, k := range append(scenario.WinAttacks(), scenario.WinNearMisses()...) {
		if _, gap := securityRuleGaps[k]; !gap {
			kinds = append(kinds, k)
		}
	}
	dir := t.TempDir()
	m, err := scenario.Generate(context.Background(), scenario.Config{
		Seed: 20261207, Hosts: 5, Span: 2 * time.Hour, Rate: 0.5,
		Channels:     []string{scenario.ChannelSecurity, scenario.ChannelSystem, scenario.ChannelPowerShell},
		WinScenarios: kinds, Dir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Scenarios) != len(kinds) {
		t.Fatalf("manifest lists %d scenarios, want %d", len(m.Scenarios), len(kinds))
	}
	args := []string{"hunt", "--json", "--rules", elasticWindowsRules}
	for _, f := range m.Files {
		args = append(args, filepath.Join(dir, f.Path))
	}
	code, out, errOut := runWeft(t, testContext(t), nil, args...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if summary := fmt.Sprintf("%d events, ", m.Events); !strings.Contains(errOut, summary) || !strings.Contains(errOut, ", 0 errors") {
		t.Errorf("summary does not say %q and 0 errors:\n%s", summary, errOut)
	}

	// Which scenario wrote each event: host, channel, record id.
	owner := map[string]int{}
	for i, sc := range m.Scenarios {
		for _, e := range sc.Events {
			owner[fmt.Sprintf("%s|%s|%d", sc.Host, e.Channel, e.RecordID)] = i
		}
	}
	got := make([][]string, len(m.Scenarios))
	for _, a := range decodeAlerts(t, out) {
		rule := fmt.Sprint(field(a, "rule.id"))
		events, _ := field(a, "weft.events").([]any)
		from := map[int]bool{}
		var where []string
		for _, e := range events {
			ev, _ := e.(map[string]any)
			key := fmt.Sprintf("%v|%v|%v", field(ev, "host.name"), field(ev, "winlog.channel"), field(ev, "winlog.record_id"))
			where = append(where, key)
			if i, ok := owner[key]; ok {
				from[i] = true
			}
		}
		if len(from) != 1 {
			t.Errorf("alert of %s (%s) on events of %d scenarios: %v", rule, field(a, "rule.name"), len(from), where)
			continue
		}
		for i := range from {
			got[i] = append(got[i], rule)
		}
	}
	fired := 0
	for i, sc := range m.Scenarios {
		var want []string
		for _, r := range sc.Alerts {
			want = append(want, r.ID)
		}
		slices.Sort(want)
		slices.Sort(got[i])
		if !slices.Equal(got[i], want) {
			t.Errorf("%s on %s at %s: alerts %v, want %v", sc.Kind, sc.Host, sc.Time.Format(time.TimeOnly), got[i], want)
		}
		if sc.Breaks == "" && len(want) == 0 {
			t.Errorf("attack %s lists no alert", sc.Kind)
		}
		if sc.Breaks != "" && len(want) > 0 {
			t.Errorf("near-miss %s lists alerts %v", sc.Kind, want)
		}
		fired += len(got[i])
	}
	t.Logf("%d scenarios, %d alerts of Elastic's rules; left out: %v", len(m.Scenarios), fired, securityRuleGaps)
}

// BenchmarkHuntSecurityRules: weft hunt with Elastic's Windows rules over
// synthesized Security, System and PowerShell logs (every story but the
// gaps, 8 hosts and a domain controller, an hour), file to alert; every
// run must raise exactly the manifest's alerts. Reports events per second.
func BenchmarkHuntSecurityRules(b *testing.B) {
	if _, err := os.Stat(elasticWindowsRules); err != nil {
		b.Skipf("Elastic's rules are absent (%s): %v", elasticWindowsRules, err)
	}
	var kinds []scenario.WinKind
	for _, k := range append(scenario.WinAttacks(), scenario.WinNearMisses()...) {
		if _, gap := securityRuleGaps[k]; !gap {
			kinds = append(kinds, k)
		}
	}
	dir := b.TempDir()
	m, err := scenario.Generate(context.Background(), scenario.Config{
		Seed: 1, Hosts: 8, Span: time.Hour, Rate: 1,
		Channels:     []string{scenario.ChannelSecurity, scenario.ChannelSystem, scenario.ChannelPowerShell},
		WinScenarios: kinds, Dir: dir,
	})
	if err != nil {
		b.Fatal(err)
	}
	alerts := 0
	for _, sc := range m.Scenarios {
		alerts += len(sc.Alerts)
	}
	b.SetBytes(scenarioBytes(m))
	want := fmt.Sprintf("%d events, %s, 0 errors", m.Events, plural(alerts, "alert"))
	start := time.Now()
	for b.Loop() {
		code, _, errOut := execWeft(context.Background(), nil, "hunt", "--json", "--rules", elasticWindowsRules, dir)
		if code != 0 || !strings.Contains(errOut, want) {
			b.Fatalf("exit %d, want a summary saying %q:\n%s", code, want, errOut)
		}
	}
	b.ReportMetric(float64(m.Events)*float64(b.N)/time.Since(start).Seconds(), "events/s")
}
