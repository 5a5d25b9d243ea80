package correlator

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/weft-dev/weft/event"
)

// sigmaDoc is a document as the normalizer writes it with raw fields.
func sigmaDoc(channel, eventID, record string, data map[string]any) event.Document {
	return event.Document{
		"@timestamp": "2026-01-01T00:00:0" + record + "Z",
		"host":       map[string]any{"name": "WS01", "id": "ws01"},
		"winlog":     map[string]any{"channel": channel, "record_id": record, "computer_name": "WS01"},
		"weft": map[string]any{"event_data": data,
			"system": map[string]any{"Channel": channel, "EventID": eventID, "Computer": "WS01", "EventRecordID": record}},
	}
}

// TestSigmaIndex: a document is tried only against the Sigma rules of its
// channel and event ID, Security 4688 reaches process_creation rules, and
// an indexed rule still raises its alerts.
func TestSigmaIndex(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"proc.yml": "title: Proc\nid: p1\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\nlevel: high\n",
		"sec.yml":  "title: Sec\nid: s1\nlogsource:\n  service: security\n  product: windows\ndetection:\n  sel:\n    EventID: 4625\n  condition: sel\nlevel: low\n",
		"any.yml":  "title: Any\nid: a1\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rules, errs := LoadRules(context.Background(), dir)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	e, err := Compile(rules, Options{Lateness: Batch})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(d event.Document) []string {
		var out []string
		e.sigma.candidates(d, func(idx []int) {
			for _, i := range idx {
				out = append(out, e.rules[i].rule.ID)
			}
		})
		slices.Sort(out)
		return out
	}
	cmd := map[string]any{"Image": `C:\cmd.exe`, "NewProcessName": `C:\cmd.exe`}
	tests := []struct {
		doc  event.Document
		want []string
	}{
		{sigmaDoc("Microsoft-Windows-Sysmon/Operational", "1", "1", cmd), []string{"p1"}},
		{sigmaDoc("microsoft-windows-sysmon/operational", "1", "1", cmd), []string{"p1"}},
		{sigmaDoc("Microsoft-Windows-Sysmon/Operational", "3", "1", cmd), nil},
		{sigmaDoc("Security", "4688", "1", cmd), []string{"p1", "s1"}},
		{sigmaDoc("Security", "4625", "1", cmd), []string{"s1"}},
		{sigmaDoc("System", "7045", "1", cmd), nil},
	}
	for i, tc := range tests {
		if got := ids(tc.doc); !slices.Equal(got, tc.want) {
			t.Errorf("doc %d: candidates %v, want %v", i, got, tc.want)
		}
	}
	// The rule of every Windows event is not indexed: it is tried on all.
	if !slices.ContainsFunc(e.anyRules, func(i int) bool { return e.rules[i].rule.ID == "a1" }) {
		t.Error("rule without channels is not among the rules tried on every document")
	}
	var alerts []event.Alert
	for i, tc := range tests {
		tc.doc["weft"].(map[string]any)["system"].(map[string]any)["EventRecordID"] = string(rune('1' + i))
		alerts = append(alerts, e.Process(tc.doc)...)
	}
	alerts = append(alerts, e.Flush()...)
	count := map[string]int{}
	for _, a := range alerts {
		count[a.Rule.ID]++
	}
	// p1: Sysmon 1 twice and Security 4688; s1: 4688 is not 4625, 4625 is;
	// a1: every document (all have Image ending in cmd.exe).
	if count["p1"] != 3 || count["s1"] != 1 || count["a1"] != 6 {
		t.Errorf("alerts per rule %v, want p1 3, s1 1, a1 6", count)
	}
}
