package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const seedID = "51ce96fb-9e52-4dad-b0ba-99b54440fc9a"

func ruleFile(id, query string) string {
	return `[rule]
name = "Rule ` + id + `"
description = "test"
risk_score = 21
rule_id = "` + id + `"
severity = "low"
type = "eql"
query = '''
` + query + `
'''
`
}

func TestRulesList(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.toml"), ruleFile("r-a", `sample by host.id [process where true] [file where true]`))
	writeFile(t, filepath.Join(dir, "bad.toml"), ruleFile("r-bad", `process where`))
	code, out, errOut := runWeftInput(t, "", "rules", "list", "--rules", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"ID", seedID + "  high      eql   sequence  Incoming DCOM", "r-a   ", "sample    Rule r-a"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "bad.toml:9:14") {
		t.Errorf("the rule that does not load is not reported with its place: %s", errOut)
	}
	code, out, _ = runWeftInput(t, "", "rules", "list", "--no-seed", "--json", "--rules", dir)
	lines := jsonLines(t, out)
	if code != 0 || len(lines) != 1 || lines[0]["id"] != "r-a" || lines[0]["query_type"] != "sample" || lines[0]["severity"] != "low" {
		t.Errorf("json: exit %d %v", code, lines)
	}
}

// ruleFileIndex is ruleFile with index patterns.
func ruleFileIndex(id, index, query string) string {
	return strings.Replace(ruleFile(id, query), "type = \"eql\"\n", "type = \"eql\"\nindex = ["+index+"]\n", 1)
}

func TestRulesCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "good.toml"), ruleFile("g", `process where process.name : "x" and winlog.event_data.Foo == "1"`))
	writeFile(t, filepath.Join(dir, "blind.toml"), ruleFile("b", `process where process.Ext.relative_file_creation_time < 5 and dll.name == "a"`))
	writeFile(t, filepath.Join(dir, "broken.toml"), ruleFile("x", "process where\n  a == | head 1"))
	writeFile(t, filepath.Join(dir, "tail.toml"), ruleFile("t", "process where true | tail 1"))
	writeFile(t, filepath.Join(dir, "notoml.toml"), "[rule\nname = ")
	code, out, errOut := runWeftInput(t, "", "rules", "check", "--json", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	byFile := map[string]map[string]any{}
	for _, l := range jsonLines(t, out) {
		byFile[filepath.Base(l["file"].(string))] = l
		for _, k := range []string{"file", "rule_id", "parses", "error", "unproduced_fields"} {
			if _, ok := l[k]; !ok {
				t.Errorf("%v lacks %s", l, k)
			}
		}
	}
	check := func(file string, parses bool, errPart string, fields ...string) {
		t.Helper()
		l := byFile[file]
		if l == nil {
			t.Errorf("%s not reported", file)
			return
		}
		var got []string
		for _, f := range l["unproduced_fields"].([]any) {
			got = append(got, f.(string))
		}
		if l["parses"] != parses || !strings.Contains(l["error"].(string), errPart) || strings.Join(got, ",") != strings.Join(fields, ",") {
			t.Errorf("%s: %v", file, l)
		}
	}
	check("good.toml", true, "")
	check("blind.toml", true, "", "dll.name", "process.Ext.relative_file_creation_time")
	check("broken.toml", false, "broken.toml:10:8: query: expected an expression")
	check("tail.toml", false, "tail.toml:9:20: query: tail needs the end of the input")
	check("notoml.toml", false, "notoml.toml:1:")
	if byFile["broken.toml"]["rule_id"] != "x" || byFile["notoml.toml"]["rule_id"] != "" {
		t.Errorf("rule ids: %v %v", byFile["broken.toml"], byFile["notoml.toml"])
	}
	if byFile["good.toml"]["can_fire"] != "yes" || byFile["blind.toml"]["can_fire"] != "no" || byFile["broken.toml"]["can_fire"] != nil {
		t.Errorf("can_fire: %v %v %v", byFile["good.toml"], byFile["blind.toml"], byFile["broken.toml"])
	}
	if !strings.Contains(errOut, "5 rules, 2 parse (40.0%), 3 do not; 1 can fire (1 fully, 0 partially), 1 cannot; 1 rule read fields weft never produces") {
		t.Errorf("summary: %s", errOut)
	}
	code, out, _ = runWeftInput(t, "", "rules", "check", "--strict", filepath.Join(dir, "broken.toml"), filepath.Join(dir, "blind.toml"))
	if code != exitStrict || !strings.Contains(out, "FAIL  ") || !strings.Contains(out, "reads fields weft never produces: dll.name") ||
		!strings.Contains(out, "cannot fire: its query can never match") {
		t.Errorf("strict: exit %d\n%s", code, out)
	}
	if code, _, _ := runWeftInput(t, "", "rules", "check", t.TempDir()); code != exitFailure {
		t.Errorf("no rule file: exit %d", code)
	}
}

// TestRulesCheckReach checks what rules check says about whether a rule
// can fire: per channel its index names, its event category, the fields
// of each or-branch and exclusion, event.action values, join keys.
func TestRulesCheckReach(t *testing.T) {
	t.Parallel()
	const security, sysmon, all = `"logs-system.security*"`, `"logs-windows.sysmon_operational-*"`, `"winlogbeat-*", "logs-windows.forwarded*"`
	const defend = `"logs-endpoint.events.process-*"`
	tests := []struct {
		name, index, query string
		want               string // can_fire
		reason             string // part of the reason
		channels           string // where it can match, comma-separated
	}{
		{"logons in Security", security, `authentication where event.action == "logged-in" and winlog.logon.type == "Network"`, "yes", "", "Security"},
		{"logons in Sysmon", sysmon, `authentication where event.action == "logged-in"`, "no", "Microsoft-Windows-Sysmon/Operational has no authentication events", ""},
		{"an action weft never sets", security, `iam where event.action : "Token Right Adjusted Events"`, "no", `event.action of "Token Right Adjusted Events"`, ""},
		{"a field only Elastic Defend sets", defend, `process where process.Ext.token.integrity_level_name == "System"`, "no", "names no data weft produces", ""},
		{"Defend's index, fields weft sets", defend, `process where process.name : "vssadmin.exe" and process.args : "delete"`, "yes", "weft runs it over every document anyway", "Microsoft-Windows-Sysmon/Operational,Security"},
		{"an or-branch weft never sets", security, `process where process.name : "x.exe" or ?process.pe.original_file_name == "x.exe"`, "partially", "process.pe.original_file_name", "Security"},
		{"an exclusion weft never sets", sysmon, `process where process.name : "whoami.exe" and not process.Ext.token.integrity_level_name : "System"`, "partially", "process.Ext.token.integrity_level_name", "Microsoft-Windows-Sysmon/Operational"},
		{"== null of an unset field holds", security, `authentication where event.action == "logged-in" and indexOf(string(host.ip), string(source.ip)) == null`, "partially", "host.ip", "Security"},
		{"!= null of an unset field fails", all, `process where process.Ext.api.name != null`, "no", "process.Ext.api.name", ""},
		{"a stage that cannot match", security, `sequence by winlog.computer_name [authentication where true] [process where process.Ext.relative_file_creation_time < 5]`, "no", "stage 2 can never match", "Security"},
		{"a join key weft never sets", security, `sequence by process.Ext.session_info.logon_type [authentication where true] [authentication where true]`, "no", "process.Ext.session_info.logon_type", ""},
		{"an optional join key", security, `sequence by ?process.Ext.session_info.logon_type [authentication where true] [authentication where true]`, "yes", "", "Security"},
		{"service installs in System", `"logs-system.system*"`, `any where event.code : "7045" and winlog.event_data.ImagePath : "*cmd.exe*"`, "yes", "", "System"},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("r%02d.toml", i)), ruleFileIndex(fmt.Sprintf("r%02d", i), tt.index, tt.query))
	}
	code, out, errOut := runWeftInput(t, "", "rules", "check", "--json", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got := map[string]map[string]any{}
	for _, l := range jsonLines(t, out) {
		got[l["rule_id"].(string)] = l
	}
	for i, tt := range tests {
		l := got[fmt.Sprintf("r%02d", i)]
		if l == nil || l["parses"] != true {
			t.Errorf("%s: %v", tt.name, l)
			continue
		}
		var chans []string
		if cs, ok := l["channels"].([]any); ok {
			for _, c := range cs {
				chans = append(chans, c.(string))
			}
		}
		reason, _ := l["reason"].(string)
		if l["can_fire"] != tt.want || !strings.Contains(reason, tt.reason) || strings.Join(chans, ",") != tt.channels {
			t.Errorf("%s: can_fire %v, reason %q, channels %v; want %s, %q, %s", tt.name, l["can_fire"], reason, chans, tt.want, tt.reason, tt.channels)
		}
	}
}

// TestRulesCheckCorpus checks Elastic's Windows rules, as the README
// reports: every one should parse.
func TestRulesCheckCorpus(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "elastic-rules", "windows")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("%s is absent", dir)
	}
	code, out, errOut := runWeftInput(t, "", "rules", "check", "--json", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := jsonLines(t, out)
	failed := 0
	for _, l := range lines {
		if l["parses"] != true {
			failed++
			t.Errorf("%s: %s", l["file"], l["error"])
		}
	}
	if len(lines) < 300 {
		t.Errorf("only %d rules checked", len(lines))
	}
	// Rules over Windows' own logs that TestHuntSecurityRules sees fire,
	// and rules that cannot: an action name weft never sets, Elastic
	// Defend's library events.
	verdicts := map[string]string{
		"credential_access_bruteforce_multiple_logon_failure_followed_by_success.toml": "yes",
		"persistence_user_account_added_to_privileged_group_ad.toml":                   "yes",
		"privilege_escalation_create_process_as_different_user.toml":                   "yes",
		"execution_windows_powershell_susp_args.toml":                                  "partially",
		"privilege_escalation_tokenmanip_sedebugpriv_enabled.toml":                     "no",
		"defense_evasion_masquerading_windows_dll.toml":                                "no",
	}
	for _, l := range lines {
		if want, ok := verdicts[filepath.Base(l["file"].(string))]; ok && l["can_fire"] != want {
			t.Errorf("%s: can_fire %v (%v), want %s", l["file"], l["can_fire"], l["reason"], want)
		}
	}
	t.Logf("%s", strings.TrimSpace(errOut))
}

func TestRulesTest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	custom := filepath.Join(dir, "cmd.toml")
	writeFile(t, custom, ruleFile("cmd-child", `process where process.parent.name : "mmc.exe"`))
	positive := filepath.Join(fixtures, "mmc-positive.xml")
	tests := []struct {
		name   string
		args   []string
		code   int
		alerts int
		stderr string
	}{
		{"by id", []string{"rules", "test", "--json", seedID, positive}, exitOK, 1, "Incoming DCOM Lateral Movement with MMC: 1 file, 7 events, 1 alert"},
		{"by name", []string{"rules", "test", "--json", "incoming dcom lateral movement with mmc", positive}, exitOK, 1, "1 alert"},
		{"by file", []string{"rules", "test", "--json", custom, positive}, exitOK, 1, "Rule cmd-child"},
		{"by id from --rules", []string{"rules", "test", "--json", "--rules", dir, "cmd-child", positive}, exitOK, 1, "1 alert"},
		{"a negative", []string{"rules", "test", "--json", seedID, filepath.Join(fixtures, "negative", "low-port.xml")}, exitOK, 0, "0 alerts"},
		{"no such rule", []string{"rules", "test", "nope", positive}, exitUsage, 0, `no rule file, rule_id or rule name "nope"`},
		{"a rule file that does not load", []string{"rules", "test", writeTemp(t, "b.toml", ruleFile("b", "process where")), positive}, exitFailure, 0, "b.toml:9:14"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runWeftInput(t, "", tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.stderr) {
				t.Fatalf("exit %d (want %d), stderr %s", code, tt.code, errOut)
			}
			if tt.code != exitOK {
				return
			}
			alerts := jsonLines(t, out)
			if len(alerts) != tt.alerts {
				t.Fatalf("%d alerts, want %d", len(alerts), tt.alerts)
			}
			for _, a := range alerts {
				if field(a, "event.kind") != "alert" || len(field(a, "weft.events").([]any)) == 0 {
					t.Errorf("alert %v", a)
				}
			}
		})
	}
	code, out, _ := runWeftInput(t, "", "rules", "test", seedID, positive)
	if code != 0 || !strings.Contains(out, "REMOTE PEER") || !strings.Contains(out, "10.20.30.15:50112") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
}

// TestRulesCheckAgreesWithHunt: no rule that rules check says cannot fire
// raises an alert when weft hunt runs Elastic's rules over the corpus's
// real attack logs.
func TestRulesCheckAgreesWithHunt(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("hunts the whole attack corpus")
	}
	logs := filepath.Join("..", "..", "..", "shared", "corpus", "evtx-attack")
	if _, err := os.Stat(logs); err != nil {
		t.Skipf("%s is absent", logs)
	}
	if _, err := os.Stat(elasticWindowsRules); err != nil {
		t.Skipf("%s is absent", elasticWindowsRules)
	}
	code, out, errOut := runWeftInput(t, "", "rules", "check", "--json", elasticWindowsRules)
	if code != 0 {
		t.Fatalf("check: exit %d: %s", code, errOut)
	}
	verdict := map[string]string{}
	for _, l := range jsonLines(t, out) {
		verdict[l["rule_id"].(string)] = fmt.Sprint(l["can_fire"])
	}
	code, out, errOut = runWeft(t, testContext(t), nil, "hunt", "--json", "--rules", elasticWindowsRules, logs)
	if code != 0 {
		t.Fatalf("hunt: exit %d: %s", code, errOut)
	}
	fired := map[string]int{}
	for _, a := range decodeAlerts(t, out) {
		fired[fmt.Sprint(field(a, "rule.id"))]++
	}
	if len(fired) < 20 {
		t.Errorf("only %d rules fired over the attack corpus", len(fired))
	}
	for id, n := range fired {
		if verdict[id] != "yes" && verdict[id] != "partially" {
			t.Errorf("rule %s raised %d alerts, but rules check says can_fire %q", id, n, verdict[id])
		}
	}
}
