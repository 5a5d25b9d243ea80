package collector

import (
	"errors"
	"strings"
	"testing"
)

// Text XML does not allow no longer costs the event: it becomes U+FFFD,
// the event is kept and the problem reported with its line. Carriage
// returns in text survive, as in EVTX.
func TestReadXMLInvalidText(t *testing.T) {
	t.Parallel()
	data := func(v string) string { return `<Data Name="CommandLine">` + v + `</Data>` }
	tests := []struct {
		name     string
		value    string // the CommandLine element's content, raw
		want     string // CommandLine as read
		wantLine int    // line of the report; 0: no report
	}{
		{"invalid UTF-8 byte", "cmd.exe /c \xff whoami", "cmd.exe /c \uFFFD whoami", 2},
		{"truncated sequence", "cmd \xe2\x80 x", "cmd \uFFFD\uFFFD x", 2},
		{"overlong encoding", "cmd \xc0\xaf x", "cmd \uFFFD\uFFFD x", 2},
		{"encoded surrogate", "cmd \xed\xa0\x80 x", "cmd \uFFFD\uFFFD\uFFFD x", 2},
		{"NUL reference", "cmd.exe&#0;/c whoami", "cmd.exe\uFFFD/c whoami", 2},
		{"hex NUL reference", "cmd.exe&#x0;/c", "cmd.exe\uFFFD/c", 2},
		{"ESC reference", "a&#x1B;[2Jb", "a\uFFFD[2Jb", 2},
		{"reference out of range", "a&#99999999999;b", "a\uFFFDb", 2},
		{"reference with many leading zeros", "a&#" + strings.Repeat("0", 200) + "65;b", "aAb", 0},
		{"zeros only", "a&#" + strings.Repeat("0", 200) + ";b", "a\uFFFDb", 2},
		{"raw control character", "a\x01b\x1bc", "a\uFFFDb\uFFFDc", 2},
		{"U+FFFF", "a\uffffb", "a\uFFFDb", 2},
		{"on a later line", "a\nb\n\xffc", "a\nb\n\uFFFDc", 4},
		{"valid text", "Jürgen 🙂 &#x1F642; &#233; &amp;", "Jürgen 🙂 🙂 é &", 0},
		{"CR LF kept", "a\r\nb", "a\r\nb", 0},
		{"lone CR kept", "a\rb", "a\rb", 0},
		{"CR reference kept", "a&#13;&#10;b", "a\r\nb", 0},
		{"CDATA left alone", "<![CDATA[a&#0;b\r\n]]>", "a&#0;b\n", 0},
		{"comment left alone", "a<!-- &#0; \r\n don't -->b\r\n", "ab\r\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			input := ev(1, "") + "\n" + ev(2, data(tt.value)) + "\n" + ev(3, "")
			res := readXMLString(t, input, Options{})
			if res.err != nil {
				t.Fatal(res.err)
			}
			if len(res.events) != 3 {
				t.Fatalf("%d events, want 3 (%s)", len(res.events), res.errorText())
			}
			if got, _ := res.events[1].Get("CommandLine"); got != tt.want {
				t.Errorf("CommandLine = %q, want %q", got, tt.want)
			}
			if tt.wantLine == 0 {
				if len(res.errs) > 0 {
					t.Errorf("reported %s", res.errorText())
				}
				return
			}
			if len(res.errs) != 1 || res.stats.Errors != 1 {
				t.Fatalf("%d reports, %d counted, want 1: %s", len(res.errs), res.stats.Errors, res.errorText())
			}
			e := res.errs[0]
			if !errors.Is(e, ErrInvalidText) || e.Line != tt.wantLine || e.Path != "test.xml" || !strings.Contains(e.Error(), "event at line 2") || !strings.Contains(e.Error(), "the event is kept") {
				t.Errorf("report %q (line %d), want ErrInvalidText at line %d", e, e.Line, tt.wantLine)
			}
		})
	}
}

// Replacements outside the event they were in are not reported with the
// next one; a UTF-16 file gets the same treatment.
func TestReadXMLInvalidTextPlaces(t *testing.T) {
	t.Parallel()
	data := `<Data Name="CommandLine">a&#0;b</Data>`
	t.Run("utf-16", func(t *testing.T) {
		t.Parallel()
		res := readXMLString(t, utf16LE(ev(1, data)+"\r\n"+ev(2, ""), true), Options{})
		if len(res.events) != 2 || len(res.errs) != 1 || !errors.Is(res.errs[0], ErrInvalidText) {
			t.Fatalf("%d events, reports: %s", len(res.events), res.errorText())
		}
		if got, _ := res.events[0].Get("CommandLine"); got != "a\uFFFDb" {
			t.Errorf("CommandLine = %q", got)
		}
	})
	t.Run("in a lost event", func(t *testing.T) {
		t.Parallel()
		bad := strings.Replace(ev(1, data), "</Data>", "</Datum>", 1)
		res := readXMLString(t, bad+"\n"+ev(2, ""), Options{})
		if len(res.events) != 1 || len(res.errs) != 1 || errors.Is(res.errs[0], ErrInvalidText) {
			t.Fatalf("%d events, reports: %s", len(res.events), res.errorText())
		}
	})
	t.Run("between events", func(t *testing.T) {
		t.Parallel()
		// Reported as what it is, text outside any event, and not again
		// with the event.
		res := readXMLString(t, "<Events>\xff"+ev(1, "")+"</Events>", Options{})
		if len(res.events) != 1 || len(res.errs) != 1 || errors.Is(res.errs[0], ErrInvalidText) || !strings.Contains(res.errs[0].Error(), "text outside any <Event>") {
			t.Fatalf("%d events, reports: %s", len(res.events), res.errorText())
		}
	})
}

// The same event read from its EVTX record and from its rendered XML has
// the same command line, carriage returns included, whether the XML
// writes them as &#xD; (as weft and Windows' renderer do) or raw.
func TestCommandLineSameFromEVTXAndXML(t *testing.T) {
	t.Parallel()
	cmd := "cmd.exe /c \"echo a\r\necho b\"\r\n"
	file := buildEVTX(buildChunk([]testRecord{{id: 1, data: [][2]string{{"CommandLine", cmd}}}}))
	fromEVTX := readEVTXBytes(t, file, Options{KeepXML: true})
	if len(fromEVTX.events) != 1 || len(fromEVTX.errs) > 0 {
		t.Fatalf("EVTX: %d events, %s", len(fromEVTX.events), fromEVTX.errorText())
	}
	if got, _ := fromEVTX.events[0].Get("CommandLine"); got != cmd {
		t.Fatalf("EVTX CommandLine = %q, want %q", got, cmd)
	}
	rendered := fromEVTX.events[0].XML
	if !strings.Contains(rendered, "&#xD;") {
		t.Fatalf("rendered XML writes CR otherwise: %s", rendered)
	}
	for name, xml := range map[string]string{
		"as rendered":       rendered,
		"raw CR":            strings.ReplaceAll(rendered, "&#xD;", "\r"),
		"decimal":           strings.ReplaceAll(rendered, "&#xD;", "&#13;"),
		"CRLF file, UTF-16": utf16LE(strings.ReplaceAll(rendered, "&#xD;", "\r")+"\r\n", true),
	} {
		res := readXMLString(t, xml, Options{})
		if len(res.events) != 1 || len(res.errs) > 0 {
			t.Fatalf("%s: %d events, %s", name, len(res.events), res.errorText())
		}
		if got, _ := res.events[0].Get("CommandLine"); got != cmd {
			t.Errorf("%s: XML CommandLine = %q, EVTX %q", name, got, cmd)
		}
	}
}
