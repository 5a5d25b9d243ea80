package sinks

import "fmt"

// ShowInvisible is how an event.Invisible character is shown: its code point,
// "[U+202E]".
func ShowInvisible(r rune) string { return fmt.Sprintf("[U+%04X]", r) }
