package slack

import (
	"strings"
	"unicode/utf8"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks"
)

// escapeText escapes the three characters Slack's mrkdwn gives meaning to
// (<!channel>, <url|label>, entities), shows control characters as their
// Unicode pictures (␊ for a line feed) and the invisible ones that reorder
// or break text (event.Invisible) by their code points, so event text
// stays on its line and cannot lay out fields of its own, and cuts the
// result to at most limit bytes, ending in "…[cut N bytes]" (N counts the
// bytes of s not shown) when cut. Slack counts limits in characters;
// bytes are never fewer, so the bound holds.
func escapeText(s string, limit int) string { return escape(s, limit, false) }

// escape is escapeText; multiline keeps line feeds and tabs, for code
// blocks.
func escape(s string, limit int, multiline bool) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	total := 0
	for i, r := range s {
		total += len(piece(s, i, r, multiline))
	}
	if total <= limit {
		var b strings.Builder
		for i, r := range s {
			b.WriteString(piece(s, i, r, multiline))
		}
		return b.String()
	}
	// The marker for all of s is at least as long as the one for the part
	// cut.
	budget := limit - len(sinks.CutMarker(len(s)))
	var b strings.Builder
	shown := 0
	for i, r := range s {
		p := piece(s, i, r, multiline)
		if b.Len()+len(p) > budget {
			break
		}
		b.WriteString(p)
		shown = i + utf8.RuneLen(r)
	}
	b.WriteString(sinks.CutMarker(len(s) - shown))
	return b.String()
}

// piece is the escaped form of the rune r at s[i].
func piece(s string, i int, r rune, multiline bool) string {
	switch {
	case r == '&':
		return "&amp;"
	case r == '<':
		return "&lt;"
	case r == '>':
		return "&gt;"
	case multiline && (r == '\n' || r == '\t'):
		return s[i : i+1]
	case r < 0x20:
		return string(0x2400 + r)
	case r == 0x7f:
		return "\u2421"
	case event.Invisible(r):
		return sinks.ShowInvisible(r)
	}
	return s[i : i+utf8.RuneLen(r)]
}

// codeBlock renders s as a preformatted block. A zero-width space after
// each backtick keeps a "```" in the text from closing the block early;
// the text looks the same.
func codeBlock(s string, limit int) string {
	const fence = "```"
	s = strings.ReplaceAll(s, "`", "`\u200b")
	return fence + escape(s, limit-2*len(fence), true) + fence
}

// code renders s as inline code when it can be, else as plain escaped text.
func code(s string, limit int) string {
	if strings.ContainsAny(s, "`\n") {
		return escapeText(s, limit)
	}
	return "`" + escapeText(s, limit-2) + "`"
}
