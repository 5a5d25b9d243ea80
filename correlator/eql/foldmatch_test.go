package eql

import "testing"

// TestFoldMatch: the byte-wise matcher agrees with globMatch on every
// pattern shape it takes, ASCII or not.
func TestFoldMatch(t *testing.T) {
	t.Parallel()
	patterns := []string{"cmd.exe", "*\\cmd.exe", "c:\\windows\\*", "*-enc*", "*K*", "*s*", "*a", "a*", "abc"}
	values := []string{"", "cmd.exe", "CMD.EXE", "C:\\Windows\\System32\\cmd.exe", "powershell -EncodedCommand",
		"x-ENC", "\u212A", "\u017F", "k", "S", "a", "A", "ba", "bab", "ab", "abc", "ABC", "abcd", "é-enc", "-en"}
	for _, p := range patterns {
		m := newFoldMatch(p)
		if m == nil {
			t.Fatalf("%q: no fold matcher", p)
		}
		for _, v := range values {
			if got, want := m.matchString(v), globMatch(p, v, true); got != want {
				t.Errorf("%q against %q: %v, globMatch says %v", p, v, got, want)
			}
		}
	}
	for _, p := range []string{"a*b", "?a", "*", "é*", "**"} {
		if newFoldMatch(p) != nil {
			t.Errorf("%q: fold matcher for a shape it does not take", p)
		}
	}
}
