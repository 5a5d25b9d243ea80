package slack

import (
	"strings"
)

// investigationSteps returns the first n bullet items of the
// "investigation steps" section of a rule's Markdown note. Elastic's notes
// title it with a heading ("### Possible investigation steps") or, on the
// published rule pages, with a bold line; both are recognised, and the
// section ends at the next heading or bold line. Wrapped bullet lines are
// joined; nested bullets are left out.
func investigationSteps(note string, n int) []string {
	var steps []string
	in, open := false, false
	for _, line := range strings.Split(note, "\n") {
		t := strings.TrimSpace(line)
		if title, ok := sectionTitle(t); ok {
			if in {
				break
			}
			in = strings.Contains(strings.ToLower(title), "investigation steps")
			continue
		}
		if !in {
			continue
		}
		if item, ok := bullet(t); ok {
			open = false
			if indent(line) >= 2 {
				continue
			}
			if len(steps) == n {
				break
			}
			steps = append(steps, item)
			open = true
			continue
		}
		if t == "" {
			open = false
			continue
		}
		if open {
			steps[len(steps)-1] += " " + t
		}
	}
	return steps
}

// sectionTitle recognises a Markdown heading or a line that is bold only.
func sectionTitle(t string) (string, bool) {
	if strings.HasPrefix(t, "#") {
		return strings.TrimSpace(strings.TrimLeft(t, "#")), true
	}
	if len(t) > 4 && strings.HasPrefix(t, "**") && strings.HasSuffix(t, "**") && !strings.Contains(t[2:len(t)-2], "**") {
		return t[2 : len(t)-2], true
	}
	return "", false
}

// bullet recognises "- ", "* ", "+ " and "1. " / "1) " list items.
func bullet(t string) (string, bool) {
	if len(t) >= 2 && strings.IndexByte("-*+", t[0]) >= 0 && t[1] == ' ' {
		return strings.TrimSpace(t[2:]), true
	}
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(t) && (t[i] == '.' || t[i] == ')') && t[i+1] == ' ' {
		return strings.TrimSpace(t[i+2:]), true
	}
	return "", false
}

func indent(line string) int {
	n := 0
	for _, c := range line {
		switch c {
		case ' ':
			n++
		case '\t':
			n += 4
		default:
			return n
		}
	}
	return n
}
