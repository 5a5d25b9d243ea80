package slack

import (
	"strings"
	"unicode/utf8"
)

// truncated marks text cut to fit Slack's limits, visibly.
const truncated = "…(truncated)"

// escapeText escapes the three characters Slack's mrkdwn gives meaning to
// (<!channel>, <url|label>, entities) and cuts the result to at most limit
// bytes, ending in a visible marker when cut. Slack counts limits in
// characters; bytes are never fewer, so the bound holds.
func escapeText(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	fits := escapedLen(s) <= limit
	budget := limit
	if !fits {
		budget = limit - len(truncated)
	}
	var b strings.Builder
	for i, r := range s {
		var piece string
		switch r {
		case '&':
			piece = "&amp;"
		case '<':
			piece = "&lt;"
		case '>':
			piece = "&gt;"
		default:
			piece = s[i : i+utf8.RuneLen(r)]
		}
		if b.Len()+len(piece) > budget {
			break
		}
		b.WriteString(piece)
	}
	if !fits {
		b.WriteString(truncated)
	}
	return b.String()
}

// escapedLen is the length of s once escaped.
func escapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&':
			n += 4
		case '<', '>':
			n += 3
		}
	}
	return n
}

// codeBlock renders s as a preformatted block. A zero-width space after
// each backtick keeps a "```" in the text from closing the block early;
// the text looks the same.
func codeBlock(s string, limit int) string {
	const fence = "```"
	s = strings.ReplaceAll(s, "`", "`\u200b")
	return fence + escapeText(s, limit-2*len(fence)) + fence
}

// code renders s as inline code when it can be, else as plain escaped text.
func code(s string, limit int) string {
	if strings.ContainsAny(s, "`\n") {
		return escapeText(s, limit)
	}
	return "`" + escapeText(s, limit-2) + "`"
}
