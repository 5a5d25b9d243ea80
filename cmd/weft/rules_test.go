package main

import (
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
	if !strings.Contains(errOut, "5 rules, 2 parse (40.0%), 3 do not; 1 rule read fields weft never produces") {
		t.Errorf("summary: %s", errOut)
	}
	code, out, _ = runWeftInput(t, "", "rules", "check", "--strict", filepath.Join(dir, "broken.toml"), filepath.Join(dir, "blind.toml"))
	if code != exitStrict || !strings.Contains(out, "FAIL  ") || !strings.Contains(out, "reads fields weft never produces: dll.name") {
		t.Errorf("strict: exit %d\n%s", code, out)
	}
	if code, _, _ := runWeftInput(t, "", "rules", "check", t.TempDir()); code != exitFailure {
		t.Errorf("no rule file: exit %d", code)
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
