package eql

import "strings"

// foldMatch is a case-insensitive wildcard pattern of the common shapes —
// "lit", "lit*", "*lit" and "*lit*" with an ASCII lit and no other
// wildcard — tested with byte comparisons instead of globMatch's rune by
// rune folding: Sigma rules are thousands of such patterns (contains,
// startswith, endswith), most tried against every command line. A value
// with non-ASCII bytes goes to globMatch, whose Unicode folding (K and the
// Kelvin sign, s and the long s) byte comparisons would miss.
type foldMatch struct {
	lit               string // lower case
	prefix, suffix    bool   // lit* and *lit; both: *lit*
	glob              *wildcard
	first, firstUpper byte
}

// newFoldMatch returns a foldMatch for p, or nil when p has another shape.
func newFoldMatch(p string) *foldMatch {
	lit := p
	m := &foldMatch{glob: newWildcard(p, true)}
	if strings.HasPrefix(lit, "*") {
		m.suffix, lit = true, lit[1:]
	}
	if strings.HasSuffix(lit, "*") {
		m.prefix, lit = true, lit[:len(lit)-1]
	}
	if lit == "" || strings.ContainsAny(lit, "*?") || !isASCII(lit) {
		return nil
	}
	m.lit = strings.ToLower(lit)
	m.first, m.firstUpper = m.lit[0], upperASCII(m.lit[0])
	return m
}

func (m *foldMatch) matchString(s string) bool {
	if !isASCII(s) {
		return m.glob.matchString(s)
	}
	n := len(m.lit)
	switch {
	case m.prefix && m.suffix:
		for i := 0; i+n <= len(s); i++ {
			if c := s[i]; (c == m.first || c == m.firstUpper) && equalFoldASCII(s[i:i+n], m.lit) {
				return true
			}
		}
		return false
	case m.prefix:
		return len(s) >= n && equalFoldASCII(s[:n], m.lit)
	case m.suffix:
		return len(s) >= n && equalFoldASCII(s[len(s)-n:], m.lit)
	}
	return len(s) == n && equalFoldASCII(s, m.lit)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
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
