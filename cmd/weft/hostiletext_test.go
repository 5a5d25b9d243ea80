package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestHuntInvalidText hunts the positive file with the child's command
// line made hostile (testdata/xml/hostile/invalid-text.xml): a byte that is
// not UTF-8, &#0;, a raw CR LF and U+202E. The seed alert still fires, the
// command line keeps its CR, the damage is reported with the file and
// line, and the table shows U+202E by its code point.
func TestHuntInvalidText(t *testing.T) {
	t.Parallel()
	file := filepath.Join(fixtures, "hostile", "invalid-text.xml")
	const wantCmd = "\"C:\\Windows\\System32\\cmd.exe\" /c whoami /all > C:\\Users\\Public\\o\uFFFD.txt\uFFFD\r\necho \u202etxt.exe"

	code, out, errOut := runWeft(t, testContext(t), nil, "hunt", "--json", file)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	alerts := decodeAlerts(t, out)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1 (stderr:\n%s)", len(alerts), errOut)
	}
	events, _ := field(alerts[0], "weft.events").([]any)
	if len(events) != 2 {
		t.Fatalf("alert has %d events, want 2", len(events))
	}
	child, _ := events[1].(map[string]any)
	if got := field(child, "process.command_line"); got != wantCmd {
		t.Errorf("command line %q, want %q", got, wantCmd)
	}
	for _, want := range []string{"1 alert, 1 error", "invalid-text.xml:5", "replaced by U+FFFD: 2 character(s)", "the event is kept"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errOut)
		}
	}

	code, out, errOut = runWeft(t, testContext(t), nil, "hunt", file)
	if code != exitOK {
		t.Fatalf("table: exit %d, stderr:\n%s", code, errOut)
	}
	if strings.ContainsRune(out, '\u202e') || strings.ContainsRune(out, '\r') || !strings.Contains(out, "o\uFFFD.txt\uFFFD  echo [U+202E]txt.exe") {
		t.Errorf("table row:\n%q", out)
	}

	code, _, errOut = runWeft(t, testContext(t), nil, "hunt", "--json", "--strict", file)
	if code != exitStrict {
		t.Errorf("--strict: exit %d, want %d (damaged input); stderr:\n%s", code, exitStrict, errOut)
	}
}
