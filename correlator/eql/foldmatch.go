package eql

import (
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// foldMatch is a case-insensitive wildcard pattern with '*' wildcards only
// and ASCII text, or characters without case ("lit", "lit*", "*lit*", "C:\\Users\\*\\AppData\\*"),
// tested with byte comparisons instead of globMatch's rune by rune
// folding: Sigma rules are thousands of such patterns (contains,
// startswith, endswith), most tried against every command line. With '*'
// the only wildcard, finding each middle part leftmost is exact, and an
// ASCII pattern never matches inside a multi-byte character. Only two
// characters fold onto ASCII letters (the Kelvin sign onto k, the long s
// onto s): a value holding one goes to globMatch.
type foldMatch struct {
	parts []string // lower case, split at '*': the first is a prefix, the last a suffix
	glob  *wildcard
}

// newFoldMatch returns a foldMatch for p, or nil when p has another shape.
func newFoldMatch(p string) *foldMatch {
	if p == "" || strings.ContainsRune(p, '?') || !caselessBeyondASCII(p) || strings.Trim(p, "*") == "" {
		return nil
	}
	// Only ASCII letters are lowered: strings.ToLower would also rewrite
	// characters that have no simple case fold, such as İ (U+0130) into
	// "i̇", which globMatch still matches only as themselves.
	return &foldMatch{parts: strings.Split(lowerASCII(p, nil), "*"), glob: newWildcard(p, true)}
}

func (m *foldMatch) matchString(s string) bool {
	if foldsToASCII(s) {
		return m.glob.matchString(s)
	}
	return m.matchASCIIFold(s)
}

// matchASCIIFold is matchString for a value without the characters
// foldsToASCII looks for.
func (m *foldMatch) matchASCIIFold(s string) bool {
	n := len(m.parts)
	first, last := m.parts[0], m.parts[n-1]
	if n == 1 {
		return len(s) == len(first) && equalFoldASCII(s, first)
	}
	if len(s) < len(first)+len(last) || !equalFoldASCII(s[:len(first)], first) || !equalFoldASCII(s[len(s)-len(last):], last) {
		return false
	}
	body := s[len(first) : len(s)-len(last)]
	for _, part := range m.parts[1 : n-1] {
		i := indexFoldASCII(body, part)
		if i < 0 {
			return false
		}
		body = body[i+len(part):]
	}
	return true
}

// matchLower is matchString for a value already lowered by lowerASCII,
// which holds neither of the characters foldsToASCII looks for: every
// comparison is then a plain byte comparison, and strings.Index finds the
// middle parts with the vectorised search instead of a byte-wise fold.
// Lowering ASCII letters only is what equalFoldASCII does per byte, so
// the two agree on every value.
func (m *foldMatch) matchLower(low string) bool {
	n := len(m.parts)
	first, last := m.parts[0], m.parts[n-1]
	if n == 1 {
		return low == first
	}
	if len(low) < len(first)+len(last) || !strings.HasPrefix(low, first) || !strings.HasSuffix(low, last) {
		return false
	}
	body := low[len(first) : len(low)-len(last)]
	for _, part := range m.parts[1 : n-1] {
		i := strings.Index(body, part)
		if i < 0 {
			return false
		}
		body = body[i+len(part):]
	}
	return true
}

// lowerASCII returns s with its ASCII letters in lower case and every
// other byte as it is, in buf when it is long enough. s itself is returned
// when it has no upper case ASCII letter. The result shares buf's memory
// (no copy per value): it is valid until buf is written again.
func lowerASCII(s string, buf []byte) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	if cap(buf) < len(s) {
		buf = make([]byte, len(s))
	}
	b := buf[:len(s)]
	copy(b, s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return unsafe.String(&b[0], len(b))
}

// foldLower is lowerASCII for a value that may hold the Kelvin sign or the
// long s: those are written as the ASCII letters they fold onto (k, s), so
// that a foldMatch's matchLower decides the result on every value. That is
// exact: a foldMatch pattern has '*' as its only wildcard, so the length
// each character takes does not matter, and its other characters are ASCII
// or have no other case, so nothing else folds onto them; their UTF-8
// sequences begin with a lead byte, so a byte match is a character match.
func foldLower(s string, buf []byte) string {
	if !foldsToASCII(s) {
		return lowerASCII(s, buf)
	}
	b := buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x84 && s[i+2] == 0xAA:
			c = 'k'
			i += 2
		case c == 0xC5 && i+1 < len(s) && s[i+1] == 0xBF:
			c = 's'
			i++
		}
		b = append(b, c)
	}
	return unsafe.String(&b[0], len(b))
}

// indexFoldASCII finds lower (lower case ASCII) in s, ignoring case.
func indexFoldASCII(s, lower string) int {
	if lower == "" {
		return 0
	}
	first, upper := lower[0], upperASCII(lower[0])
	for i := 0; i+len(lower) <= len(s); i++ {
		if c := s[i]; (c == first || c == upper) && equalFoldASCII(s[i:i+len(lower)], lower) {
			return i
		}
	}
	return -1
}

// foldsToASCII reports whether s holds the Kelvin sign (U+212A, E2 84 AA)
// or the long s (U+017F, C5 BF), the non-ASCII characters that fold onto
// ASCII letters.
func foldsToASCII(s string) bool {
	// Searched for with strings.IndexByte (vectorised): values are
	// mostly ASCII and this runs once per value matched.
	for t := s; ; {
		i := strings.IndexByte(t, 0xC5)
		if i < 0 || i+1 >= len(t) {
			break
		}
		if t[i+1] == 0xBF {
			return true
		}
		t = t[i+1:]
	}
	for t := s; ; {
		i := strings.IndexByte(t, 0xE2)
		if i < 0 || i+2 >= len(t) {
			return false
		}
		if t[i+1] == 0x84 && t[i+2] == 0xAA {
			return true
		}
		t = t[i+1:]
	}
}

// caselessBeyondASCII reports whether every non-ASCII character of p has no
// other case (the dashes windash writes, for one), so that comparing its
// bytes is comparing it ignoring case.
func caselessBeyondASCII(p string) bool {
	for _, r := range p {
		if r >= utf8.RuneSelf && (r == utf8.RuneError || unicode.SimpleFold(r) != r) {
			return false
		}
	}
	return true
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// equalFoldASCII compares s with lower, which is lower case ASCII.
func equalFoldASCII(s, lower string) bool {
	for i := 0; i < len(lower); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// newFoldWildcard is the matcher of a case-insensitive wildcard pattern.
func newFoldWildcard(p string) stringMatcher {
	if m := newFoldMatch(p); m != nil {
		return m
	}
	return newWildcard(p, true)
}
