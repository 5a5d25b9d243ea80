package sinks_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks"
)

func TestCut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"short", 100, "short"},
		{strings.Repeat("a", 100), 100, strings.Repeat("a", 100)},
		// The marker is sized for the whole text, so the cut may leave a byte
		// spare.
		{strings.Repeat("a", 101), 100, strings.Repeat("a", 82) + "…[cut 19 bytes]"},
		{strings.Repeat("a", 4500), 1024, strings.Repeat("a", 1004) + "…[cut 3,496 bytes]"},
		{strings.Repeat("a", 1<<20), 1024, strings.Repeat("a", 1000) + "…[cut 1,047,576 bytes]"},
		// Never half a rune.
		{strings.Repeat("é", 60), 50, strings.Repeat("é", 16) + "…[cut 88 bytes]"},
		// Below MinCutLimit the limit is MinCutLimit.
		{strings.Repeat("a", 40), 5, strings.Repeat("a", 15) + "…[cut 25 bytes]"},
	}
	for _, tt := range tests {
		got := sinks.Cut(tt.in, tt.limit)
		if got != tt.want {
			t.Errorf("Cut(%d bytes, %d) = %q, want %q", len(tt.in), tt.limit, got, tt.want)
		}
		if len(got) > max(tt.limit, sinks.MinCutLimit) || !utf8.ValidString(got) {
			t.Errorf("Cut(%d bytes, %d) is %d bytes, valid UTF-8 %v", len(tt.in), tt.limit, len(got), utf8.ValidString(got))
		}
	}
}

func TestReductions(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 5000)
	a := &event.Alert{
		Message: long,
		Event:   event.AlertEvent{ID: "id1", Kind: "alert"},
		Rule:    event.Rule{ID: "r1", Name: "rule", Note: "guide", Description: "d", Reference: []string{long}},
		Threat:  []event.Threat{{Framework: "MITRE ATT&CK", Tactic: event.ThreatRef{ID: "TA1"}}},
		Host:    event.Host{Name: long, ID: "h1"},
		Weft:    event.AlertWeft{JoinKeys: []any{long, 7.0}, Events: []event.Document{{"a": long}}},
	}
	var forms []sinks.Reduced
	for r := range sinks.Reductions(a) {
		forms = append(forms, r)
	}
	if forms[0].Alert != a || len(forms[0].Omitted)+len(forms[0].Truncated) != 0 {
		t.Fatalf("first form is not the alert itself: %+v", forms[0])
	}
	if got := strings.Join(forms[1].Omitted, " "); got != "rule.note" || forms[1].Alert.Rule.Note != "" {
		t.Errorf("second form omits %q", got)
	}
	if got := strings.Join(forms[2].Omitted, " "); got != "rule.note weft.events" || forms[2].Alert.Weft.Events != nil {
		t.Errorf("third form omits %q", got)
	}
	cut := forms[3]
	if cut.Limit != 4096 || strings.Join(cut.Truncated, " ") != "message rule.reference host.name weft.join_keys" {
		t.Errorf("first cut: limit %d, truncated %q", cut.Limit, cut.Truncated)
	}
	if len(cut.Alert.Message) > 4096 || !strings.HasSuffix(cut.Alert.Message, "…[cut 924 bytes]") || cut.Alert.Weft.JoinKeys[1] != 7.0 {
		t.Errorf("cut message ends %q, join keys %v", cut.Alert.Message[len(cut.Alert.Message)-20:], cut.Alert.Weft.JoinKeys[1])
	}
	last := forms[len(forms)-1]
	if last.Fields != sinks.IDFields || last.Alert.Event.ID != "id1" || last.Alert.Rule.ID != "r1" || last.Alert.Message != "" || len(last.Alert.Host.Name) > sinks.MinCutLimit {
		t.Errorf("last form %+v", last)
	}
	prev := 1 << 30
	for i, r := range forms[3:] {
		if r.Fields != sinks.AllFields {
			break
		}
		if r.Limit > prev {
			t.Errorf("form %d: limit %d after %d", i+3, r.Limit, prev)
		}
		prev = r.Limit
	}
	// The alert itself is unchanged.
	if a.Message != long || a.Rule.Note != "guide" || a.Rule.Reference[0] != long || a.Weft.JoinKeys[0] != long || len(a.Weft.Events) != 1 || a.Host.Name != long {
		t.Error("Reductions changed the alert")
	}
}

func TestInvisible(t *testing.T) {
	t.Parallel()
	for _, r := range []rune{0x80, 0x85, 0x9b, 0x9f, 0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x2028, 0x2029} {
		if !event.Invisible(r) {
			t.Errorf("%U is not Invisible", r)
		}
	}
	for _, r := range []rune{'a', 0x7f, 0xa0, 0xe9, 0x200b, 0x2024, 0x2030, 0x2065, 0x206a, 0xfffd} {
		if event.Invisible(r) {
			t.Errorf("%U is Invisible", r)
		}
	}
	if got := sinks.ShowInvisible(0x202e); got != "[U+202E]" {
		t.Errorf("ShowInvisible = %q", got)
	}
}
