package sinks

import "fmt"

// Invisible reports whether r changes how the text around it is laid out
// or read while showing nothing of its own: a C1 control (U+0085 is a line
// break to some receivers, U+009B a terminal's CSI), a bidi control
// (U+202E shows "gpj.exe" as "exe.jpg"; U+061C, U+200E/F, U+202A–U+202E,
// U+2066–U+2069) or the line and paragraph separators U+2028 and U+2029.
// Sinks show such characters by ShowInvisible, as they show C0 controls
// by their pictures, so that event text stays on its line and reads in the
// order it was written.
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

// ShowInvisible is how an Invisible character is shown: its code point,
// "[U+202E]".
func ShowInvisible(r rune) string { return fmt.Sprintf("[U+%04X]", r) }
