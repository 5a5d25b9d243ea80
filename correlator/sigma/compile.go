package sigma

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/weft-dev/weft/correlator/eql"
)

// Options tune how rules compile.
type Options struct {
	// LogSources maps log sources to channels and event IDs; nil means
	// WindowsLogSources().
	LogSources *LogSources
	// Placeholders gives the values of %name% placeholders for the expand
	// modifier. A placeholder without values makes the rule unsupported.
	Placeholders map[string][]string
}

// UnsupportedError says which part of a valid rule weft cannot run: a
// modifier, a log source or a placeholder.
type UnsupportedError struct {
	Kind string // "modifier", "log source", "placeholder", "condition"
	What string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s %s is not supported", e.Kind, e.What)
}

// The document paths of the raw fields the normalizer keeps for Sigma.
const (
	EventDataPath = "weft.event_data"
	SystemPath    = "weft.system"
)

// SystemFields are the Sigma field names read from the event's System
// block (weft.system), as SigmaHQ's conventions name them; every other name
// is read from EventData (weft.event_data).
var systemFields = map[string]bool{
	"EventID": true, "Channel": true, "Provider_Name": true, "Provider_Guid": true,
	"Computer": true, "Security_UserID": true, "Level": true, "Task": true, "Opcode": true,
	"Keywords": true, "EventRecordID": true, "Version": true, "Execution_ProcessID": true,
	"Execution_ThreadID": true, "TimeCreated_SystemTime": true,
	"Correlation_ActivityID": true, "Correlation_RelatedActivityID": true,
}

// SystemFields lists the field names read from weft.system.
func SystemFields() []string {
	out := make([]string, 0, len(systemFields))
	for k := range systemFields {
		out = append(out, k)
	}
	return out
}

// fieldAliases are older names rules use for System fields.
var fieldAliases = map[string]string{"EventLog": "Channel"}

// maxVariants bounds the values one rule value may expand to (windash,
// placeholders, encodings), so that a rule cannot blow up compilation.
const maxVariants = 4096

// Query compiles the rule's detection and log source into an EQL event
// query, ready for eql.Compile.
func (r *Rule) Query(opts Options) (*eql.Query, error) {
	where, err := r.Where(opts)
	if err != nil {
		return nil, err
	}
	return &eql.Query{Source: where.String(), Event: &eql.EventQuery{Where: where}}, nil
}

// Sources are the kinds of events that serve the rule's log source.
func (r *Rule) Sources(opts Options) ([]Source, error) {
	table := opts.LogSources
	if table == nil {
		table = WindowsLogSources()
	}
	return table.Resolve(r.LogSource)
}

// Where compiles the rule's log source and detection into a condition.
func (r *Rule) Where(opts Options) (eql.Expr, error) {
	table := opts.LogSources
	if table == nil {
		table = WindowsLogSources()
	}
	srcs, err := table.Resolve(r.LogSource)
	if err != nil {
		return nil, err
	}
	conds := make([]cond, 0, len(r.Detection.Condition))
	for _, c := range r.Detection.Condition {
		pc, err := parseCondition(c)
		if err != nil {
			return nil, err
		}
		conds = append(conds, pc)
	}
	var alts []eql.Expr
	for _, s := range srcs {
		c := &compiler{det: &r.Detection, src: s, opts: opts}
		var det eql.Expr
		for _, pc := range conds {
			x, err := c.cond(pc)
			if err != nil {
				return nil, err
			}
			det = or(det, x)
		}
		for _, f := range r.filters {
			fc := &compiler{det: &f.Detection, src: s, opts: opts}
			for _, fcond := range f.Detection.Condition {
				pc, err := parseCondition(fcond)
				if err != nil {
					return nil, fmt.Errorf("filter %q: %w", f.Title, err)
				}
				x, err := fc.cond(pc)
				if err != nil {
					return nil, fmt.Errorf("filter %q: %w", f.Title, err)
				}
				det = and(det, &eql.Not{X: x})
			}
		}
		alts = append(alts, and(sourceExpr(s), det))
	}
	var out eql.Expr
	for _, a := range alts {
		out = or(out, a)
	}
	return out, nil
}

// SourceExpr is the test of a source's channels, event IDs and conditions;
// nil when the source is every event.
func sourceExpr(s Source) eql.Expr {
	var x eql.Expr
	if len(s.Channels) > 0 {
		x = and(x, &eql.PatternMatch{X: systemField("Channel"), Kind: eql.MatchSeq, Patterns: s.Channels, List: len(s.Channels) > 1})
	}
	if len(s.EventIDs) > 0 {
		in := &eql.In{X: systemField("EventID")}
		for _, id := range s.EventIDs {
			in.List = append(in.List, &eql.Literal{Value: strconv.Itoa(id)})
		}
		x = and(x, in)
	}
	for _, f := range sortedKeys(s.Conditions) {
		x = and(x, &eql.PatternMatch{X: rawField(f), Kind: eql.MatchSeq, Patterns: s.Conditions[f], List: len(s.Conditions[f]) > 1})
	}
	return x
}

func and(a, b eql.Expr) eql.Expr {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return &eql.Binary{Op: eql.OpAnd, L: a, R: b}
}

func or(a, b eql.Expr) eql.Expr {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return &eql.Binary{Op: eql.OpOr, L: a, R: b}
}

func systemField(name string) *eql.Field {
	return &eql.Field{Path: []string{"weft", "system", name}}
}

func eventDataField(name string) *eql.Field {
	return &eql.Field{Path: []string{"weft", "event_data", name}}
}

// rawField is the document field of a Sigma field name.
func rawField(name string) *eql.Field {
	if a, ok := fieldAliases[name]; ok {
		name = a
	}
	if systemFields[name] {
		return systemField(name)
	}
	return eventDataField(name)
}

type compiler struct {
	det  *Detection
	src  Source
	opts Options
}

func (c *compiler) binary(op eql.Op, l, r cond) (eql.Expr, error) {
	le, err := c.cond(l)
	if err != nil {
		return nil, err
	}
	re, err := c.cond(r)
	if err != nil {
		return nil, err
	}
	return &eql.Binary{Op: op, L: le, R: re}, nil
}

func (c *compiler) cond(x cond) (eql.Expr, error) {
	switch x := x.(type) {
	case condAnd:
		return c.binary(eql.OpAnd, x.l, x.r)
	case condOr:
		return c.binary(eql.OpOr, x.l, x.r)
	case condNot:
		inner, err := c.cond(x.x)
		if err != nil {
			return nil, err
		}
		return &eql.Not{X: inner}, nil
	case condRef:
		s := c.det.search(x.name)
		if s == nil {
			return nil, fmt.Errorf("condition names search %q, which the detection does not define", x.name)
		}
		return c.search(s)
	case condOf:
		ss, err := c.det.searchesOf(x.pattern)
		if err != nil {
			return nil, err
		}
		var out eql.Expr
		for _, s := range ss {
			e, err := c.search(s)
			if err != nil {
				return nil, err
			}
			if x.all {
				out = and(out, e)
			} else {
				out = or(out, e)
			}
		}
		return out, nil
	}
	return nil, errors.New("unknown condition")
}

func (c *compiler) search(s *Search) (eql.Expr, error) {
	if len(s.Keywords) > 0 {
		x, err := c.match(&FieldMatch{Modifiers: []string{"contains"}, Values: s.Keywords, Line: s.Line})
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", s.Name, err)
		}
		return x, nil
	}
	var out eql.Expr
	for _, m := range s.Maps {
		var all eql.Expr
		for _, fm := range m {
			x, err := c.match(fm)
			if err != nil {
				return nil, fmt.Errorf("search %s: %w", s.Name, err)
			}
			all = and(all, x)
		}
		if all == nil {
			// An empty map holds for every event.
			all = &eql.Literal{Value: true}
		}
		out = or(out, all)
	}
	if out == nil {
		return nil, fmt.Errorf("search %s is empty", s.Name)
	}
	return out, nil
}

// mods are a field match's modifiers, read.
type mods struct {
	contains, startswith, endswith bool
	all, cased, neq                bool
	re                             bool
	reFlags                        string
	cidr, exists, fieldref         bool
	cmp                            eql.Op
	hasCmp                         bool
	transforms                     []string // value transformations, in order
}

func readMods(list []string) (*mods, error) {
	m := &mods{}
	for _, mod := range list {
		switch mod {
		case "contains":
			m.contains = true
		case "startswith":
			m.startswith = true
		case "endswith":
			m.endswith = true
		case "all":
			m.all = true
		case "cased":
			m.cased = true
		case "neq":
			m.neq = true
		case "re":
			m.re = true
		case "i", "m", "s":
			if !m.re {
				return nil, fmt.Errorf("modifier %s applies to re only", mod)
			}
			if !strings.Contains(m.reFlags, mod) {
				m.reFlags += mod
			}
		case "cidr":
			m.cidr = true
		case "exists":
			m.exists = true
		case "fieldref":
			m.fieldref = true
		case "gt", "gte", "lt", "lte":
			m.hasCmp = true
			m.cmp = map[string]eql.Op{"gt": eql.OpGt, "gte": eql.OpGte, "lt": eql.OpLt, "lte": eql.OpLte}[mod]
		case "windash", "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide", "expand":
			m.transforms = append(m.transforms, mod)
		case "minute", "hour", "day", "week", "month", "year":
			return nil, &UnsupportedError{Kind: "modifier", What: mod}
		default:
			return nil, &UnsupportedError{Kind: "modifier", What: strconv.Quote(mod)}
		}
	}
	if n := btoi(m.contains) + btoi(m.startswith) + btoi(m.endswith); n > 1 {
		return nil, errors.New("contains, startswith and endswith exclude each other")
	}
	return m, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// field is the expression a field match reads: the field, or every
// EventData value for a keyword.
func (c *compiler) field(name string) eql.Expr {
	if name == "" {
		return &eql.Values{Field: &eql.Field{Path: []string{"weft", "event_data"}}}
	}
	if mapped, ok := c.src.FieldMap[name]; ok {
		name = mapped
	}
	return rawField(name)
}

func (c *compiler) match(fm *FieldMatch) (eql.Expr, error) {
	m, err := readMods(fm.Modifiers)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fieldName(fm), err)
	}
	x, err := c.matchValues(fm, m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fieldName(fm), err)
	}
	if m.neq {
		x = &eql.Not{X: x}
	}
	return x, nil
}

func fieldName(fm *FieldMatch) string {
	if len(fm.Modifiers) == 0 {
		return fm.Field
	}
	return fm.Field + "|" + strings.Join(fm.Modifiers, "|")
}

func (c *compiler) matchValues(fm *FieldMatch, m *mods) (eql.Expr, error) {
	f := c.field(fm.Field)
	join := or
	if m.all {
		join = and
	}
	switch {
	case m.exists:
		if len(fm.Values) != 1 {
			return nil, errors.New("exists takes one value, true or false")
		}
		b, ok := fm.Values[0].(bool)
		if !ok {
			return nil, errors.New("exists takes true or false")
		}
		op := eql.OpEq
		if b {
			op = eql.OpNeq
		}
		return &eql.Binary{Op: op, L: f, R: &eql.Literal{}}, nil
	case m.hasCmp:
		var out eql.Expr
		for _, v := range fm.Values {
			n, err := number(v)
			if err != nil {
				return nil, err
			}
			out = join(out, &eql.Binary{Op: m.cmp, L: f, R: &eql.Literal{Value: n}})
		}
		return out, nil
	case m.cidr:
		var out eql.Expr
		for _, v := range fm.Values {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("cidr value %v is not a string", v)
			}
			out = join(out, &eql.Call{Name: "cidrMatch", Args: []eql.Expr{f, &eql.Literal{Value: s}}})
		}
		return out, nil
	case m.fieldref:
		var out eql.Expr
		for _, v := range fm.Values {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("fieldref value %v is not a field name", v)
			}
			out = join(out, c.fieldRef(f, c.field(s), m))
		}
		return out, nil
	}
	// Values: one set of patterns per value; the variants of one value
	// (windash, base64offset, placeholders) are alternatives.
	var out eql.Expr
	var nulls eql.Expr
	var group []pattern // values joined with or share one match node
	for _, v := range fm.Values {
		if v == nil {
			nulls = or(nulls, or(&eql.Binary{Op: eql.OpEq, L: f, R: &eql.Literal{}}, &eql.PatternMatch{X: f, Kind: eql.MatchSeq, Patterns: []string{""}}))
			continue
		}
		variants, err := c.variants(v, m)
		if err != nil {
			return nil, err
		}
		if m.all {
			out = and(out, patternsExpr(f, variants, m))
			continue
		}
		group = append(group, variants...)
	}
	if len(group) > 0 {
		out = or(out, patternsExpr(f, group, m))
	}
	if nulls != nil {
		if m.all {
			out = and(out, nulls)
		} else {
			out = or(out, nulls)
		}
	}
	return out, nil
}

func number(v any) (any, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case string:
		if i, err := strconv.ParseInt(x, 0, 64); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return f, nil
		}
	}
	return nil, fmt.Errorf("%v is not a number", v)
}

// fieldRef compares a field with another field of the same event.
func (c *compiler) fieldRef(f, other eql.Expr, m *mods) eql.Expr {
	fold := !m.cased
	switch {
	case m.contains:
		return &eql.Call{Name: "stringContains", Insensitive: fold, Args: []eql.Expr{f, other}}
	case m.startswith:
		return &eql.Call{Name: "startsWith", Insensitive: fold, Args: []eql.Expr{f, other}}
	case m.endswith:
		return &eql.Call{Name: "endsWith", Insensitive: fold, Args: []eql.Expr{f, other}}
	}
	if fold {
		return &eql.In{X: f, List: []eql.Expr{other}, Insensitive: true}
	}
	return &eql.Binary{Op: eql.OpEq, L: f, R: other}
}

// pattern is one value to match, as Sigma writes it: '*' and '?' are
// wildcards unless escaped with '\'; re holds a regular expression.
type pattern struct {
	s  string
	re bool
}

// variants turns one rule value into the patterns it stands for.
func (c *compiler) variants(v any, m *mods) ([]pattern, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case int64:
		s = strconv.FormatInt(x, 10)
	case bool:
		s = strconv.FormatBool(x)
	default:
		return nil, fmt.Errorf("value %v of type %T", v, v)
	}
	if m.re {
		if len(m.transforms) > 0 || m.contains || m.startswith || m.endswith {
			return nil, errors.New("re does not combine with value modifiers")
		}
		p := s
		flags := m.reFlags
		if flags != "" {
			p = "(?" + flags + ")" + p
		}
		if _, err := regexp.Compile(p); err != nil {
			return nil, &UnsupportedError{Kind: "regular expression", What: fmt.Sprintf("%q (%v)", s, err)}
		}
		return []pattern{{s: p, re: true}}, nil
	}
	// From here on values are canonical Sigma strings, where every literal
	// backslash is escaped, so that the wildcards contains, startswith and
	// endswith add never combine with a trailing backslash of the value
	// ('\PowerShell\' + '*' is not an escaped '*').
	vals := []string{canonical(s)}
	for _, t := range m.transforms {
		var next []string
		for _, x := range vals {
			out, err := c.transform(t, x)
			if err != nil {
				return nil, err
			}
			next = append(next, out...)
			if len(next) > maxVariants {
				return nil, fmt.Errorf("value %q expands to more than %d values", s, maxVariants)
			}
		}
		vals = next
	}
	out := make([]pattern, 0, len(vals))
	for _, x := range vals {
		switch {
		case m.contains:
			x = "*" + x + "*"
		case m.startswith:
			x = x + "*"
		case m.endswith:
			x = "*" + x
		}
		out = append(out, pattern{s: x})
	}
	return out, nil
}

// transform applies one value modifier to a Sigma string.
func (c *compiler) transform(t, s string) ([]string, error) {
	switch t {
	case "windash":
		return windash(s), nil
	case "expand":
		return c.expand(s)
	case "base64":
		return []string{escape(base64.StdEncoding.EncodeToString([]byte(unescape(s))))}, nil
	case "base64offset":
		return base64Offsets(unescape(s)), nil
	case "utf16le", "wide":
		return []string{escape(utf16Bytes(unescape(s), false, false))}, nil
	case "utf16be":
		return []string{escape(utf16Bytes(unescape(s), true, false))}, nil
	case "utf16":
		return []string{escape(utf16Bytes(unescape(s), false, true))}, nil
	}
	return nil, &UnsupportedError{Kind: "modifier", What: t}
}

// windash gives every combination of -, /, – (en dash), — (em dash) and
// ― (horizontal bar) where the value has one of them at the start of a
// word (after a non-word character, before a word character), as
// pySigma's windash does.
func windash(s string) []string {
	dashes := []string{"-", "/", "–", "—", "―"}
	rs := []rune(s)
	var at []int
	for i, r := range rs {
		if r != '-' && r != '/' && r != '–' && r != '—' && r != '―' {
			continue
		}
		before := i == 0 || !isWord(rs[i-1])
		after := i+1 < len(rs) && isWord(rs[i+1])
		if before && after {
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return []string{s}
	}
	if len(at) > 5 { // 5^5 variants at most
		at = at[:5]
	}
	out := []string{""}
	prev := 0
	for _, i := range at {
		lit := string(rs[prev:i])
		var next []string
		for _, o := range out {
			for _, d := range dashes {
				next = append(next, o+lit+d)
			}
		}
		out = next
		prev = i + 1
	}
	tail := string(rs[prev:])
	for i := range out {
		out[i] += tail
	}
	return out
}

func isWord(r rune) bool {
	return r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r > 127
}

var placeholderRe = regexp.MustCompile(`%[A-Za-z0-9_.-]+%`)

// expand replaces %name% placeholders with each of their values.
func (c *compiler) expand(s string) ([]string, error) {
	out := []string{s}
	for {
		loc := placeholderRe.FindStringIndex(out[0])
		if loc == nil {
			return out, nil
		}
		name := out[0][loc[0]+1 : loc[1]-1]
		vals, ok := c.opts.Placeholders[name]
		if !ok || len(vals) == 0 {
			return nil, &UnsupportedError{Kind: "placeholder", What: "%" + name + "%"}
		}
		var next []string
		for _, o := range out {
			l := placeholderRe.FindStringIndex(o)
			for _, v := range vals {
				next = append(next, o[:l[0]]+v+o[l[1]:])
			}
		}
		if len(next) > maxVariants {
			return nil, fmt.Errorf("placeholders expand to more than %d values", maxVariants)
		}
		out = next
	}
}

// base64Offsets gives the three base64 encodings of s at the offsets 0, 1
// and 2 within the encoded text, cut to the characters that do not depend
// on what surrounds s, as pySigma's base64offset does.
func base64Offsets(s string) []string {
	start := []int{0, 2, 3}
	end := []int{0, -3, -2}
	out := make([]string, 0, 3)
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append([]byte(strings.Repeat(" ", i)), s...))
		e := end[(len(s)+i)%3]
		hi := len(enc)
		if e != 0 {
			hi = len(enc) + e
		}
		if start[i] > hi {
			continue
		}
		out = append(out, escape(enc[start[i]:hi]))
	}
	return out
}

func utf16Bytes(s string, bigEndian, bom bool) string {
	var b []byte
	put := func(u uint16) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	if bom {
		put(0xFEFF)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		put(u)
	}
	return string(b)
}

// canonical rewrites a Sigma string with every literal backslash escaped.
// Sigma reads a backslash as an escape only before '*', '?' or another
// backslash; elsewhere it is a literal backslash.
func canonical(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\'):
			b.WriteByte('\\')
			i++
			b.WriteByte(s[i])
		case s[i] == '\\':
			b.WriteString(`\\`)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// unescape reads a Sigma string as plain text: escapes removed, wildcards
// kept as the characters they are.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// escape writes plain text as a Sigma string that matches it literally.
func escape(s string) string {
	if !strings.ContainsAny(s, `*?\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '*' || s[i] == '?' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// patternsExpr matches f against patterns (any of them). Sigma strings
// whose literal parts hold no '*' or '?' become one EQL ':' (or, cased,
// like) match with the patterns as a list; the others, and regular
// expressions, become RE2 matches.
func patternsExpr(f eql.Expr, ps []pattern, m *mods) eql.Expr {
	var globs, res []string
	for _, p := range ps {
		if p.re {
			res = append(res, p.s)
			continue
		}
		if g, ok := glob(p.s); ok {
			globs = append(globs, g)
			continue
		}
		res = append(res, sigmaRegexp(p.s, !m.cased))
	}
	var out eql.Expr
	if len(globs) > 0 {
		kind := eql.MatchSeq
		if m.cased {
			kind = eql.MatchLike
		}
		out = &eql.PatternMatch{X: f, Kind: kind, Patterns: globs, List: len(globs) > 1}
	}
	if len(res) > 0 {
		out = or(out, &eql.PatternMatch{X: f, Kind: eql.MatchRE2, Patterns: res, List: len(res) > 1})
	}
	return out
}

// glob turns a Sigma string into an EQL wildcard pattern, which has no
// escape character: possible only when no escaped '*' or '?' remains.
func glob(s string) (string, bool) {
	if !strings.Contains(s, `\`) {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '*', '?':
				return "", false
			case '\\':
				i++
			}
		}
		b.WriteByte(s[i])
	}
	return b.String(), true
}

// sigmaRegexp turns a Sigma string into an anchored RE2 expression.
func sigmaRegexp(s string, fold bool) string {
	var b strings.Builder
	b.WriteString("(?s")
	if fold {
		b.WriteString("i")
	}
	b.WriteString(")^")
	var lit strings.Builder
	flush := func() {
		b.WriteString(regexp.QuoteMeta(lit.String()))
		lit.Reset()
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\'):
			i++
			lit.WriteByte(s[i])
		case ch == '*':
			flush()
			b.WriteString(".*")
		case ch == '?':
			flush()
			b.WriteString(".")
		default:
			lit.WriteByte(ch)
		}
	}
	flush()
	b.WriteString("$")
	return b.String()
}

func sortedKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
