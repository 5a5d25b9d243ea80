package eql

import "testing"

// TestFoldMatch: the byte-wise matcher agrees with globMatch on every
// pattern shape it takes, ASCII or not.
func TestFoldMatch(t *testing.T) {
	t.Parallel()
	patterns := []string{"cmd.exe", "*\\cmd.exe", "c:\\windows\\*", "*-enc*", "*K*", "*s*", "*a", "a*", "abc",
		"c:\\*\\cmd.exe", "*a*b*", "* –enc *", "*—a*", "a*b", "*ab*ab*", "a**b", "*b*a", "ab*ba"}
	values := []string{"", "cmd.exe", "CMD.EXE", "C:\\Windows\\System32\\cmd.exe", "powershell -EncodedCommand",
		"x-ENC", "\u212A", "\u017F", "k", "S", "a", "A", "ba", "bab", "ab", "abc", "ABC", "abcd", "é-enc", "-en", "aab", "abab", "ababab", "aba", "ba", "bba", "C:\\x\\CMD.exe", "C:\\cmd.exe", "abba", "aba", "Ké-enc", "x\u212Ay", "\u017Fa", "é", "aéb", "a\xffb", "ps –enc x", "ps –ENC x", "ps -enc x", "—A", "—ab", "–"}
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
	for _, p := range []string{"a?b", "?a", "*", "é*", "**", "", "*Ä*"} {
		if newFoldMatch(p) != nil {
			t.Errorf("%q: fold matcher for a shape it does not take", p)
		}
	}
}
