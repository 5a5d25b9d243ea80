package normalizer

import "encoding/binary"

// text is a value of the document with the form it is written in. Putting
// an EventData value in canonical form (canon.go) or lower-casing a hash
// would cost a new string per value; instead the value keeps pointing into
// the raw event and says how it is to be written, and the writers apply
// the form as they copy the bytes out. A string is made only when the
// mapping reads a value that is not as-is (rare), or for an event.Document,
// where materialize makes one string for all of them.
type text struct {
	s    string
	form form
}

// form says how a text's s is written.
type form uint8

const (
	asIs      form = iota
	guidForm       // a GUID, bare or braced, not in Windows' form: written braced and lower-case
	hexForm        // "0x" and 1 to 16 hex digits: written without leading zeros, lower-case
	lowerForm      // ASCII text written lower-case
)

// plain is a text written as it is.
func plain(s string) text { return text{s: s} }

// String is the text as it is written.
func (t text) String() string {
	if t.form == asIs || (t.form == lowerForm && !hasUpper(t.s)) {
		return t.s
	}
	var buf [64]byte
	return string(t.appendTo(buf[:0]))
}

// len is the length of the text as it is written.
func (t text) len() int {
	switch t.form {
	case guidForm:
		return len("{00000000-0000-0000-0000-000000000000}")
	case hexForm:
		return len("0x") + len(hexDigits(t.s))
	}
	return len(t.s)
}

// appendTo appends the text as it is written.
func (t text) appendTo(b []byte) []byte {
	switch t.form {
	case guidForm:
		g := t.s
		if len(g) == 38 {
			g = g[1:37]
		}
		b = append(b, '{')
		b = appendLower(b, g)
		return append(b, '}')
	case hexForm:
		return appendLower(append(b, "0x"...), hexDigits(t.s))
	case lowerForm:
		return appendLower(b, t.s)
	}
	return append(b, t.s...)
}

// hexDigits are the digits of a hexForm value without leading zeros ("0"
// when all are zeros).
func hexDigits(s string) string {
	d := s[2:]
	for len(d) > 1 && d[0] == '0' {
		d = d[1:]
	}
	return d
}

// appendLower appends s with its ASCII letters lower-cased.
func appendLower(b []byte, s string) []byte {
	start := len(b)
	b = append(b, s...)
	t := b[start:]
	// Eight bytes at a time: the high bit of each byte of upper says
	// whether it is an ASCII capital, and 0x80>>2 is the case bit.
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(t) >= 8 {
		x := binary.LittleEndian.Uint64(t)
		low7 := x &^ highs
		upper := (low7 + (0x80-'A')*ones) &^ (low7 + (0x80-'Z'-1)*ones) &^ x & highs
		binary.LittleEndian.PutUint64(t, x|upper>>2)
		t = t[8:]
	}
	for i, c := range t {
		if 'A' <= c && c <= 'Z' {
			t[i] = c + 'a' - 'A'
		}
	}
	return b
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	var high uint64
	for len(s) >= 8 {
		high |= binary.LittleEndian.Uint64([]byte(s[:8]))
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		high |= uint64(s[i])
	}
	return high&0x8080808080808080 == 0
}
