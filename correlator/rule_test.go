package correlator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/event"

	"github.com/weft-dev/weft/internal/repotest"
)

// sharedDir finds ../shared beside the repository root (the directory that
// holds go.mod), or skips the test.
func sharedDir(t *testing.T, rel string) string {
	return repotest.Shared(t, rel)
}

func seedRule(t testing.TB) *Rule {
	t.Helper()
	rules, err := SeedRules()
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 {
		t.Fatalf("%d seed rules, want 1", len(rules))
	}
	return rules[0]
}

func TestSeedRule(t *testing.T) {
	t.Parallel()
	r := seedRule(t)
	want := &Rule{
		ID:          "51ce96fb-9e52-4dad-b0ba-99b54440fc9a",
		Name:        "Incoming DCOM Lateral Movement with MMC",
		Description: "Identifies the use of Distributed Component Object Model (DCOM) to run commands from a remote host, which are launched via the MMC20 Application COM Object. This behavior may indicate an attacker abusing a DCOM application to move laterally.",
		Author:      []string{"Elastic"},
		License:     "Elastic License v2",
		References:  []string{"https://enigma0x3.net/2017/01/05/lateral-movement-using-the-mmc20-application-com-object/"},
		Severity:    "high",
		RiskScore:   73,
		Tags: []string{"Domain: Endpoint", "OS: Windows", "Use Case: Threat Detection", "Tactic: Lateral Movement",
			"Tactic: Defense Evasion", "Data Source: Elastic Defend", "Data Source: Sysmon", "Resources: Investigation Guide"},
		Type:     "eql",
		Language: "eql",
		Index: []string{"winlogbeat-*", "logs-endpoint.events.process-*", "logs-endpoint.events.network-*",
			"logs-windows.sysmon_operational-*"},
		From:       "now-9m",
		Interval:   5 * time.Minute,
		MaxSignals: 100,
		Version:    209,
		Threat: []event.Threat{
			{
				Framework: "MITRE ATT&CK",
				Tactic:    event.ThreatRef{ID: "TA0008", Name: "Lateral Movement", Reference: "https://attack.mitre.org/tactics/TA0008/"},
				Technique: []event.ThreatTechnique{{
					ThreatRef: event.ThreatRef{ID: "T1021", Name: "Remote Services", Reference: "https://attack.mitre.org/techniques/T1021/"},
					Subtechnique: []event.ThreatRef{{ID: "T1021.003", Name: "Distributed Component Object Model",
						Reference: "https://attack.mitre.org/techniques/T1021/003/"}},
				}},
			},
			{
				Framework: "MITRE ATT&CK",
				Tactic:    event.ThreatRef{ID: "TA0005", Name: "Defense Evasion", Reference: "https://attack.mitre.org/tactics/TA0005/"},
				Technique: []event.ThreatTechnique{{
					ThreatRef:    event.ThreatRef{ID: "T1218", Name: "System Binary Proxy Execution", Reference: "https://attack.mitre.org/techniques/T1218/"},
					Subtechnique: []event.ThreatRef{{ID: "T1218.014", Name: "MMC", Reference: "https://attack.mitre.org/techniques/T1218/014/"}},
				}},
			},
		},
		Metadata: Metadata{CreationDate: "2020/11/06", Maturity: "production", Integration: []string{"endpoint", "windows"}},
	}
	got := *r
	got.Query, got.Note, got.Path, got.program = "", "", "", nil
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("seed rule\n got %+v\nwant %+v", got, *want)
	}
	if !r.Program().IsSequence() || r.Program().MaxSpan() != time.Minute {
		t.Errorf("seed query is not a 1m sequence: %s", r.Program().Query())
	}
	if !strings.HasPrefix(r.Note, "**Triage and analysis**") || !strings.Contains(r.Note, "**Response and remediation**") {
		t.Errorf("note is not the investigation guide: %.80q", r.Note)
	}
	er := r.EventRule()
	if er.ID != want.ID || er.Version != "209" || er.Note != r.Note || er.Severity != "high" ||
		!reflect.DeepEqual(er.Reference, want.References) || er.License != "Elastic License v2" {
		t.Errorf("EventRule = %+v", er)
	}
}

// TestSeedRuleMatchesPublication compares the embedded rule with the
// published markdown: the query verbatim and the investigation guide.
func TestSeedRuleMatchesPublication(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(sharedDir(t, "seed/incoming-dcom-lateral-movement-with-mmc.md"))
	if err != nil {
		t.Fatal(err)
	}
	md := string(data)
	r := seedRule(t)
	_, q, ok := strings.Cut(md, "```js\n")
	q, _, ok2 := strings.Cut(q, "```")
	if !ok || !ok2 {
		t.Fatal("no query block in the seed markdown")
	}
	if r.Query != q {
		t.Errorf("query differs from the publication\n got %q\nwant %q", r.Query, q)
	}
	start := strings.Index(md, "**Triage and analysis**")
	end := strings.Index(md, "## Rule query")
	if start < 0 || end < start {
		t.Fatal("no investigation guide in the seed markdown")
	}
	// The published page has one character double-encoded (â€™ for ’).
	guide := strings.ReplaceAll(strings.TrimRight(md[start:end], "\n")+"\n", "\u00e2\u20ac\u2122", "\u2019")
	if r.Note != guide {
		t.Errorf("note differs from the published guide")
	}
	for _, s := range []string{r.Name, "**Severity**: high", "**Risk score**: 73", "**Version**: 209", r.References[0]} {
		if !strings.Contains(md, s) {
			t.Errorf("publication does not mention %q", s)
		}
	}
	if !strings.Contains(md, r.Description) {
		t.Errorf("description is not the published one: %q", r.Description)
	}
}

const goodRule = `[rule]
author = ["Tester"]
description = "d"
name = "Test rule %s"
risk_score = 21
rule_id = "%s"
severity = "low"
type = "eql"
query = '''
process where process.name : "cmd.exe"
'''
`

func ruleText(id string) string {
	return strings.ReplaceAll(strings.ReplaceAll(goodRule, "%s", id), "Test rule "+id, "Test rule "+id)
}

func TestParseRuleDefaults(t *testing.T) {
	t.Parallel()
	r, err := ParseRule("x.toml", []byte(ruleText("r1")))
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != DefaultVersion || r.Interval != DefaultInterval || r.MaxSignals != DefaultMaxSignals || r.Program().IsSequence() {
		t.Errorf("defaults: %+v", r)
	}
	r2, err := ParseRule("y.toml", []byte(strings.Replace(ruleText("r2"), "[rule]\n", "[rule]\ninterval = \"60m\"\nmax_signals = 33\nversion = 7\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if r2.Version != 7 || r2.Interval != time.Hour || r2.MaxSignals != 33 {
		t.Errorf("explicit values: %+v", r2)
	}
}

func TestParseRuleErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		text      string
		line, col int
		msg       string
	}{
		{"toml syntax", "[rule]\nname = \"x\"\nrisk_score = = 3\n", 3, 14, ""},
		{"toml type", "[rule]\nrisk_score = \"high\"\n", 2, 14, "cannot decode TOML string into rule.risk_score of type float64"},
		{"query in literal string", strings.Replace(ruleText("q1"), "process where process.name : \"cmd.exe\"", "process where\n  process.name ==", 1), 11, 18, "query: unexpected end of query"},
		{"query in basic string with escapes", strings.Replace(ruleText("q2"), "query = '''\nprocess where process.name : \"cmd.exe\"\n'''",
			`query = "process where process.name : \"cmd.exe\" and x = 1"`, 1), 9, 57, "query: = is not an operator"},
		{"query in multi-line basic string", strings.Replace(ruleText("q3"), "query = '''\nprocess where process.name : \"cmd.exe\"\n'''",
			"query = \"\"\"\nprocess where \\\n    a == \"\\u00e9\" and #\"\"\"", 1), 11, 23, "query: unexpected character '#'"},
		{"missing rule_id", strings.Replace(ruleText("x"), "rule_id = \"x\"\n", "", 1), 0, 0, "rule_id is missing"},
		{"other rule type", strings.Replace(ruleText("x"), `type = "eql"`, `type = "query"`, 1), 0, 0, `rule.type "query" is not supported`},
		{"bad severity", strings.Replace(ruleText("x"), `severity = "low"`, `severity = "urgent"`, 1), 0, 0, "severity"},
		{"bad interval", strings.Replace(ruleText("x"), "[rule]\n", "[rule]\ninterval = \"soon\"\n", 1), 0, 0, "interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseRule("rules/bad.toml", []byte(tt.text))
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a RuleError", err)
			}
			if re.Path != "rules/bad.toml" || re.Line != tt.line || re.Column != tt.col || !strings.Contains(re.Error(), tt.msg) {
				t.Errorf("got %q (line %d col %d), want line %d col %d containing %q", re.Error(), re.Line, re.Column, tt.line, tt.col, tt.msg)
			}
		})
	}
}

func TestLoadRules(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.toml", ruleText("id-a"))
	write("sub/b.toml", strings.Replace(ruleText("id-b"), `process.name : "cmd.exe"`, `process.name :`, 1))
	write("sub/deeper/c.TOML", ruleText("id-c"))
	write("sub/deeper/dup.toml", ruleText("id-a"))
	write("sub/readme.txt", "not a rule")
	extra := filepath.Join(t.TempDir(), "single.toml")
	if err := os.WriteFile(extra, []byte(ruleText("id-d")), 0o644); err != nil {
		t.Fatal(err)
	}
	rules, errs := LoadRules(context.Background(), dir, extra, filepath.Join(dir, "missing"))
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.ID)
	}
	if !reflect.DeepEqual(ids, []string{"id-a", "id-c", "id-d"}) {
		t.Errorf("loaded %v", ids)
	}
	if len(errs) != 3 {
		t.Fatalf("errors %v, want 3", errs)
	}
	joined := errors.Join(errs...).Error()
	for _, want := range []string{
		filepath.Join(dir, "missing"),
		filepath.Join(dir, "sub", "b.toml") + ":10:29: query: unexpected end of query, expected an expression",
		filepath.Join(dir, "sub", "deeper", "dup.toml") + ": rule_id id-a is also defined in " + filepath.Join(dir, "a.toml"),
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("errors %q do not mention %q", joined, want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, errs := LoadRules(ctx, dir); len(errs) == 0 || !errors.Is(errs[len(errs)-1], context.Canceled) {
		t.Errorf("cancelled load: %v", errs)
	}
}

func TestLoadElasticCorpus(t *testing.T) {
	t.Parallel()
	dir := sharedDir(t, "corpus/elastic-rules/windows")
	rules, errs := LoadRules(context.Background(), dir)
	for _, err := range errs {
		t.Error(err)
	}
	if len(rules) < 300 {
		t.Errorf("loaded %d rules", len(rules))
	}
	if _, err := Compile(rules, Options{}); err != nil {
		t.Errorf("compile corpus: %v", err)
	}
	for _, r := range rules {
		if r.ID == "51ce96fb-9e52-4dad-b0ba-99b54440fc9a" && (len(r.Threat) != 3 || r.Version != DefaultVersion) {
			t.Errorf("corpus MMC rule: %d threats, version %d", len(r.Threat), r.Version)
		}
	}
}

func TestCheckRule(t *testing.T) {
	t.Parallel()
	rule := func(query string) []byte {
		return []byte("[rule]\nname = \"N\"\ndescription = \"d\"\nrisk_score = 1\nrule_id = \"id-1\"\nseverity = \"low\"\ntype = \"eql\"\nquery = '''\n" + query + "\n'''\n")
	}
	tests := []struct {
		name   string
		data   []byte
		loads  bool
		id     string
		fields string
		err    string
	}{
		{"loads", rule(`process where process.name : "x" and ?user.name != null`), true, "id-1", "event.category,process.name,user.name", ""},
		{"query does not parse", rule("process where\n a =="), false, "id-1", "", "r.toml:10:6: query: unexpected end of query"},
		{"query parses but cannot stream", rule(`process where a == 1 | tail 2`), false, "id-1", "a,event.category", "tail needs the end of the input"},
		{"bad metadata keeps the fields", []byte("[rule]\nrule_id = \"id-2\"\ntype = \"query\"\nquery = 'any where x'\n"), false, "id-2", "x", "rule.name is missing"},
		{"not TOML", []byte("[rule\n"), false, "", "", "r.toml:1:"},
	}
	for _, tt := range tests {
		c := CheckRule("r.toml", tt.data)
		if (c.Err == nil) != tt.loads || (c.Rule != nil) != tt.loads || c.RuleID != tt.id ||
			strings.Join(c.Fields, ",") != tt.fields || (tt.err != "" && !strings.Contains(c.Err.Error(), tt.err)) {
			t.Errorf("%s: %+v", tt.name, c)
		}
	}
}

func TestRuleFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, p := range []string{"b.toml", "a.TOML", "sub/c.toml", "notes.md"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, errs := RuleFiles(dir, filepath.Join(dir, "notes.md"), filepath.Join(dir, "gone.toml"))
	var rel []string
	for _, f := range files {
		r, _ := filepath.Rel(dir, f)
		rel = append(rel, r)
	}
	if strings.Join(rel, " ") != "a.TOML b.toml sub/c.toml notes.md" || len(errs) != 1 {
		t.Errorf("files %v, errors %v", rel, errs)
	}
}
