package normalizer

import (
	"strings"
	"testing"
)

func TestAppendLower(t *testing.T) {
	t.Parallel()
	var all strings.Builder
	for c := range 256 {
		all.WriteByte(byte(c))
	}
	for _, s := range []string{"", "A", "ABCDEFGH", "@[`{AZaz09", "0123456789ABCDEFabcdef-{}", all.String(), all.String()[3:], "Ünïcödé ÀÉ"} {
		want := make([]byte, 0, len(s))
		for i := 0; i < len(s); i++ {
			c := s[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			want = append(want, c)
		}
		if got := appendLower([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("appendLower(%q) = %q, want %q", s, got[1:], want)
		}
	}
}

// TestTextForms: a text's String, len and appendTo agree, and canonicalText
// gives the forms it should.
func TestTextForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		form form
		want string
	}{
		{"365ABB72-B17F-5CC8-0000-001082A51E00", guidForm, "{365abb72-b17f-5cc8-0000-001082a51e00}"},
		{"{365ABB72-B17F-5CC8-0000-001082A51E00}", guidForm, "{365abb72-b17f-5cc8-0000-001082a51e00}"},
		// Bare with a lower-case digit: a string insertion, kept.
		{"365abb72-b17f-5cc8-0000-001082a51e00", asIs, "365abb72-b17f-5cc8-0000-001082a51e00"},
		{"00000000-0000-0000-0000-000000000000", guidForm, "{00000000-0000-0000-0000-000000000000}"},
		{"{365abb72-b17f-5cc8-0000-001082a51e00}", asIs, "{365abb72-b17f-5cc8-0000-001082a51e00}"},
		{"0x000003E7", hexForm, "0x3e7"},
		{"0x0000", hexForm, "0x0"},
		{"0x0", asIs, "0x0"},
		{"0x3e7", asIs, "0x3e7"},
		{"0xAZ", asIs, "0xAZ"},
		{"cmd.exe", asIs, "cmd.exe"},
	}
	for _, tt := range tests {
		got := canonicalText(tt.in)
		if got.form != tt.form || got.String() != tt.want {
			t.Errorf("canonicalText(%q) = %q (form %d), want %q (form %d)", tt.in, got.String(), got.form, tt.want, tt.form)
		}
	}
	for _, tx := range []text{
		{s: "ABCdef0123456789ABCDEF", form: lowerForm},
		{s: "abc", form: lowerForm},
		{s: "0x00000000000000FF", form: hexForm},
		{s: "00000000-0000-0000-0000-000000000000", form: guidForm},
		plain("Ünïcödé"),
	} {
		s := tx.String()
		if tx.len() != len(s) {
			t.Errorf("%+v: len %d, String %q", tx, tx.len(), s)
		}
		if got := string(tx.appendTo([]byte("x"))); got != "x"+s {
			t.Errorf("%+v: appendTo %q, String %q", tx, got, s)
		}
		if got := string(appendText(nil, tx)); got != string(appendString(nil, s)) {
			t.Errorf("%+v: appendText %q, want the msgpack of %q", tx, got, s)
		}
	}
}

func TestIsASCII(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"", true}, {"SHA1=AB", true}, {strings.Repeat("a", 17), true},
		{"é", false}, {strings.Repeat("a", 16) + "é", false}, {"\x80", false}, {strings.Repeat("\x7f", 9), true},
	} {
		if got := isASCII(tt.in); got != tt.want {
			t.Errorf("isASCII(%q) = %v", tt.in, got)
		}
	}
}
