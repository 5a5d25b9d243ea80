package correlator

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/weft-dev/weft/event"
)

// compileOnceRules writes Sigma rules to a folder and loads them.
func compileOnceRules(t *testing.T, files map[string]string) []*Rule {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rules, errs := LoadRules(context.Background(), dir)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return rules
}

var compileOnceFiles = map[string]string{
	"proc.yml": "title: Proc\nid: p1\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\nlevel: high\n",
	"sec.yml":  "title: Sec\nid: s1\nlogsource:\n  service: security\n  product: windows\ndetection:\n  sel:\n    EventID: 4625\n  condition: sel\nlevel: low\n",
	"any.yml":  "title: Any\nid: a1\nlogsource:\n  product: windows\ndetection:\n  sel:\n    CommandLine|contains: 'whoami'\n  condition: sel\n",
}

// compileOnceDocs are documents each rule of compileOnceFiles matches
// some of.
func compileOnceDocs() []event.Document {
	return []event.Document{
		sigmaDoc("Microsoft-Windows-Sysmon/Operational", "1", "1", map[string]any{"Image": `C:\cmd.exe`, "CommandLine": "cmd /c whoami"}),
		sigmaDoc("Microsoft-Windows-Sysmon/Operational", "1", "2", map[string]any{"Image": `C:\x.exe`, "CommandLine": "x"}),
		sigmaDoc("Security", "4625", "3", map[string]any{"TargetUserName": "bob"}),
		sigmaDoc("Security", "4688", "4", map[string]any{"NewProcessName": `C:\cmd.exe`, "CommandLine": "WHOAMI /all"}),
	}
}

// engineAlerts runs docs through e and says which rule alerted on which
// record, sorted.
func engineAlerts(e *Engine, docs []event.Document) []string {
	var alerts []event.Alert
	for _, d := range docs {
		alerts = append(alerts, e.Process(d)...)
	}
	alerts = append(alerts, e.Flush()...)
	var out []string
	for _, a := range alerts {
		out = append(out, a.Rule.ID+" "+a.Timestamp.Format("05"))
	}
	slices.Sort(out)
	return out
}

// TestRulesCompiledOnce: the first engine given exactly the Sigma rules
// LoadRules compiled runs their programs as they are, with the cache
// they registered their patterns with, and compiles nothing; another
// engine of the same rules, or one given only some of them, compiles its
// own; all raise the same alerts, and so does a reload.
func TestRulesCompiledOnce(t *testing.T) {
	t.Parallel()
	want := []string{"a1 01", "a1 04", "p1 01", "p1 04", "s1 03"}
	rules := compileOnceRules(t, compileOnceFiles)
	cache := rules[0].Program().Cache()
	if cache == nil || cache.Programs() != len(rules) {
		t.Fatalf("loaded rules: cache %p with %d programs, want one cache of %d", cache, cache.Programs(), len(rules))
	}
	// Some of the rules first: their engine must leave the cache, which
	// holds the patterns of the others too.
	some, err := Compile(rules[:2], Options{Lateness: Batch})
	if err != nil {
		t.Fatal(err)
	}
	first, err := Compile(rules, Options{Lateness: Batch})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Compile(rules, Options{Lateness: Batch})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		e     *Engine
		taken bool
	}{
		{"first engine", first, true},
		{"second engine", second, false},
		{"some of the rules", some, false},
	}
	for _, tc := range tests {
		if got := tc.e.fields == cache; got != tc.taken {
			t.Errorf("%s: took the load's cache %v, want %v", tc.name, got, tc.taken)
		}
		for _, rs := range tc.e.rules {
			if got := rs.prog == rs.rule.program; got != tc.taken {
				t.Errorf("%s: rule %s runs the loaded program %v, want %v", tc.name, rs.rule.ID, got, tc.taken)
			}
		}
		// No program was compiled into a cache twice.
		if got := tc.e.fields.Programs(); got != len(tc.e.rules) {
			t.Errorf("%s: %d programs compiled with the engine's cache, want %d", tc.name, got, len(tc.e.rules))
		}
	}
	if got := engineAlerts(first, compileOnceDocs()); !slices.Equal(got, want) {
		t.Errorf("first engine: alerts %v, want %v", got, want)
	}
	if got := engineAlerts(second, compileOnceDocs()); !slices.Equal(got, want) {
		t.Errorf("second engine: alerts %v, want %v", got, want)
	}
	var wantSome []string
	for _, w := range want {
		if slices.ContainsFunc(rules[:2], func(r *Rule) bool { return r.ID == w[:2] }) {
			wantSome = append(wantSome, w)
		}
	}
	if got := engineAlerts(some, compileOnceDocs()); !slices.Equal(got, wantSome) {
		t.Errorf("some of the rules: alerts %v, want %v", got, wantSome)
	}

	// A reload with a changed rule: the engine keeps its cache, compiles
	// the new rule with it, and keeps the unchanged rules' programs.
	changed := maps2(compileOnceFiles, "any.yml", "title: Any\nid: a1\nlogsource:\n  product: windows\ndetection:\n  sel:\n    CommandLine|contains: 'all'\n  condition: sel\n")
	reloaded := compileOnceRules(t, changed)
	if _, err := first.ReplaceRules(reloaded); err != nil {
		t.Fatal(err)
	}
	if first.fields != cache {
		t.Error("reload: the engine changed its field cache")
	}
	for _, rs := range first.rules {
		if rs.prog.Cache() != cache {
			t.Errorf("reload: rule %s runs a program of another cache", rs.rule.ID)
		}
	}
	if got, want := engineAlerts(first, compileOnceDocs()), []string{"a1 04", "p1 01", "p1 04", "s1 03"}; !slices.Equal(got, want) {
		t.Errorf("reload: alerts %v, want %v", got, want)
	}
}

// maps2 is m with k set to v, m unchanged.
func maps2(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m))
	for mk, mv := range m {
		out[mk] = mv
	}
	out[k] = v
	return out
}
