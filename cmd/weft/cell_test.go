package main

import (
	"fmt"
	"testing"
)

// Event text in hunt's table stays on its row and reads in the order it
// was written: C0 controls become spaces, C1 and bidi controls and the
// line separators their code points, invalid UTF-8 U+FFFD.
func TestCell(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "-"},
		{"cmd.exe /c whoami", "cmd.exe /c whoami"},
		{"a\tb\nc\r\x1b[2J\x7f", "a b c  [2J "},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"Jürgen 🙂", "Jürgen 🙂"},
	}
	for _, r := range []rune{0x80, 0x85, 0x9b, 0x9f, 0x061c, 0x200e, 0x200f, 0x202a, 0x202e, 0x2066, 0x2069, 0x2028, 0x2029} {
		tests = append(tests, struct{ in, want string }{"invoice" + string(r) + "fdp.exe", fmt.Sprintf("invoice[U+%04X]fdp.exe", r)})
	}
	for _, tt := range tests {
		if got := cell(tt.in); got != tt.want {
			t.Errorf("cell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
