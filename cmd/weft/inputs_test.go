package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// inputsTree is a case folder as analysts get them: an EVTX file, a
// Winlogbeat NDJSON file (named .json), and files that are no event log
// (a scheduled task's XML, a package.json, text, bytes), each of many
// lines.
func inputsTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	copyFile(t, filepath.Join("..", "..", "testdata", "evtx", "mmc-positive.evtx"), filepath.Join(dir, "logs", "Sysmon.evtx"))
	copyFile(t, filepath.Join("..", "..", "normalizer", "testdata", "winlogbeat", "mmc-positive.ndjson"), filepath.Join(dir, "beats", "winlogbeat.json"))
	task := "<?xml version=\"1.0\"?>\n<Task version=\"1.2\">\n" + strings.Repeat("  <Triggers><LogonTrigger>x</LogonTrigger></Triggers>\n", 40) + "</Task>\n"
	writeTree(t, filepath.Join(dir, "Tasks", "Updater.xml"), task)
	writeTree(t, filepath.Join(dir, "tools", "package.json"), strings.Repeat(`{"name":"tool","version":"1.0.0"}`+"\n", 40))
	writeTree(t, filepath.Join(dir, "notes.txt"), strings.Repeat("a note\n", 40))
	writeTree(t, filepath.Join(dir, "blob.bin"), "\x00\x01\x02")
	return dir
}

// TestInputsByContent: every command reads the EVTX and the Winlogbeat
// file of a folder, told by content whatever their names, and skips each
// file that is no event log with exactly one warning, counted among the
// errors (the text and the bytes, quietly: a folder holds such files).
func TestInputsByContent(t *testing.T) {
	t.Parallel()
	dir := inputsTree(t)
	rule := filepath.Join("..", "..", "correlator", "rules", "incoming_dcom_lateral_movement_with_mmc.toml")
	tests := []struct {
		name    string
		args    []string
		lines   int    // lines on stdout
		summary string // said on stderr
	}{
		{"hunt", []string{"hunt", "--json", dir}, 2, "2 alerts, 2 errors"},
		{"eql", []string{"eql", "any where true", dir}, 92 + 7, "99 events, 99 results, 2 errors"},
		{"normalize", []string{"normalize", dir}, 92 + 7, "99 events (0 with problems), 2 errors"},
		// rules test, as eql, matches NDJSON documents as they are (ECS):
		// Winlogbeat's own documents lack what Elastic's pipeline adds.
		{"rules test", []string{"rules", "test", "--json", rule, dir}, 1, "2 errors"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runWeft(t, testContext(t), nil, tc.args...)
			if code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			if n := len(jsonLines(t, out)); n != tc.lines {
				t.Errorf("%d lines on stdout, want %d", n, tc.lines)
			}
			if !strings.Contains(errOut, tc.summary) {
				t.Errorf("stderr does not say %q:\n%s", tc.summary, errOut)
			}
			checkSkippedOnce(t, errOut, "Updater.xml", "package.json")
		})
	}
}

// checkSkippedOnce: each file is named by one warning saying it is no
// event log, and nothing else is warned about.
func checkSkippedOnce(t *testing.T, errOut string, files ...string) {
	t.Helper()
	var warnings []string
	for _, l := range strings.Split(errOut, "\n") {
		if strings.HasPrefix(l, "{") {
			warnings = append(warnings, l)
		}
	}
	if len(warnings) != len(files) {
		t.Errorf("%d log lines, want one per skipped file %v:\n%s", len(warnings), files, errOut)
	}
	for _, f := range files {
		n := 0
		for _, w := range warnings {
			if strings.Contains(w, f) && strings.Contains(w, "not an event log") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d warnings saying it is no event log, want 1:\n%s", f, n, errOut)
		}
	}
}

// TestStdinByContent: standard input is EVTX, XML or Winlogbeat NDJSON by
// its first bytes in every command (EVTX on stdin was read as XML).
func TestStdinByContent(t *testing.T) {
	t.Parallel()
	read := func(parts ...string) string {
		b, err := os.ReadFile(filepath.Join(append([]string{"..", ".."}, parts...)...))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	inputs := map[string]struct {
		data   string
		events int
	}{
		"evtx":   {read("testdata", "evtx", "mmc-positive.evtx"), 92},
		"xml":    {read("testdata", "xml", "mmc-positive.xml"), 7},
		"ndjson": {read("normalizer", "testdata", "winlogbeat", "mmc-positive.ndjson"), 7},
	}
	for name, in := range inputs {
		for _, cmd := range [][]string{{"hunt", "--json", "-"}, {"eql", "any where true", "-"}, {"normalize"}} {
			t.Run(name+"/"+cmd[0], func(t *testing.T) {
				t.Parallel()
				code, out, errOut := runWeftInput(t, in.data, cmd...)
				if code != exitOK {
					t.Fatalf("exit %d, stderr:\n%s", code, errOut)
				}
				want := in.events
				if cmd[0] == "hunt" {
					want = 1
				}
				if n := len(jsonLines(t, out)); n != want || !strings.Contains(errOut, "0 errors") {
					t.Errorf("%d lines, want %d; stderr:\n%s", n, want, errOut)
				}
			})
		}
	}
	code, _, errOut := runWeftInput(t, "hello\n", "hunt", "-")
	if code != exitOK || strings.Count(errOut, "not an event log") != 1 || !strings.Contains(errOut, "1 error") {
		t.Errorf("text on stdin: exit %d, stderr:\n%s", code, errOut)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, to, string(b))
}

func writeTree(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAlertOriginFromDocuments: an alert says which file and record each
// matched event came from, through every sink's JSON: here from ECS
// documents that carry log.file.path, as Winlogbeat writes for an EVTX
// file it reads.
func TestAlertOriginFromDocuments(t *testing.T) {
	t.Parallel()
	code, docs, errOut := runWeft(t, testContext(t), nil, "normalize", filepath.Join(fixtures, "mmc-positive.xml"))
	if code != exitOK {
		t.Fatalf("normalize: exit %d:\n%s", code, errOut)
	}
	const evtx = `C:\cases\host17\Sysmon.evtx`
	var withPath strings.Builder
	for _, d := range jsonLines(t, docs) {
		d["log"].(map[string]any)["file"] = map[string]any{"path": evtx}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		withPath.Write(append(b, '\n'))
	}
	path := filepath.Join(t.TempDir(), "docs.ndjson")
	writeTree(t, path, withPath.String())
	rule := filepath.Join("..", "..", "correlator", "rules", "incoming_dcom_lateral_movement_with_mmc.toml")
	code, out, errOut := runWeft(t, testContext(t), nil, "rules", "test", "--json", rule, path)
	if code != exitOK {
		t.Fatalf("rules test: exit %d:\n%s", code, errOut)
	}
	alerts := decodeAlerts(t, out)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts", len(alerts))
	}
	origins, _ := field(alerts[0], "weft.origins").([]any)
	want := []map[string]any{
		{"file": evtx, "channel": "Microsoft-Windows-Sysmon/Operational", "record_id": "48214", "event_id": "3"},
		{"file": evtx, "channel": "Microsoft-Windows-Sysmon/Operational", "record_id": "48215", "event_id": "1"},
	}
	if len(origins) != len(want) {
		t.Fatalf("origins %v", origins)
	}
	for i, w := range want {
		if !reflect.DeepEqual(origins[i], map[string]any(w)) {
			t.Errorf("origin %d: %v, want %v", i, origins[i], w)
		}
	}
}

// TestHuntAlertOrigin: hunt's alerts name the file and record of each
// matched event, through the normalizer stage on the bus (log.file.path).
func TestHuntAlertOrigin(t *testing.T) {
	t.Parallel()
	file := filepath.Join(fixtures, "mmc-positive.xml")
	code, out, errOut := runWeft(t, testContext(t), nil, "hunt", "--json", file)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	alerts := decodeAlerts(t, out)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts", len(alerts))
	}
	origins, _ := field(alerts[0], "weft.origins").([]any)
	for i, rec := range []string{"48214", "48215"} {
		want := map[string]any{"file": file, "channel": "Microsoft-Windows-Sysmon/Operational", "record_id": rec, "event_id": []string{"3", "1"}[i]}
		if i >= len(origins) || !reflect.DeepEqual(origins[i], want) {
			t.Errorf("origins %v, want %v at %d", origins, want, i)
		}
	}
}
