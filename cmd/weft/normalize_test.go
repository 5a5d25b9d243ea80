package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const winlogbeatFixtures = "../../normalizer/testdata/winlogbeat"

// normalizeWeft runs weft normalize with stdin and returns the exit code,
// the documents printed and stderr.
func normalizeWeft(t *testing.T, stdin string, args ...string) (int, []map[string]any, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := a.execute(testContext(t), append([]string{"--log-level", "warn", "normalize"}, args...))
	var docs []map[string]any
	dec := json.NewDecoder(&stdout)
	dec.UseNumber()
	for dec.More() {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("stdout is not JSON lines: %v", err)
		}
		docs = append(docs, d)
	}
	return code, docs, stderr.String()
}

func byRecord(t *testing.T, docs []map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, d := range docs {
		rec, _ := field(d, "winlog.record_id").(string)
		out[rec] = d
	}
	return out
}

// TestNormalizeMMCFixture: the documents of the positive MMC fixture carry
// every field the seed rule reads, with the values Elastic's pipeline
// gives. The expectations are read off the pipeline: process.name is the
// last part of Image, network.direction is "ingress" for Initiated false,
// network.transport is Protocol, the ports are longs, the entity ids are the
// GUIDs as Windows renders them, and host.id is the version 5 UUID of the
// lower-cased Computer in weft's namespace (computed with Python's uuid
// module: uuid5(uuid5(NAMESPACE_URL, "https://github.com/weft-dev/weft/host.id"),
// "wks-fin-07.corp.example")).
func TestNormalizeMMCFixture(t *testing.T) {
	t.Parallel()
	code, docs, errOut := normalizeWeft(t, "", filepath.Join(fixtures, "mmc-positive.xml"))
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if len(docs) != 7 {
		t.Fatalf("%d documents, want 7", len(docs))
	}
	const hostID = "49400340-1775-5463-a00b-26f4c0e7c312"
	mmcGUID := "{3f1c9a52-6b2e-6739-e802-000000001a00}"
	num := func(s string) json.Number { return json.Number(s) }
	want := map[string]map[string]any{
		"48214": { // the incoming connection to mmc.exe
			"host.id":           hostID,
			"host.os.type":      "windows",
			"event.type":        []any{"start", "connection", "protocol"},
			"process.name":      "mmc.exe",
			"source.port":       num("49703"),
			"destination.port":  num("50112"),
			"source.ip":         "10.20.30.41",
			"network.direction": "ingress",
			"network.transport": "tcp",
			"process.entity_id": mmcGUID,
		},
		"48215": { // cmd.exe started by that mmc.exe
			"host.id":                  hostID,
			"host.os.type":             "windows",
			"event.type":               []any{"start"},
			"process.name":             "cmd.exe",
			"process.parent.name":      "mmc.exe",
			"process.entity_id":        "{3f1c9a52-6b38-6739-ec02-000000001a00}",
			"process.parent.entity_id": mmcGUID,
		},
	}
	docsByRecord := byRecord(t, docs)
	for rec, fields := range want {
		d, ok := docsByRecord[rec]
		if !ok {
			t.Errorf("no document for record %s", rec)
			continue
		}
		for path, v := range fields {
			if got := field(d, path); !reflect.DeepEqual(got, v) {
				t.Errorf("record %s: %s = %#v, want %#v", rec, path, got, v)
			}
		}
	}
	for rec, d := range docsByRecord {
		if field(d, "host.id") != hostID || field(d, "host.os.type") != "windows" || field(d, "error") != nil {
			t.Errorf("record %s: host %v %v, error %v", rec, field(d, "host.id"), field(d, "host.os.type"), field(d, "error"))
		}
	}
}

// TestNormalizeInputs: EVTX's sibling formats and standard input give the
// same documents as the XML file.
func TestNormalizeInputs(t *testing.T) {
	t.Parallel()
	xmlPath := filepath.Join(fixtures, "mmc-positive.xml")
	jsonPath := filepath.Join(winlogbeatFixtures, "mmc-positive.ndjson")
	_, want, _ := normalizeWeft(t, "", xmlPath)
	xmlText, err := os.ReadFile(xmlPath)
	if err != nil {
		t.Fatal(err)
	}
	jsonText, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{"winlogbeat file", "", []string{jsonPath}},
		{"winlogbeat glob", "", []string{filepath.Join(winlogbeatFixtures, "*.ndjson")}},
		{"xml on stdin", string(xmlText), nil},
		{"winlogbeat on stdin", "\n  " + string(jsonText), []string{"-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, got, errOut := normalizeWeft(t, tc.stdin, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("documents differ from the XML file's:\n%v\nwant\n%v", got, want)
			}
		})
	}
}

func TestNormalizeBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lines, err := os.ReadFile(filepath.Join(winlogbeatFixtures, "mmc-positive.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	good := strings.SplitN(string(lines), "\n", 2)[0]
	bad := filepath.Join(dir, "bad.ndjson")
	body := good + "\n{not json\n{\"message\":\"no winlog\"}\n\n" + good + "\n"
	if err := os.WriteFile(bad, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		docs   int
		stderr []string
	}{
		{"bad lines are skipped", []string{bad}, exitOK, 2, []string{bad + ":2", bad + ":3", "no winlog object", "2 errors"}},
		{"strict", []string{"--strict", bad}, exitStrict, 2, []string{"--strict"}},
		{"missing file", []string{filepath.Join(dir, "nope.evtx")}, exitFailure, 0, []string{"no readable"}},
		{"bad and good", []string{filepath.Join(dir, "nope.evtx"), bad}, exitOK, 2, []string{"3 errors"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, docs, errOut := normalizeWeft(t, "", tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut)
			}
			if len(docs) != tc.docs {
				t.Errorf("%d documents, want %d", len(docs), tc.docs)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr does not say %q:\n%s", s, errOut)
				}
			}
		})
	}
}

// TestNormalizeStopsWithContext: a cancelled run ends with the context's
// error rather than reading on.
func TestNormalizeStopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	a := &app{stdin: strings.NewReader(`{"winlog":{}}`), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := a.execute(ctx, []string{"normalize"}); code == exitOK {
		t.Errorf("exit %d after cancellation; stderr:\n%s", code, stderr.String())
	}
}
