package sinks

import (
	"iter"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/weft-dev/weft/event"
)

// MinCutLimit is the smallest limit Cut keeps within: room for the
// marker of the largest cut a string can have.
const MinCutLimit = 32

// CutMarker is the visible end of a shortened text: how many bytes of the
// original are not shown, e.g. "…[cut 3,812 bytes]".
func CutMarker(n int) string { return "…[cut " + thousands(n) + " bytes]" }

// Cut shortens s to at most limit bytes of valid UTF-8 ending in
// CutMarker. Text not longer than limit comes back as it is. Bytes that are
// not UTF-8 become U+FFFD only when s is cut, since only then is s
// re-sliced; callers that need valid UTF-8 make it so first. A limit below
// MinCutLimit is taken as MinCutLimit.
func Cut(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	limit = max(limit, MinCutLimit)
	if len(s) <= limit {
		return s
	}
	// The marker for len(s) bytes is at least as long as the one for the
	// bytes actually cut, so the budget holds.
	keep := max(limit-len(CutMarker(len(s))), 0)
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + CutMarker(len(s)-keep)
}

// thousands writes n with a comma between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 || len(s) <= 3 {
		return s
	}
	b := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// Reduced is a smaller form of an alert, for a receiver that limits the
// size of what it accepts.
type Reduced struct {
	Alert *event.Alert
	// Limit is the longest string the form keeps, in bytes (0: no string
	// was cut). Sinks cut their own renderings of the alert's fields (a
	// syslog structured-data value, say) to it as well.
	Limit int
	// Fields says which fields the form keeps; sinks show as few of
	// their own renderings (structured-data parameters, say).
	Fields FieldSet
	// Omitted lists the fields left out whole, Truncated those cut (with
	// CutMarker at their end), as ECS paths ("rule.note", "host.name").
	// The IDFields form, whose point is to be small, says "*" for
	// everything not in it.
	Omitted, Truncated []string
}

// FieldSet says which of an alert's fields a form of it keeps.
type FieldSet int

const (
	// AllFields: the fields not listed in Reduced.Omitted.
	AllFields FieldSet = iota
	// KeyFields: time, message, event.*, rule id, name, version and
	// severity, host.name.
	KeyFields
	// IDFields: time, event.*, rule.id and host.name: what tells the
	// receiver that an alert was raised, and which.
	IDFields
)

// cutLimits are the string limits tried, longest first, once the
// investigation guide and the matched documents are left out; keyLimits
// those of the forms with the key fields only.
var (
	cutLimits = [...]int{4096, 2048, 1024, 512, 256, 128, 64, MinCutLimit}
	keyLimits = [...]int{256, 64, MinCutLimit}
)

// Reductions yields ever smaller forms of a, the first being a itself.
// Then come the alert without rule.note, without weft.events too, with
// every string cut at cutLimits (so the longest fields are cut first:
// a 4,500-byte command line in the message or a 3,000-byte host name long
// before the rule name), then the key fields only (KeyFields), and last
// the alert's identity (IDFields). A sink sends the first
// form that fits its limit, so an alert that event data made large still
// reaches the receiver, marked where it was cut. a is never modified: the
// forms share nothing a sink could change with it.
func Reductions(a *event.Alert) iter.Seq[Reduced] {
	return func(yield func(Reduced) bool) {
		if !yield(Reduced{Alert: a}) {
			return
		}
		base := *a
		var omitted []string
		if base.Rule.Note != "" {
			base.Rule.Note = ""
			omitted = append(omitted, "rule.note")
			if !yield(Reduced{Alert: &base, Omitted: slices.Clone(omitted)}) {
				return
			}
		}
		if len(base.Weft.Events) > 0 {
			omitted = append(omitted, "weft.events")
		}
		base.Weft.Events = nil
		if !yield(Reduced{Alert: &base, Omitted: slices.Clone(omitted)}) {
			return
		}
		for _, limit := range cutLimits {
			cut, truncated := cutAlert(&base, limit)
			if len(truncated) == 0 {
				continue // nothing this long: the same form as before
			}
			if !yield(Reduced{Alert: cut, Limit: limit, Omitted: slices.Clone(omitted), Truncated: truncated}) {
				return
			}
		}
		key := event.Alert{
			Timestamp: base.Timestamp,
			Message:   base.Message,
			Event:     base.Event,
			Rule:      event.Rule{ID: base.Rule.ID, Name: base.Rule.Name, Version: base.Rule.Version, Severity: base.Rule.Severity},
			Host:      event.Host{Name: base.Host.Name},
		}
		omitted = appendGone(omitted,
			"rule.uuid", base.Rule.UUID != "",
			"rule.description", base.Rule.Description != "",
			"rule.reference", len(base.Rule.Reference) > 0,
			"rule.author", len(base.Rule.Author) > 0,
			"rule.license", base.Rule.License != "",
			"rule.ruleset", base.Rule.Ruleset != "",
			"rule.tags", len(base.Rule.Tags) > 0,
			"threat", len(base.Threat) > 0,
			"host.id", base.Host.ID != "",
			"host.os", base.Host.OS.Type != "",
			"weft.join_keys", len(base.Weft.JoinKeys) > 0,
			"weft.origins", len(base.Weft.Origins) > 0)
		for _, limit := range keyLimits {
			cut, truncated := cutAlert(&key, limit)
			if !yield(Reduced{Alert: cut, Limit: limit, Fields: KeyFields, Omitted: slices.Clone(omitted), Truncated: truncated}) {
				return
			}
		}
		id := event.Alert{
			Timestamp: base.Timestamp,
			Event:     base.Event,
			Rule:      event.Rule{ID: base.Rule.ID},
			Host:      event.Host{Name: base.Host.Name},
		}
		cut, truncated := cutAlert(&id, MinCutLimit)
		yield(Reduced{Alert: cut, Limit: MinCutLimit, Fields: IDFields, Omitted: []string{"*"}, Truncated: truncated})
	}
}

// appendGone appends to paths each path whose flag, the argument after it,
// is true.
func appendGone(paths []string, pairs ...any) []string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1].(bool) {
			paths = append(paths, pairs[i].(string))
		}
	}
	return paths
}

// cutAlert copies a with every string longer than limit cut, and lists
// the paths it cut. event.id and rule.id are never cut: they identify the
// alert, and neither comes from event data (the first is a fixed-size
// hash, the second is in the rule file).
func cutAlert(a *event.Alert, limit int) (*event.Alert, []string) {
	var paths []string
	cut := func(path string, s string) string {
		if len(s) <= limit {
			return s
		}
		if !slices.Contains(paths, path) {
			paths = append(paths, path)
		}
		return Cut(s, limit)
	}
	cutAll := func(path string, ss []string) []string {
		if ss == nil {
			return nil
		}
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = cut(path, s)
		}
		return out
	}
	ref := func(path string, r event.ThreatRef) event.ThreatRef {
		return event.ThreatRef{ID: cut(path+".id", r.ID), Name: cut(path+".name", r.Name), Reference: cut(path+".reference", r.Reference)}
	}
	c := *a
	c.Message = cut("message", a.Message)
	c.Event.Kind = cut("event.kind", a.Event.Kind)
	r := &c.Rule
	r.UUID = cut("rule.uuid", a.Rule.UUID)
	r.Name = cut("rule.name", a.Rule.Name)
	r.Version = cut("rule.version", a.Rule.Version)
	r.Description = cut("rule.description", a.Rule.Description)
	r.Reference = cutAll("rule.reference", a.Rule.Reference)
	r.Author = cutAll("rule.author", a.Rule.Author)
	r.License = cut("rule.license", a.Rule.License)
	r.Ruleset = cut("rule.ruleset", a.Rule.Ruleset)
	r.Severity = cut("rule.severity", a.Rule.Severity)
	r.Tags = cutAll("rule.tags", a.Rule.Tags)
	r.Note = cut("rule.note", a.Rule.Note)
	if a.Threat != nil {
		c.Threat = make([]event.Threat, len(a.Threat))
		for i, th := range a.Threat {
			t := event.Threat{Framework: cut("threat.framework", th.Framework), Tactic: ref("threat.tactic", th.Tactic)}
			if th.Technique != nil {
				t.Technique = make([]event.ThreatTechnique, len(th.Technique))
				for j, tech := range th.Technique {
					t.Technique[j].ThreatRef = ref("threat.technique", tech.ThreatRef)
					if tech.Subtechnique != nil {
						t.Technique[j].Subtechnique = make([]event.ThreatRef, len(tech.Subtechnique))
						for k, sub := range tech.Subtechnique {
							t.Technique[j].Subtechnique[k] = ref("threat.technique.subtechnique", sub)
						}
					}
				}
			}
			c.Threat[i] = t
		}
	}
	c.Host.Name = cut("host.name", a.Host.Name)
	c.Host.ID = cut("host.id", a.Host.ID)
	c.Host.OS.Type = cut("host.os.type", a.Host.OS.Type)
	if a.Weft.JoinKeys != nil {
		c.Weft.JoinKeys = make([]any, len(a.Weft.JoinKeys))
		for i, k := range a.Weft.JoinKeys {
			if s, ok := k.(string); ok {
				k = cut("weft.join_keys", s)
			}
			c.Weft.JoinKeys[i] = k
		}
	}
	// The matched documents are left out before any string is cut.
	c.Weft.Events = nil
	return &c, paths
}
