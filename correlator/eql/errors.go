package eql

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// SyntaxError is a query that does not parse or compile. Line and Column are
// 1-based; Column counts characters, not bytes.
type SyntaxError struct {
	Line   int
	Column int
	Offset int // byte offset in the query
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d:%d: %s", e.Line, e.Column, e.Msg)
}

func newSyntaxError(src string, off int, msg string) *SyntaxError {
	line, col := position(src, off)
	return &SyntaxError{Line: line, Column: col, Offset: off, Msg: msg}
}

// position turns a byte offset into a 1-based line and character column.
func position(src string, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	before := src[:off]
	line = strings.Count(before, "\n") + 1
	if i := strings.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, utf8.RuneCountInString(before) + 1
}

// Position turns a byte offset in a query into its 1-based line and
// character column.
func Position(src string, offset int) (line, column int) { return position(src, offset) }
