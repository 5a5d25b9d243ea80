package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runWeftInput is runWeft with standard input.
func runWeftInput(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := a.execute(testContext(t), append([]string{"--log-level", "warn"}, args...))
	return code, stdout.String(), stderr.String()
}

func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not one JSON object per line: %v\n%s", err, l)
		}
		lines = append(lines, m)
	}
	return lines
}

// authDocs are logons and logoffs of two users as NDJSON, out of time
// order.
const authDocs = `{"@timestamp":"2024-05-01T10:00:10.000Z","event":{"category":["authentication"],"code":"4624","sequence":3},"host":{"name":"DC1"},"user":{"name":"ann"},"id":"on2"}
{"@timestamp":"2024-05-01T10:00:00.000Z","event":{"category":["authentication"],"code":"4624","sequence":1},"host":{"name":"DC1"},"user":{"name":"ann"},"id":"on1"}

{"@timestamp":"2024-05-01T10:00:03.000Z","event":{"category":["authentication"],"code":"4647","sequence":2},"host":{"name":"DC1"},"user":{"name":"ann"},"id":"off1"}
{"@timestamp":"2024-05-01T10:00:20.000Z","event":{"category":["authentication"],"code":"4624","sequence":4},"host":{"name":"DC1"},"user":{"name":"bob"},"id":"on3"}
{"@timestamp":"2024-05-01T10:00:20.000Z","event":{"category":["process"],"sequence":1},"host":{"name":"DC1"},"user":{"name":"bob"},"id":"p1"}
`

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(t *testing.T, out, kind string) []string {
	t.Helper()
	var got []string
	for _, m := range jsonLines(t, out) {
		if kind == "" {
			got = append(got, m["id"].(string))
			continue
		}
		var parts []string
		for _, e := range m[kind].(map[string]any)["events"].([]any) {
			ev := e.(map[string]any)
			if ev["missing"] == true {
				parts = append(parts, "-")
				continue
			}
			parts = append(parts, ev["id"].(string))
		}
		got = append(got, strings.Join(parts, ","))
	}
	return got
}

func TestEQLOverNDJSON(t *testing.T) {
	t.Parallel()
	docs := writeTemp(t, "auth.ndjson", authDocs)
	tests := []struct {
		name  string
		query string
		kind  string
		want  []string
	}{
		{"event query in time order", `authentication where event.code : "4624"`, "", []string{"on1", "on2", "on3"}},
		{"head", `authentication where true | head 2`, "", []string{"on1", "off1"}},
		{"tail", `authentication where true | tail 1`, "", []string{"on3"}},
		{"tiebreaker orders equal times", `any where @timestamp == "2024-05-01T10:00:20.000Z"`, "", []string{"p1", "on3"}},
		{"missing event", `sequence by host.name, user.name with maxspan=5s
  [authentication where event.code : "4624"]
  ![authentication where event.code : "4647"]`, "sequence", []string{"on2,-", "on3,-"}},
		{"sample", `sample by user.name [authentication where true] [process where true]`, "sample", []string{"on3,p1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runWeftInput(t, "", "eql", tt.query, docs)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if got := ids(t, out, tt.kind); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if !strings.Contains(errOut, "1 file, 5 events") {
				t.Errorf("summary: %s", errOut)
			}
		})
	}
}

func TestEQLSequenceOverXML(t *testing.T) {
	t.Parallel()
	code, out, errOut := runWeft(t, testContext(t), nil, "eql",
		`sequence by host.id with maxspan=1m [network where process.name : "mmc.exe"] by process.entity_id [process where true] by process.parent.entity_id`,
		filepath.Join(fixtures, "mmc-positive.xml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := jsonLines(t, out)
	if len(lines) != 1 {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	seq := lines[0]["sequence"].(map[string]any)
	keys := seq["join_keys"].([]any)
	events := seq["events"].([]any)
	if len(keys) != 2 || len(events) != 2 || keys[1] != field(events[0].(map[string]any), "process.entity_id") ||
		field(events[1].(map[string]any), "process.parent.name") != "mmc.exe" {
		t.Errorf("sequence %v", seq)
	}
	if !strings.Contains(errOut, "1 file, 7 events, 1 result, 0 errors") {
		t.Errorf("summary: %s", errOut)
	}
}

func TestEQLStdin(t *testing.T) {
	t.Parallel()
	code, out, errOut := runWeftInput(t, authDocs, "eql", `authentication where user.name == "bob"`)
	if code != 0 || strings.Join(ids(t, out, ""), " ") != "on3" {
		t.Errorf("NDJSON on stdin: exit %d, %q, %s", code, out, errOut)
	}
	xml, err := os.ReadFile(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runWeftInput(t, string(xml), "eql", `network where true`, "-")
	if code != 0 || len(jsonLines(t, out)) == 0 {
		t.Errorf("XML on stdin: exit %d, %q, %s", code, out, errOut)
	}
}

func TestEQLErrors(t *testing.T) {
	t.Parallel()
	docs := writeTemp(t, "auth.ndjson", authDocs+"{not json\n[1,2]\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string
		lines  int
	}{
		{"syntax error with line and column", []string{"eql", "process where\n  a ==", docs}, exitUsage,
			[]string{"line 2:7: unexpected end of query", "  a ==\n        ^"}, 0},
		{"unsupported pipe", []string{"eql", "process where true | sort a", docs}, exitUsage, []string{"line 1:22: pipe sort is not supported"}, 0},
		{"bad tiebreaker", []string{"eql", "--tiebreaker", "a b", "any where true", docs}, exitUsage, []string{"--tiebreaker"}, 0},
		{"bad lines are skipped and counted", []string{"eql", "any where true", docs}, exitOK,
			[]string{"auth.ndjson:7: not a JSON object", "auth.ndjson:8", "5 events, 5 results, 2 errors"}, 5},
		{"strict", []string{"eql", "--strict", "any where true", docs}, exitStrict, []string{"--strict"}, 5},
		{"no input", []string{"eql", "any where true", filepath.Join(t.TempDir(), "none")}, exitFailure, []string{"no readable"}, 0},
		{"matching events without a timestamp", []string{"eql", "any where true", writeTemp(t, "x.ndjson", `{"event":{"code":"1"}}`)}, exitOK,
			[]string{"1 matching event without a usable @timestamp skipped"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runWeftInput(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d: %s", code, tt.code, errOut)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
			if n := len(jsonLines(t, out)); n != tt.lines {
				t.Errorf("%d result lines, want %d", n, tt.lines)
			}
		})
	}
}

func TestEQLFolders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.json"), []byte(authDocs), 0o644); err != nil {
		t.Fatal(err)
	}
	xml, _ := os.ReadFile(filepath.Join(fixtures, "mmc-positive.xml"))
	if err := os.WriteFile(filepath.Join(dir, "b.xml"), xml, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runWeftInput(t, "", "eql", "any where true", dir)
	if code != 0 || !strings.Contains(errOut, "2 files, 12 events, 12 results, 0 errors") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}
