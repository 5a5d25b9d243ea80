package event

import "strconv"

// Text renders a document value as one line of text: a string as it is,
// a number in its shortest form, a bool, or a list's first element. What
// has no such form gives "".
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case []any:
		if len(x) > 0 {
			return Text(x[0])
		}
		return ""
	case []string:
		if len(x) > 0 {
			return x[0]
		}
		return ""
	}
	if f, ok := ToFloat(v); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return ""
}

// Invisible reports whether r changes how the text around it is laid out
// or read while showing nothing of its own: a C1 control (U+0085 is a line
// break to some receivers, U+009B a terminal's CSI), a bidi control
// (U+202E shows "gpj.exe" as "exe.jpg"; U+061C, U+200E/F, U+202A–U+202E,
// U+2066–U+2069) or the line and paragraph separators U+2028 and U+2029.
// Alert messages and sinks show such characters escaped, so that event
// text stays on its line and reads in the order it was written.
func Invisible(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f,
		r == 0x061c, r == 0x200e, r == 0x200f,
		r >= 0x202a && r <= 0x202e,
		r >= 0x2066 && r <= 0x2069,
		r == 0x2028, r == 0x2029:
		return true
	}
	return false
}
