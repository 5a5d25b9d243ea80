package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestLogWriter: logs are for people on a terminal (auto), JSON elsewhere,
// and colour codes reach only a terminal, never a file, nor a terminal
// when NO_COLOR is set.
func TestLogWriter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format            string
		terminal, noColor bool
		json, colour      bool
	}{
		{"auto", true, false, false, true},
		{"auto", true, true, false, false},
		{"auto", false, false, true, false},
		{"json", true, false, true, false},
		{"json", false, false, true, false},
		{"console", false, false, false, false},
		{"console", true, false, false, true},
		{"console", true, true, false, false},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		w, err := logWriter(tt.format, &buf, tt.terminal, tt.noColor)
		if err != nil {
			t.Fatalf("%+v: %v", tt, err)
		}
		l := zerolog.New(w)
		l.Warn().Str("file", "a.evtx").Msg("skipped input")
		out := buf.String()
		if got := strings.HasPrefix(out, "{"); got != tt.json {
			t.Errorf("%+v: JSON %v, want %v: %q", tt, got, tt.json, out)
		}
		if got := strings.Contains(out, "\x1b["); got != tt.colour {
			t.Errorf("%+v: colour codes %v, want %v: %q", tt, got, tt.colour, out)
		}
		if !tt.json && (!strings.Contains(out, "WRN") || !strings.Contains(out, "skipped input") || !strings.Contains(out, "a.evtx")) {
			t.Errorf("%+v: not a readable line: %q", tt, out)
		}
	}
	if _, err := logWriter("yaml", nil, true, false); err == nil || !strings.Contains(err.Error(), "want auto, json or console") {
		t.Errorf("--log-format yaml: %v", err)
	}
}

// TestLogFormatToFile: weft writing its log into a file (not a terminal)
// writes JSON by default and, with --log-format console, readable lines
// without a colour code.
func TestLogFormatToFile(t *testing.T) {
	t.Parallel()
	malformed := filepath.Join(fixtures, "malformed.xml")
	for _, tc := range []struct {
		args []string
		json bool
	}{
		{nil, true},
		{[]string{"--log-format", "console"}, false},
	} {
		f, err := os.Create(filepath.Join(t.TempDir(), "weft.log"))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: f, getenv: func(string) string { return "" }}
		code := a.execute(testContext(t), append(tc.args, "hunt", "--json", malformed))
		f.Close()
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		log := string(b)
		if code != exitOK || bytes.Contains(b, []byte("\x1b")) || strings.HasPrefix(log, "{") != tc.json || !strings.Contains(log, "malformed.xml") {
			t.Errorf("%v: exit %d, log:\n%s", tc.args, code, log)
		}
	}
}

// TestHuntLogsForPeople: the summary says how to see the normalization
// problems it counts, and a rule file standing in for the built-in rule
// (Elastic's own copy, in every hunt with Elastic's folder) is logged only
// at debug level.
func TestHuntLogsForPeople(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The network event's port is no number: a normalization problem.
	bad := strings.Replace(string(src), `<Data Name="DestinationPort">50112</Data>`, `<Data Name="DestinationPort">port</Data>`, 1)
	if bad == string(src) {
		t.Fatal("fixture changed: no DestinationPort 50112")
	}
	input := filepath.Join(dir, "problem.xml")
	writeTree(t, input, bad)
	seed, err := os.ReadFile(filepath.Join("..", "..", "correlator", "rules", "incoming_dcom_lateral_movement_with_mmc.toml"))
	if err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(dir, "rules", "mmc.toml")
	writeTree(t, rules, string(seed))
	for _, level := range []string{"info", "debug"} {
		code, _, errOut := runWeft(t, testContext(t), nil, "--log-level", level, "hunt", "--json", "--rules", filepath.Dir(rules), input)
		if code != exitOK {
			t.Fatalf("exit %d:\n%s", code, errOut)
		}
		if !strings.Contains(errOut, "1 event with normalization problems: --log-level debug logs each, weft normalize shows them in error.message") {
			t.Errorf("--log-level %s: the summary does not say how to see the problem:\n%s", level, errOut)
		}
		if got := strings.Contains(errOut, "rule file replaces the built-in rule"); got != (level == "debug") {
			t.Errorf("--log-level %s: replacement logged %v:\n%s", level, got, errOut)
		}
		if got := strings.Contains(errOut, `"port\" is not a number`); got != (level == "debug") {
			t.Errorf("--log-level %s: the problem logged %v:\n%s", level, got, errOut)
		}
	}
}
