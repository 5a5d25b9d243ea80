package eql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// stringMatcher tests one string against one compiled pattern.
type stringMatcher interface {
	matchString(s string) bool
}

// wildcard is a ':' / like / like~ pattern: '*' matches any run of
// characters and '?' exactly one. There is no escape character: in rules
// such as file.path : "C:\\Users\\*" the backslash is a literal path
// separator, which is how Elasticsearch reads these patterns too.
type wildcard struct {
	pattern string
	fold    bool
	literal bool // no wildcard characters: plain equality
}

func newWildcard(p string, fold bool) *wildcard {
	return &wildcard{pattern: p, fold: fold, literal: !strings.ContainsAny(p, "*?")}
}

func (w *wildcard) matchString(s string) bool {
	if w.literal {
		if w.fold {
			return strings.EqualFold(s, w.pattern)
		}
		return s == w.pattern
	}
	return globMatch(w.pattern, s, w.fold)
}

// globMatch is the linear-time wildcard match with single-star
// backtracking, comparing characters (runes), optionally case-folded.
func globMatch(p, s string, fold bool) bool {
	px, sx := 0, 0
	nextPx, nextSx := 0, -1
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			c, pw := utf8.DecodeRuneInString(p[px:])
			switch c {
			case '*':
				nextPx = px
				_, sw := utf8.DecodeRuneInString(s[sx:])
				if sx >= len(s) {
					sw = 1
				}
				nextSx = sx + sw
				px += pw
				continue
			case '?':
				if sx < len(s) {
					_, sw := utf8.DecodeRuneInString(s[sx:])
					px += pw
					sx += sw
					continue
				}
			default:
				if sx < len(s) {
					r, sw := utf8.DecodeRuneInString(s[sx:])
					if r == c || (fold && equalFoldRune(r, c)) {
						px += pw
						sx += sw
						continue
					}
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px = nextPx
			sx = nextSx
			continue
		}
		return false
	}
	return true
}

// luceneRegexp is a regex / regex~ pattern. Elasticsearch runs these as
// Lucene regular expressions: anchored at both ends, '.' matching any
// character, '"..."' quoting a literal, '@' any string, '#' nothing, and no
// '^'/'$' anchors (they are literals). They are translated to Go's RE2.
type luceneRegexp struct {
	re *regexp.Regexp
}

func (r *luceneRegexp) matchString(s string) bool { return r.re.MatchString(s) }

func newLuceneRegexp(p string, fold bool) (*luceneRegexp, error) {
	body, err := translateLucene(p)
	if err != nil {
		return nil, err
	}
	flags := "s"
	if fold {
		flags = "is"
	}
	re, err := regexp.Compile("^(?" + flags + ":" + body + ")$")
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", p, err)
	}
	return &luceneRegexp{re: re}, nil
}

// translateLucene rewrites Lucene regular-expression syntax as RE2 syntax.
func translateLucene(p string) (string, error) {
	var b strings.Builder
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch c {
		case '\\':
			if i+1 >= len(rs) {
				return "", fmt.Errorf("regular expression %q ends with a lone backslash", p)
			}
			i++
			writeLuceneEscape(&b, rs[i], false)
		case '"':
			end := i + 1
			for end < len(rs) && rs[end] != '"' {
				end++
			}
			if end >= len(rs) {
				return "", fmt.Errorf("regular expression %q has an unterminated quoted string", p)
			}
			b.WriteString("(?:" + regexp.QuoteMeta(string(rs[i+1:end])) + ")")
			i = end
		case '@':
			b.WriteString("(?:.*)")
		case '#':
			b.WriteString(`[^\x00-\x{10FFFF}]`)
		case '&', '~':
			return "", fmt.Errorf("regular expression %q uses Lucene's %q operator, which is not supported", p, c)
		case '<':
			end := i + 1
			for end < len(rs) && rs[end] != '>' {
				end++
			}
			if end >= len(rs) {
				return "", fmt.Errorf("regular expression %q has an unterminated <n-m> interval", p)
			}
			alt, err := numericInterval(string(rs[i+1 : end]))
			if err != nil {
				return "", fmt.Errorf("regular expression %q: %w", p, err)
			}
			b.WriteString(alt)
			i = end
		case '[':
			end, err := translateClass(&b, rs, i)
			if err != nil {
				return "", fmt.Errorf("regular expression %q: %w", p, err)
			}
			i = end
		case '.', '?', '+', '*', '|', '(', ')', '{', '}':
			b.WriteRune(c)
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return b.String(), nil
}

func writeLuceneEscape(b *strings.Builder, c rune, inClass bool) {
	switch c {
	case 'd', 'D', 's', 'S', 'w', 'W':
		b.WriteString(`\` + string(c))
	default:
		if inClass {
			if c == ']' || c == '[' || c == '\\' || c == '-' || c == '^' {
				b.WriteString(`\` + string(c))
				return
			}
			b.WriteRune(c)
			return
		}
		b.WriteString(regexp.QuoteMeta(string(c)))
	}
}

// translateClass copies a [...] character class starting at rs[i] and
// returns the index of its closing bracket.
func translateClass(b *strings.Builder, rs []rune, i int) (int, error) {
	b.WriteByte('[')
	j := i + 1
	if j < len(rs) && rs[j] == '^' {
		b.WriteByte('^')
		j++
	}
	first := true
	for ; j < len(rs); j++ {
		c := rs[j]
		switch {
		case c == ']' && !first:
			b.WriteByte(']')
			return j, nil
		case c == '\\':
			if j+1 >= len(rs) {
				return 0, fmt.Errorf("unterminated character class")
			}
			j++
			writeLuceneEscape(b, rs[j], true)
		case c == '[' || c == ']':
			b.WriteString(`\` + string(c))
		default:
			b.WriteRune(c)
		}
		first = false
	}
	return 0, fmt.Errorf("unterminated character class")
}

// numericInterval turns Lucene's <n-m> into an alternation of the numbers.
func numericInterval(s string) (string, error) {
	lo, hi, ok := strings.Cut(s, "-")
	a, errA := strconv.Atoi(lo)
	z, errZ := strconv.Atoi(hi)
	if !ok || errA != nil || errZ != nil || a > z {
		return "", fmt.Errorf("invalid numeric interval <%s>", s)
	}
	if z-a > 1000 {
		return "", fmt.Errorf("numeric interval <%s> is too wide", s)
	}
	parts := make([]string, 0, z-a+1)
	for n := a; n <= z; n++ {
		parts = append(parts, strconv.Itoa(n))
	}
	return "(?:" + strings.Join(parts, "|") + ")", nil
}
