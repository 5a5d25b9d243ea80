package slack

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks"
)

// Slack's Block Kit limits, in characters.
const (
	headerLimit  = 150
	fieldLimit   = 2000
	sectionLimit = 3000
	stepsShown   = 3
	stepLimit    = 700
)

// message is a Slack incoming-webhook payload: Block Kit blocks and the
// text used for notifications and clients that cannot show blocks.
type message struct {
	Text   string  `json:"text"`
	Blocks []block `json:"blocks"`
}

type block struct {
	Type     string    `json:"type"`
	Text     *textObj  `json:"text,omitempty"`
	Fields   []textObj `json:"fields,omitempty"`
	Elements []textObj `json:"elements,omitempty"`
}

type textObj struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

func mrkdwn(s string) textObj { return textObj{Type: "mrkdwn", Text: s} }

func section(s string) block {
	t := mrkdwn(s)
	return block{Type: "section", Text: &t}
}

// render builds the message. Every string that comes from an event or a
// rule goes through escapeText (or code / codeBlock, which use it).
func render(a *event.Alert) message {
	sum := sinks.Summarize(a)
	sev := strings.ToUpper(strings.TrimSpace(a.Rule.Severity))
	if sev == "" {
		sev = "ALERT"
	}
	ruleName := a.Rule.Name
	if ruleName == "" {
		ruleName = a.Rule.ID
	}

	// plain_text is shown as is (no mentions, links or entities), so the
	// header needs no escaping, only the length limit.
	header := textObj{Type: "plain_text", Emoji: true,
		Text: clipPlain(severityEmoji(a.Rule.Severity)+" "+sev+": "+ruleName, headerLimit)}
	blocks := []block{{Type: "header", Text: &header}}

	fields := []textObj{field("Host", escapeText(orDash(sum.Host), fieldLimit-20))}
	if peer := sum.Remote.String(); peer != "" {
		label := "Remote peer"
		if sum.Direction != "" {
			label += " (" + sum.Direction + ")"
		}
		fields = append(fields, field(escapeText(label, 100), escapeText(peer, 300)))
	}
	if p := processText(sum.Parent); p != "" {
		fields = append(fields, field("Parent process", p))
	}
	if p := processText(sum.Process); p != "" {
		fields = append(fields, field("Process", p))
	}
	fields = append(fields,
		field("Time", slackDate(alertTime(a))),
		field("Severity", escapeText(fmt.Sprintf("%s (risk %g)", strings.ToLower(sev), a.Event.RiskScore), 100)),
	)
	blocks = append(blocks, block{Type: "section", Fields: fields})

	if cl := sum.Process.CommandLine; cl != "" {
		const label = "*Command line*\n"
		blocks = append(blocks, section(label+codeBlock(cl, sectionLimit-len(label))))
	}
	if t := techniques(a.Threat); t != "" {
		blocks = append(blocks, section(t))
	}
	if steps := investigationSteps(a.Rule.Note, stepsShown); len(steps) > 0 {
		var b strings.Builder
		b.WriteString("*First investigation steps*")
		for i, s := range steps {
			// The note's Markdown bold (**x**) is mrkdwn's *x*.
			fmt.Fprintf(&b, "\n%d. %s", i+1, strings.ReplaceAll(escapeText(s, stepLimit), "**", "*"))
		}
		blocks = append(blocks, section(b.String()))
	}

	ctx := "Alert " + code(orDash(a.Event.ID), 100) + " · rule " + code(orDash(a.Rule.ID), 100)
	if a.Rule.Version != "" {
		ctx += " v" + escapeText(a.Rule.Version, 20)
	}
	ctx += " · weft"
	blocks = append(blocks, block{Type: "context", Elements: []textObj{mrkdwn(ctx)}})

	text := a.Message
	if text == "" {
		text = sev + ": " + ruleName + " on " + orDash(sum.Host)
	}
	return message{Text: escapeText(text, sectionLimit), Blocks: blocks}
}

func field(label, value string) textObj {
	return mrkdwn("*" + label + "*\n" + value)
}

// processText renders a process as its name and, in code, its entity id.
func processText(p sinks.Process) string {
	name := p.Name
	if name == "" {
		name = p.Executable
	}
	var parts []string
	if name != "" {
		parts = append(parts, escapeText(name, 600))
	}
	if p.EntityID != "" {
		parts = append(parts, code(p.EntityID, 200))
	}
	if p.PID != "" && p.EntityID == "" {
		parts = append(parts, "pid "+escapeText(p.PID, 20))
	}
	return strings.Join(parts, " ")
}

// techniques lists the MITRE ATT&CK mapping as links, one line per
// technique: tactic › technique › sub-techniques.
func techniques(threats []event.Threat) string {
	var lines []string
	for _, th := range threats {
		tactic := ref(th.Tactic)
		if len(th.Technique) == 0 && tactic != "" {
			lines = append(lines, "• "+tactic)
		}
		for _, tech := range th.Technique {
			parts := []string{ref(tech.ThreatRef)}
			if tactic != "" {
				parts = append([]string{tactic}, parts...)
			}
			for _, sub := range tech.Subtechnique {
				parts = append(parts, ref(sub))
			}
			lines = append(lines, "• "+strings.Join(parts, " › "))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	out := "*MITRE ATT&amp;CK*"
	rest := 0
	for _, l := range lines {
		rest += 1 + len(l)
	}
	for _, l := range lines {
		if len(out)+1+len(l) > sectionLimit-1-len(sinks.CutMarker(rest)) {
			return out + "\n" + sinks.CutMarker(rest)
		}
		out += "\n" + l
		rest -= 1 + len(l)
	}
	return out
}

// ref renders an ATT&CK reference as "<url|ID Name>", or as escaped text
// when its URL is not a plain http(s) URL that can sit in a link.
func ref(r event.ThreatRef) string {
	label := strings.TrimSpace(r.ID + " " + r.Name)
	if label == "" {
		return ""
	}
	u, err := url.Parse(r.Reference)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(r.Reference, "<>|& \t\n") {
		return escapeText(label, 200)
	}
	// In a link label only the label's own escapes matter; "|" there is
	// literal since the URL part ended at the first one.
	return "<" + r.Reference + "|" + escapeText(label, 200) + ">"
}

// slackDate shows the time in each reader's own time zone, with UTC text
// for clients that cannot.
func slackDate(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time_secs}|%s>", t.Unix(), t.UTC().Format(time.RFC3339))
}

func alertTime(a *event.Alert) time.Time {
	if !a.Timestamp.IsZero() {
		return a.Timestamp
	}
	return a.Event.Created
}

func severityEmoji(sev string) string {
	switch strings.ToLower(strings.TrimSpace(sev)) {
	case "critical":
		return ":rotating_light:"
	case "high":
		return ":red_circle:"
	case "medium":
		return ":large_orange_circle:"
	case "low":
		return ":large_yellow_circle:"
	}
	return ":white_circle:"
}

// clipPlain cuts plain_text to limit bytes, visibly. Control and
// invisible characters are shown as in mrkdwn text: plain_text is shown as
// is, and a header is one line.
func clipPlain(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for i, r := range s {
		switch {
		case r < 0x20 || r == 0x7f || event.Invisible(r):
			b.WriteString(piece(s, i, r, false))
		default:
			b.WriteString(s[i : i+utf8.RuneLen(r)])
		}
	}
	return sinks.Cut(b.String(), limit)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
