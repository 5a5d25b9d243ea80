package eql

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokEscapedIdent // `backquoted`
	tokString
	tokInt
	tokFloat
	tokLParen
	tokRParen
	tokLBracket
	tokRBracket
	tokComma
	tokDot
	tokColon
	tokEq  // ==
	tokNeq // !=
	tokLt
	tokLte
	tokGt
	tokGte
	tokPlus
	tokMinus
	tokStar
	tokSlash
	tokPercent
	tokQuestion // ? marking an optional field
	tokBang     // a lone '!', which EQL gives no meaning
	tokMissing  // ![ opening a missing-event stage
	tokPipe
	tokAssign // = (only in "with maxspan=" and "with runs=")
)

var tokenNames = [...]string{
	tokEOF: "end of query", tokIdent: "identifier", tokEscapedIdent: "quoted field",
	tokString: "string", tokInt: "integer", tokFloat: "number", tokLParen: "'('",
	tokRParen: "')'", tokLBracket: "'['", tokRBracket: "']'", tokComma: "','",
	tokDot: "'.'", tokColon: "':'", tokEq: "'=='", tokNeq: "'!='", tokLt: "'<'",
	tokLte: "'<='", tokGt: "'>'", tokGte: "'>='", tokPlus: "'+'", tokMinus: "'-'",
	tokStar: "'*'", tokSlash: "'/'", tokPercent: "'%'", tokQuestion: "'?'",
	tokBang: "'!'", tokMissing: "'!['", tokPipe: "'|'", tokAssign: "'='",
}

func (k tokenKind) String() string { return tokenNames[k] }

// token is one lexeme. For identifiers, tilde records a '~' written right
// after the name (in~, like~, regex~, startsWith~).
type token struct {
	kind  tokenKind
	text  string // identifier name, decoded string, or number text
	tilde bool
	pos   int // byte offset in the query
	end   int
}

// lexer splits a query into tokens. It reads the whole query up front so the
// parser can look ahead freely.
type lexer struct {
	src  string
	off  int
	toks []token
}

func tokenize(src string) ([]token, error) {
	lx := &lexer{src: src}
	for {
		tok, err := lx.next()
		if err != nil {
			return nil, err
		}
		lx.toks = append(lx.toks, tok)
		if tok.kind == tokEOF {
			return lx.toks, nil
		}
	}
}

func (lx *lexer) errorf(off int, format string, args ...any) error {
	return newSyntaxError(lx.src, off, fmt.Sprintf(format, args...))
}

func (lx *lexer) skipSpaceAndComments() error {
	for lx.off < len(lx.src) {
		c := lx.src[lx.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			lx.off++
		case strings.HasPrefix(lx.src[lx.off:], "//"):
			i := strings.IndexByte(lx.src[lx.off:], '\n')
			if i < 0 {
				lx.off = len(lx.src)
			} else {
				lx.off += i + 1
			}
		case strings.HasPrefix(lx.src[lx.off:], "/*"):
			i := strings.Index(lx.src[lx.off+2:], "*/")
			if i < 0 {
				return lx.errorf(lx.off, "unterminated comment")
			}
			lx.off += i + 4
		default:
			r, size := utf8.DecodeRuneInString(lx.src[lx.off:])
			if !unicode.IsSpace(r) {
				return nil
			}
			lx.off += size
		}
	}
	return nil
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '@' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (lx *lexer) next() (token, error) {
	if err := lx.skipSpaceAndComments(); err != nil {
		return token{}, err
	}
	start := lx.off
	if start >= len(lx.src) {
		// The end of the query is reported right after its last token, not
		// after trailing blank lines.
		if n := len(lx.toks); n > 0 {
			start = lx.toks[n-1].end
		}
		return token{kind: tokEOF, pos: start, end: start}, nil
	}
	c := lx.src[start]
	simple := func(k tokenKind, n int) (token, error) {
		lx.off += n
		return token{kind: k, pos: start, end: lx.off}, nil
	}
	peek := func(i int) byte {
		if start+i < len(lx.src) {
			return lx.src[start+i]
		}
		return 0
	}
	switch {
	case isIdentStart(c):
		i := start + 1
		for i < len(lx.src) && isIdentPart(lx.src[i]) {
			i++
		}
		tok := token{kind: tokIdent, text: lx.src[start:i], pos: start}
		if i < len(lx.src) && lx.src[i] == '~' {
			tok.tilde = true
			i++
		}
		lx.off = i
		tok.end = i
		return tok, nil
	case isDigit(c) || (c == '.' && isDigit(peek(1))):
		return lx.number()
	case c == '"':
		return lx.string()
	case c == '\'':
		return token{}, lx.errorf(start, "strings use double quotes, not single quotes")
	case c == '`':
		return lx.escapedIdent()
	}
	switch c {
	case '(':
		return simple(tokLParen, 1)
	case ')':
		return simple(tokRParen, 1)
	case '[':
		return simple(tokLBracket, 1)
	case ']':
		return simple(tokRBracket, 1)
	case ',':
		return simple(tokComma, 1)
	case '.':
		return simple(tokDot, 1)
	case ':':
		return simple(tokColon, 1)
	case '+':
		return simple(tokPlus, 1)
	case '-':
		return simple(tokMinus, 1)
	case '*':
		return simple(tokStar, 1)
	case '/':
		return simple(tokSlash, 1)
	case '%':
		return simple(tokPercent, 1)
	case '|':
		return simple(tokPipe, 1)
	case '?':
		if peek(1) == '"' || peek(1) == '\'' {
			return token{}, lx.errorf(start, "?\"...\" raw strings are not supported; use \"\"\"...\"\"\"")
		}
		return simple(tokQuestion, 1)
	case '=':
		if peek(1) == '=' {
			return simple(tokEq, 2)
		}
		return simple(tokAssign, 1)
	case '!':
		switch peek(1) {
		case '=':
			return simple(tokNeq, 2)
		case '[':
			// One token, as in Elasticsearch's grammar: "! [" is not a
			// missing-event stage.
			return simple(tokMissing, 2)
		}
		return simple(tokBang, 1)
	case '<':
		if peek(1) == '=' {
			return simple(tokLte, 2)
		}
		return simple(tokLt, 1)
	case '>':
		if peek(1) == '=' {
			return simple(tokGte, 2)
		}
		return simple(tokGt, 1)
	}
	r, _ := utf8.DecodeRuneInString(lx.src[start:])
	return token{}, lx.errorf(start, "unexpected character %q", r)
}

// number lexes INTEGER_VALUE or DECIMAL_VALUE as Elasticsearch's grammar
// defines them. A unit written right after a number ("1m") is left for the
// next token.
func (lx *lexer) number() (token, error) {
	start := lx.off
	i := start
	for i < len(lx.src) && isDigit(lx.src[i]) {
		i++
	}
	isFloat := false
	if i < len(lx.src) && lx.src[i] == '.' && (i+1 >= len(lx.src) || !isIdentStart(lx.src[i+1])) {
		isFloat = true
		i++
		for i < len(lx.src) && isDigit(lx.src[i]) {
			i++
		}
	}
	if i < len(lx.src) && (lx.src[i] == 'e' || lx.src[i] == 'E') {
		j := i + 1
		if j < len(lx.src) && (lx.src[j] == '+' || lx.src[j] == '-') {
			j++
		}
		if j < len(lx.src) && isDigit(lx.src[j]) {
			for j < len(lx.src) && isDigit(lx.src[j]) {
				j++
			}
			i = j
			isFloat = true
		}
	}
	lx.off = i
	text := lx.src[start:i]
	if isFloat {
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return token{}, lx.errorf(start, "invalid number %q", text)
		}
		return token{kind: tokFloat, text: text, pos: start, end: i}, nil
	}
	return token{kind: tokInt, text: text, pos: start, end: i}, nil
}

func (lx *lexer) escapedIdent() (token, error) {
	start := lx.off
	var b strings.Builder
	i := start + 1
	for {
		if i >= len(lx.src) {
			return token{}, lx.errorf(start, "unterminated quoted field name")
		}
		if lx.src[i] == '`' {
			if i+1 < len(lx.src) && lx.src[i+1] == '`' {
				b.WriteByte('`')
				i += 2
				continue
			}
			i++
			break
		}
		b.WriteByte(lx.src[i])
		i++
	}
	lx.off = i
	if b.Len() == 0 {
		return token{}, lx.errorf(start, "empty quoted field name")
	}
	return token{kind: tokEscapedIdent, text: b.String(), pos: start, end: i}, nil
}

// string lexes "..." with escapes or """raw""" strings.
func (lx *lexer) string() (token, error) {
	start := lx.off
	if strings.HasPrefix(lx.src[start:], `"""`) {
		end := strings.Index(lx.src[start+3:], `"""`)
		if end < 0 {
			return token{}, lx.errorf(start, "unterminated raw string")
		}
		text := lx.src[start+3 : start+3+end]
		lx.off = start + 3 + end + 3
		return token{kind: tokString, text: text, pos: start, end: lx.off}, nil
	}
	var b strings.Builder
	i := start + 1
	for {
		if i >= len(lx.src) || lx.src[i] == '\n' || lx.src[i] == '\r' {
			return token{}, lx.errorf(start, "unterminated string")
		}
		c := lx.src[i]
		if c == '"' {
			i++
			break
		}
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(lx.src) {
			return token{}, lx.errorf(start, "unterminated string")
		}
		switch e := lx.src[i+1]; e {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '\\':
			b.WriteByte('\\')
		case '"':
			b.WriteByte('"')
		case 'u':
			r, n, err := lx.unicodeEscape(i)
			if err != nil {
				return token{}, err
			}
			b.WriteRune(r)
			i += n
			continue
		case '\'':
			b.WriteByte('\'')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		default:
			return token{}, lx.errorf(i, "invalid escape sequence \\%c", e)
		}
		i += 2
	}
	lx.off = i
	return token{kind: tokString, text: b.String(), pos: start, end: i}, nil
}

// unicodeEscape decodes \u{XXXXXXXX} (2 to 8 hex digits) at offset i.
func (lx *lexer) unicodeEscape(i int) (rune, int, error) {
	rest := lx.src[i:]
	if len(rest) < 3 || rest[2] != '{' {
		return 0, 0, lx.errorf(i, "unicode escapes are written \\u{XXXX}")
	}
	end := strings.IndexByte(rest, '}')
	if end < 0 {
		return 0, 0, lx.errorf(i, "unterminated unicode escape")
	}
	hex := rest[3:end]
	if len(hex) < 2 || len(hex) > 8 {
		return 0, 0, lx.errorf(i, "unicode escape needs 2 to 8 hex digits, got %q", hex)
	}
	v, err := strconv.ParseUint(hex, 16, 32)
	if err != nil || v > unicode.MaxRune || (v >= 0xD800 && v <= 0xDFFF) {
		return 0, 0, lx.errorf(i, "invalid unicode escape \\u{%s}", hex)
	}
	return rune(v), end + 1, nil
}
