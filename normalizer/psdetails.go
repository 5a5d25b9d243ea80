package normalizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// invocationDetails runs the PowerShell pipelines' split and script over
// the command invocation details (4103's Payload, 800's param3): each line
// becomes an object of powershell.command.invocation_details. The 800
// pipeline's pattern also refuses a ':' before the '(' (colonlessType).
// It reports false when the script fails, as Painless does on a
// ParameterBinding line without name=…; value=…: the pipeline's
// on_failure then ends the event (event.kind pipeline_error) and the
// caller must run no further processor.
func (n *Normalizer) invocationDetails(s slot, colonlessType bool) bool {
	v, ok := n.ed.get(s)
	if !ok {
		return true
	}
	lines := javaSplitNewline(v)
	if len(lines) == 0 {
		return true
	}
	details := make([]any, 0, len(lines))
	for _, line := range lines {
		d, err := parseInvocationDetail(line, colonlessType)
		if err != nil {
			return n.fail(fmt.Sprintf("powershell.command.invocation_details: %v", err))
		}
		details = append(details, d)
	}
	rec := &n.rec
	rec.mark(kPowershellCommandInvocationDetails).kind, rec.vals[kPowershellCommandInvocationDetails].box = vTree, details
	return true
}

// javaSplitNewline is Java's String.split("\n"): trailing empty strings
// are dropped.
func javaSplitNewline(v string) []string {
	parts := strings.Split(v, "\n")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// parseInvocationDetail is the script's parseRawDetail on one line, the
// detail pattern ^([^(]+)\(([^)]+)\)\:\s*(.+)?$ (800: ^([^:(]+)…) and the
// binding pattern name\=(.+);\s*value\=(.+)$ matched as Java's
// Matcher.matches does: '.' is no line terminator (\n \r U+0085 U+2028
// U+2029), \s is ASCII whitespace. A line the detail pattern refuses is
// {value: line}; a detail with nothing after the ':' has a null value.
// The error is the script's failure on a ParameterBinding line whose rest
// is missing or not name=…; value=… (it reads matches[4] of four).
func parseInvocationDetail(raw string, colonlessType bool) (map[string]any, error) {
	unmatched := map[string]any{"value": raw}
	open := strings.IndexByte(raw, '(')
	if open <= 0 || colonlessType && strings.IndexByte(raw[:open], ':') >= 0 {
		return unmatched, nil
	}
	closeAt := strings.IndexByte(raw[open+1:], ')')
	if closeAt <= 0 {
		return unmatched, nil
	}
	closeAt += open + 1
	if closeAt+1 >= len(raw) || raw[closeAt+1] != ':' {
		return unmatched, nil
	}
	typ, related, rest := raw[:open], raw[open+1:closeAt], raw[closeAt+2:]
	i := 0
	for i < len(rest) && isJavaSpace(rest[i]) {
		i++
	}
	rest = rest[i:]
	if hasJavaLineTerminator(rest) {
		return unmatched, nil
	}
	var value any
	if rest != "" {
		value = rest
	}
	if typ != "ParameterBinding" {
		return map[string]any{"type": typ, "related_command": related, "value": value}, nil
	}
	if rest == "" {
		return nil, fmt.Errorf("%q: ParameterBinding with no value (the pipeline's script fails on it)", raw)
	}
	name, val, ok := parameterBinding(rest)
	if !ok {
		return nil, fmt.Errorf("%q: ParameterBinding not name=…; value=… (the pipeline's script fails on it)", raw)
	}
	return map[string]any{"type": typ, "related_command": related, "name": name, "value": val}, nil
}

// parameterBinding matches name\=(.+);\s*value\=(.+)$ on s, which holds no
// line terminator: the name is greedy, so the last ';' that a
// "value=" and at least one character follow ends it.
func parameterBinding(s string) (name, value string, ok bool) {
	const prefix = "name="
	if !strings.HasPrefix(s, prefix) {
		return "", "", false
	}
	for p := len(s) - 1; p > len(prefix); p-- {
		if s[p] != ';' {
			continue
		}
		j := p + 1
		for j < len(s) && isJavaSpace(s[j]) {
			j++
		}
		if v, ok := strings.CutPrefix(s[j:], "value="); ok && v != "" {
			return s[len(prefix):p], v, true
		}
	}
	return "", "", false
}

// hasJavaLineTerminator reports a character Java's '.' does not match.
func hasJavaLineTerminator(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == '\n' || c == '\r' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0x85 || r == 0x2028 || r == 0x2029 {
			return true
		}
		i += size
	}
	return false
}
