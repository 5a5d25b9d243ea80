package eql

import (
	"math/rand/v2"
	"strings"
	"testing"
)

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

// foldAlphabet is what the differential tests build patterns and values
// from: ASCII letters of both cases and the separators rules use, the
// Kelvin sign and long s (which fold onto k and s), letters with another
// case (é É ß ẞ İ ı), caseless dashes, and a byte that is not UTF-8.
var foldAlphabet = []string{"a", "A", "b", "B", "k", "K", "s", "S", "\\", ".", "-", " ", "*", "*", "?",
	"\u212A", "\u017F", "é", "É", "ß", "ẞ", "İ", "ı", "–", "—", "―", "\xff", "1"}

// checkFoldAgrees compares, for one pattern and value, the matcher
// newFoldWildcard chose and fieldMatch's lowered path with globMatch.
func checkFoldAgrees(t *testing.T, p, v string) {
	t.Helper()
	want := globMatch(p, v, true)
	if got := newFoldWildcard(p).matchString(v); got != want {
		t.Fatalf("pattern %q against %q: %v, globMatch says %v", p, v, got, want)
	}
	m := newFoldMatch(p)
	if m == nil {
		return
	}
	var buf [4]byte // short, so that long values take the allocating path too
	if got := m.matchLower(foldLower(v, buf[:])); got != want {
		t.Fatalf("pattern %q against %q lowered and folded: %v, globMatch says %v", p, v, got, want)
	}
	if foldsToASCII(v) {
		return // the uncached fieldMatch gives these to globMatch
	}
	if got := m.matchLower(lowerASCII(v, buf[:])); got != want {
		t.Fatalf("pattern %q against lowered %q: %v, globMatch says %v", p, v, got, want)
	}
	if got := m.matchASCIIFold(v); got != want {
		t.Fatalf("pattern %q against %q folded byte-wise: %v, globMatch says %v", p, v, got, want)
	}
}

// TestFoldMatchRandom: on random patterns and values over foldAlphabet,
// every fast path agrees with globMatch.
func TestFoldMatchRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		var b strings.Builder
		for range rng.IntN(n) {
			b.WriteString(foldAlphabet[rng.IntN(len(foldAlphabet))])
		}
		return b.String()
	}
	for range 200000 {
		p, v := word(6), word(10)
		if rng.IntN(2) == 0 {
			// Make the value likely to match: the pattern with its
			// wildcards filled, in another case.
			v = strings.ToUpper(strings.NewReplacer("*", word(3), "?", "x").Replace(p))
		}
		checkFoldAgrees(t, p, v)
	}
}

// FuzzFoldMatch compares the case-insensitive fast paths with globMatch.
func FuzzFoldMatch(f *testing.F) {
	for _, s := range [][2]string{{"*-enc*", "powershell -ENC x"}, {"*\\cmd.exe", "C:\\Windows\\CMD.EXE"}, {"*k*", "\u212A"},
		{"*s*", "x\u017Fy"}, {"* –enc *", "ps –ENC x"}, {"é*", "É"}, {"a*b*a", "ABBA"}, {"*ab*ab*", "xabab"}, {"–İ", "–İ"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, p, v string) {
		checkFoldAgrees(t, p, v)
	})
}
