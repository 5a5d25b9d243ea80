package syslog

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks"
)

const (
	appName = "weft"
	// RFC 5424 field limits.
	maxHostname = 255
	maxMsgID    = 32
	maxSDName   = 32
	// sdValueLimit bounds one structured-data value (command lines); the
	// full value is in MSG.
	sdValueLimit = 1024
)

// formatter renders alerts as RFC 5424 messages, or with the header of
// RFC 3164.
type formatter struct {
	facility int
	hostname string
	procID   string
	sdID     string
	maxSize  int
	rfc3164  bool
}

// format renders one message of at most f.maxSize bytes. When the full
// alert does not fit, it takes the first of sinks.Reductions that does:
// MSG drops the rule's investigation guide, then the matched documents,
// then cuts the longest strings (structured-data values with them), each
// cut ending in "…[cut N bytes]"; the structured data lists what went in
// omitted="…" and what was cut in truncated="…". The key fields come from
// the whole alert, so they stay in the structured data, cut at most. Only a
// max_size too small for even the minimal form fails, which New rules out
// for any alert.
func (f *formatter) format(a *event.Alert) ([]byte, error) {
	// The key fields come from the whole alert even when MSG is trimmed.
	params := sdParams(a)
	var last []byte
	for r := range sinks.Reductions(a) {
		if n := textSize(r.Alert); n > f.maxSize {
			// MSG alone would be larger: a megabyte command line is not
			// rendered twice to learn it.
			last = nil
			continue
		}
		msg, err := f.render(a, r, params)
		if err != nil {
			return nil, err
		}
		if len(msg) <= f.maxSize {
			return msg, nil
		}
		last = msg
	}
	if last == nil {
		return nil, fmt.Errorf("message over max_size %d even with every field cut", f.maxSize)
	}
	return nil, fmt.Errorf("message is %d bytes, over max_size %d even with every field cut", len(last), f.maxSize)
}

// textSize is a lower bound of the size of a's JSON: the bytes of its
// strings and of its documents' keys and strings, which JSON only makes
// longer.
func textSize(a *event.Alert) int {
	n := len(a.Message) + len(a.Event.Kind) + len(a.Event.ID) + len(a.Host.Name) + len(a.Host.ID) + len(a.Host.OS.Type)
	r := &a.Rule
	n += len(r.ID) + len(r.UUID) + len(r.Name) + len(r.Version) + len(r.Description) + len(r.License) + len(r.Ruleset) + len(r.Severity) + len(r.Note)
	for _, list := range [][]string{r.Reference, r.Author, r.Tags} {
		for _, s := range list {
			n += len(s)
		}
	}
	for _, d := range a.Weft.Events {
		n += valueSize(map[string]any(d))
	}
	return n
}

func valueSize(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case map[string]any:
		n := 0
		for k, e := range x {
			n += len(k) + valueSize(e)
		}
		return n
	case event.Document:
		return valueSize(map[string]any(x))
	case []any:
		n := 0
		for _, e := range x {
			n += valueSize(e)
		}
		return n
	case []string:
		n := 0
		for _, e := range x {
			n += len(e)
		}
		return n
	}
	return 0
}

// smallest is the size of the smallest form of a: the most any alert
// as large needs.
func (f *formatter) smallest(a *event.Alert) (int, error) {
	var last sinks.Reduced
	for r := range sinks.Reductions(a) {
		last = r
	}
	msg, err := f.render(a, last, sdParams(a))
	return len(msg), err
}

// render writes form r of alert orig. The header comes from orig: a
// form's fields may be cut or gone.
func (f *formatter) render(orig *event.Alert, r sinks.Reduced, params []sdParam) ([]byte, error) {
	a := orig
	body, err := json.Marshal(r.Alert)
	if err != nil {
		return nil, fmt.Errorf("encode alert: %w", err)
	}
	var b []byte
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(f.facility*8+severity(a)), 10)
	b = append(b, '>')
	if f.rfc3164 {
		// TIMESTAMP HOSTNAME TAG: the structured data and the JSON form
		// the CONTENT.
		b = append(b, timestamp3164(a)...)
		b = append(b, ' ')
		b = append(b, f.hostname...)
		b = append(b, ' ')
		b = append(b, appName...)
		b = append(b, '[')
		b = append(b, f.procID...)
		b = append(b, "]: "...)
	} else {
		b = append(b, "1 "...)
		b = append(b, timestamp(a)...)
		b = append(b, ' ')
		b = append(b, f.hostname...)
		b = append(b, ' ')
		b = append(b, appName...)
		b = append(b, ' ')
		b = append(b, f.procID...)
		b = append(b, ' ')
		b = append(b, headerField(a.Rule.ID, maxMsgID)...)
		b = append(b, ' ')
	}
	b = f.appendSD(b, r, params)
	b = append(b, ' ')
	// MSG is the JSON made 7-bit: RFC 5424 requires a BOM before UTF-8
	// text, and a BOM in front of "{" breaks JSON parsers on the receiving
	// side (rsyslog's mmjsonparse among them). Escaped as \uXXXX, the
	// text needs no BOM and decodes to the same strings.
	b = appendASCIIJSON(b, body)
	return b, nil
}

// severity maps the rule's severity to a syslog severity: critical→2
// (crit), high→3 (err), medium→4 (warning), low→5 (notice). Without a
// severity word, event.severity is read in Elastic's risk bands; an alert
// with neither is a warning.
func severity(a *event.Alert) int {
	switch strings.ToLower(strings.TrimSpace(a.Rule.Severity)) {
	case "critical":
		return 2
	case "high":
		return 3
	case "medium":
		return 4
	case "low":
		return 5
	}
	switch n := a.Event.Severity; {
	case n >= 99:
		return 2
	case n >= 73:
		return 3
	case n >= 47:
		return 4
	case n >= 21:
		return 5
	}
	return 4
}

// timestamp is the alert's time in UTC with microseconds, the finest
// TIMESTAMP RFC 5424 allows (TIME-SECFRAC is at most six digits).
func timestamp(a *event.Alert) string {
	t := a.Timestamp
	if t.IsZero() {
		t = a.Event.Created
	}
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

// timestamp3164 is the alert's time in RFC 3164's "Mmm dd hh:mm:ss", in
// UTC (the format has no zone), or the current time when the alert has
// none: the format has no nil value.
func timestamp3164(a *event.Alert) string {
	t := a.Timestamp
	if t.IsZero() {
		t = a.Event.Created
	}
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Format(time.Stamp)
}

// headerField makes s a valid header field: printable US-ASCII (others
// become "_"), at most limit characters, "-" when empty.
func headerField(s string, limit int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < limit; i++ {
		c := s[i]
		if c < 33 || c > 126 {
			c = '_'
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

type sdParam struct{ name, value string }

// sdParams lists the alert's key fields as structured-data parameters.
func sdParams(a *event.Alert) []sdParam {
	sum := sinks.Summarize(a)
	return []sdParam{
		{"alert_id", a.Event.ID},
		{"rule_id", a.Rule.ID},
		{"rule", a.Rule.Name},
		{"rule_version", a.Rule.Version},
		{"severity", a.Rule.Severity},
		{"risk_score", formatScore(a.Event.RiskScore)},
		{"host", sum.Host},
		{"src_ip", sum.Source.IP},
		{"src_port", sum.Source.Port},
		{"dst_ip", sum.Destination.IP},
		{"dst_port", sum.Destination.Port},
		{"direction", sum.Direction},
		{"remote_ip", sum.Remote.IP},
		{"remote_port", sum.Remote.Port},
		{"parent_process", sum.Parent.Name},
		{"parent_entity_id", sum.Parent.EntityID},
		{"process", sum.Process.Name},
		{"process_entity_id", sum.Process.EntityID},
		{"command_line", sum.Process.CommandLine},
		{"technique", techniqueIDs(a.Threat)},
	}
}

// keyParams are the structured-data parameters the forms of an alert with
// its key fields only keep, and idParams those of its identity.
var (
	keyParams = []string{"alert_id", "rule_id", "rule", "severity", "host", "process", "command_line"}
	idParams  = []string{"alert_id", "rule_id", "host"}
)

// appendSD writes the one SD-ELEMENT. Empty values are left out; values
// are cut at sdValueLimit, or at the form's own limit when it is lower.
func (f *formatter) appendSD(b []byte, r sinks.Reduced, params []sdParam) []byte {
	limit := sdValueLimit
	if r.Limit > 0 {
		limit = min(limit, r.Limit)
	}
	b = append(b, '[')
	b = append(b, f.sdID...)
	params = append(params[:len(params):len(params)],
		sdParam{"omitted", strings.Join(r.Omitted, " ")},
		sdParam{"truncated", strings.Join(r.Truncated, " ")})
	for _, p := range params {
		own := p.name == "omitted" || p.name == "truncated"
		switch {
		case p.value == "":
			continue
		case r.Fields == sinks.KeyFields && !own && !slices.Contains(keyParams, p.name):
			continue
		case r.Fields == sinks.IDFields && !own && !slices.Contains(idParams, p.name):
			continue
		}
		lim := limit
		if own {
			lim = sdValueLimit // weft's own words, bounded by the ECS paths they list
		}
		b = append(b, ' ')
		b = append(b, p.name...)
		b = append(b, `="`...)
		b = appendSDValue(b, p.value, lim)
		b = append(b, '"')
	}
	return append(b, ']')
}

func formatScore(f float64) string {
	if f == 0 {
		return ""
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// techniqueIDs lists the ATT&CK technique and sub-technique ids.
func techniqueIDs(threats []event.Threat) string {
	var ids []string
	for _, th := range threats {
		for _, t := range th.Technique {
			if t.ID != "" {
				ids = append(ids, t.ID)
			}
			for _, s := range t.Subtechnique {
				if s.ID != "" {
					ids = append(ids, s.ID)
				}
			}
		}
	}
	return strings.Join(ids, ",")
}

// appendSDValue writes a PARAM-VALUE: UTF-8 with '"', '\\' and ']'
// escaped by a backslash (RFC 5424 §6.3.3), control characters shown as
// their Unicode pictures (␊ for a line feed: receivers that split or
// escape on them would otherwise garble the field) and the invisible
// characters that reorder or break lines (C1 controls, bidi controls,
// U+2028/U+2029) by their code points (see neutral), cut visibly
// ("…[cut N bytes]") at limit bytes before escaping.
func appendSDValue(b []byte, v string, limit int) []byte {
	v = sinks.Cut(neutral(v), limit)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '"', '\\', ']':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return b
}

// neutral makes v valid UTF-8 and shows C0 controls and DEL as the
// Unicode characters that picture them (␊ for a line feed), and the
// characters that reorder or break lines (event.Invisible: C1 and bidi
// controls, U+2028/U+2029) by their code points, "[U+202E]".
func neutral(v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	clean := true
	for _, r := range v {
		if r < 0x20 || r == 0x7f || event.Invisible(r) {
			clean = false
			break
		}
	}
	if clean {
		return v
	}
	var b strings.Builder
	for _, r := range v {
		switch {
		case r < 0x20:
			b.WriteRune(0x2400 + r)
		case r == 0x7f:
			b.WriteRune(0x2421)
		case event.Invisible(r):
			b.WriteString(sinks.ShowInvisible(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// appendASCIIJSON copies JSON produced by encoding/json, escaping DEL and
// every non-ASCII character as \uXXXX (a surrogate pair above U+FFFF). Such
// characters can only occur inside strings, where the escape is
// equivalent.
func appendASCIIJSON(b, js []byte) []byte {
	const hex = "0123456789abcdef"
	u := func(b []byte, r rune) []byte {
		return append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	for i := 0; i < len(js); {
		c := js[i]
		if c == 0x7f {
			// encoding/json escapes the other control characters.
			b = u(b, rune(c))
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(js[i:])
		i += size
		if r > 0xffff {
			r -= 0x10000
			b = u(b, 0xd800+(r>>10))
			b = u(b, 0xdc00+(r&0x3ff))
			continue
		}
		b = u(b, r)
	}
	return b
}

// validSDName reports whether s is an SD-NAME: 1 to 32 printable US-ASCII
// characters other than '=', ' ', ']' and '"'.
func validSDName(s string) bool {
	if s == "" || len(s) > maxSDName {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 || c == '=' || c == ']' || c == '"' {
			return false
		}
	}
	return true
}

// checkSDID accepts an SD-ID of the name@number form RFC 5424 requires for
// identifiers not registered with IANA.
func checkSDID(id string) error {
	if !validSDName(id) {
		return fmt.Errorf("sd_id %q is not a valid SD-NAME (1-32 printable ASCII, no '=', ']', '\"' or space)", id)
	}
	at := strings.LastIndexByte(id, '@')
	if at <= 0 || at == len(id)-1 || strings.Trim(id[at+1:], "0123456789") != "" {
		return errors.New("sd_id must have the form name@<private enterprise number>, e.g. weft@32473")
	}
	return nil
}

// parseFacility reads a facility by keyword or number (0-23).
func parseFacility(s string) (int, error) {
	names := [...]string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
	key := strings.ToLower(strings.TrimSpace(s))
	for i, n := range names {
		if key == n {
			return i, nil
		}
	}
	if n, err := strconv.Atoi(key); err == nil && n >= 0 && n < len(names) {
		return n, nil
	}
	return 0, fmt.Errorf("facility %q is not a facility name (kern … local7) or number 0-23", s)
}

// worstAlert is an alert whose every string is longer than any limit and
// made of c, a character whose escaped form is longest somewhere: '"' in
// structured data, a control character in JSON, U+0085 or U+202E in
// structured data after neutral.
func worstAlert(c string) *event.Alert {
	long := strings.Repeat(c, 2*sdValueLimit+1)
	ref := event.ThreatRef{ID: long, Name: long, Reference: long}
	proc := map[string]any{"name": long, "entity_id": long, "executable": long, "command_line": long, "pid": long}
	doc := event.Document{
		"host":        map[string]any{"name": long},
		"source":      map[string]any{"ip": long, "port": long, "domain": long},
		"destination": map[string]any{"ip": long, "port": long, "domain": long},
		"network":     map[string]any{"direction": long},
		"process":     map[string]any{"name": long, "entity_id": long, "executable": long, "command_line": long, "pid": long, "parent": proc},
	}
	return &event.Alert{
		Message: long,
		Event:   event.AlertEvent{Kind: long, ID: strings.Repeat("f", 32), RiskScore: 100},
		// The rule id is not cut: it comes from a rule file, not an event.
		Rule: event.Rule{ID: "00000000-0000-0000-0000-000000000000", UUID: long, Name: long, Version: long, Description: long, Reference: []string{long},
			Author: []string{long}, License: long, Ruleset: long, Severity: long, Tags: []string{long}, Note: long},
		Threat: []event.Threat{{Framework: long, Tactic: ref, Technique: []event.ThreatTechnique{{ThreatRef: ref, Subtechnique: []event.ThreatRef{ref}}}}},
		Host:   event.Host{Name: long, ID: long, OS: event.HostOS{Type: long}},
		Weft:   event.AlertWeft{JoinKeys: []any{long}, Events: []event.Document{doc, doc}},
	}
}
