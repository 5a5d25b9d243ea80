package sigma

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/weft-dev/weft/correlator/eql"
)

// Correlation is a Sigma correlation rule.
type Correlation struct {
	Title          string
	ID             string
	Name           string
	Status         string
	Description    string
	Author         string
	Level          string
	References     []string
	FalsePositives []string
	Tags           []string
	Type           string   // event_count, value_count, temporal, temporal_ordered
	Rules          []string // ids or names of the rules (or correlations) it correlates
	GroupBy        []string
	Timespan       time.Duration
	Condition      map[string]int64 // gt, gte, lt, lte, eq, neq → bound
	Field          string           // value_count: the field whose distinct values count
	Aliases        map[string]map[string]string
	Generate       bool
	Line           int
}

func parseCorrelation(root *yaml.Node) (*Correlation, error) {
	c := &Correlation{Line: root.Line}
	var err error
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"title", &c.Title}, {"id", &c.ID}, {"name", &c.Name}, {"status", &c.Status},
		{"description", &c.Description}, {"author", &c.Author}, {"level", &c.Level},
	} {
		if *f.dst, err = str(root, f.key); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		key string
		dst *[]string
	}{{"references", &c.References}, {"falsepositives", &c.FalsePositives}, {"tags", &c.Tags}} {
		if *f.dst, err = strList(root, f.key); err != nil {
			return nil, err
		}
	}
	c.Level, c.Status = strings.ToLower(c.Level), strings.ToLower(c.Status)
	body := lookup(root, "correlation")
	if body.Kind != yaml.MappingNode {
		return nil, errorf(body, "correlation must be a mapping")
	}
	if c.Type, err = str(body, "type"); err != nil {
		return nil, err
	}
	switch c.Type {
	case "event_count", "value_count", "temporal", "temporal_ordered":
	case "value_sum", "value_avg", "value_percentile":
		return nil, &UnsupportedError{Kind: "correlation type", What: c.Type}
	default:
		return nil, errorf(body, "correlation type %q is not event_count, value_count, temporal or temporal_ordered", c.Type)
	}
	if c.Rules, err = strList(body, "rules"); err != nil {
		return nil, err
	}
	if len(c.Rules) == 0 {
		return nil, errorf(body, "correlation.rules is missing")
	}
	if c.GroupBy, err = strList(body, "group-by"); err != nil {
		return nil, err
	}
	ts, err := str(body, "timespan")
	if err != nil {
		return nil, err
	}
	if c.Timespan, err = parseTimespan(ts); err != nil {
		return nil, errorf(lookup(body, "timespan"), "timespan: %v", err)
	}
	if g := lookup(body, "generate"); g != nil {
		c.Generate = g.Value == "true"
	} else if g := lookup(root, "generate"); g != nil {
		c.Generate = g.Value == "true"
	}
	if cn := lookup(body, "condition"); cn != nil {
		if cn.Kind != yaml.MappingNode {
			return nil, errorf(cn, "correlation condition must be a mapping such as gte: 10")
		}
		c.Condition = map[string]int64{}
		for i := 0; i+1 < len(cn.Content); i += 2 {
			k, v := cn.Content[i].Value, cn.Content[i+1]
			switch k {
			case "field":
				if v.Kind == yaml.SequenceNode {
					return nil, &UnsupportedError{Kind: "correlation", What: "value_count over several fields"}
				}
				c.Field = v.Value
			case "gt", "gte", "lt", "lte", "eq", "neq":
				n, err := strconv.ParseInt(v.Value, 10, 64)
				if err != nil {
					return nil, errorf(v, "condition %s: %q is not a whole number", k, v.Value)
				}
				c.Condition[k] = n
			default:
				return nil, errorf(cn.Content[i], "condition %q is not gt, gte, lt, lte, eq, neq or field", k)
			}
		}
	}
	switch c.Type {
	case "event_count", "value_count":
		if len(c.Condition) == 0 {
			return nil, errorf(body, "a %s correlation needs a condition", c.Type)
		}
		if c.Type == "value_count" && c.Field == "" {
			return nil, errorf(body, "a value_count correlation needs condition.field")
		}
	}
	if al := lookup(body, "aliases"); al != nil && al.Kind == yaml.MappingNode {
		c.Aliases = map[string]map[string]string{}
		for i := 0; i+1 < len(al.Content); i += 2 {
			name, m := al.Content[i].Value, al.Content[i+1]
			if m.Kind != yaml.MappingNode {
				return nil, errorf(m, "alias %s must map rule names to fields", name)
			}
			c.Aliases[name] = map[string]string{}
			for j := 0; j+1 < len(m.Content); j += 2 {
				c.Aliases[name][m.Content[j].Value] = m.Content[j+1].Value
			}
		}
	}
	return c, nil
}

// parseTimespan reads "90m": a whole number and s, m, h, d (or w, y as
// some tools accept).
func parseTimespan(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("%q is not a timespan such as 10m", s)
	}
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	u, ok := units[s[len(s)-1]]
	n, err := strconv.Atoi(s[:len(s)-1])
	if !ok || err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a timespan such as 10m", s)
	}
	return time.Duration(n) * u, nil
}

// Matches reports whether a count satisfies the condition.
func (c *Correlation) Matches(n int64) bool {
	for k, v := range c.Condition {
		ok := true
		switch k {
		case "gt":
			ok = n > v
		case "gte":
			ok = n >= v
		case "lt":
			ok = n < v
		case "lte":
			ok = n <= v
		case "eq":
			ok = n == v
		case "neq":
			ok = n != v
		}
		if !ok {
			return false
		}
	}
	return true
}

// Plan is a correlation compiled for a streaming engine: what each of its
// inputs matches and which fields group its events. The correlator runs it
// on its engine (correlator/sigmacorr.go): temporal_ordered on the EQL
// sequence state machines, the counts and temporal on windows per group,
// under the same event-time ordering, lateness, restart and handover.
type Plan struct {
	*Correlation
	// Inputs are the referenced rules and correlations, in the order of
	// correlation.rules.
	Inputs []Input
	// Upper is true when the condition bounds the count from above (lt,
	// lte, eq, neq): the count is final only when the window has closed.
	Upper bool
	// Threshold is, for a temporal or temporal_ordered correlation, the
	// number of distinct rules the condition asks for.
	Threshold int64
}

// Input is one entry of correlation.rules: a rule (Where, a condition on
// documents) or a correlation (Sub).
type Input struct {
	Ref   string
	Name  string // the rule's or correlation's name, which aliases use
	Rule  *Rule
	Where eql.Expr
	Sub   *Plan
	// Keys are the group-by fields as this input's events hold them
	// (aliases resolved), in group-by order; KeyNames their Sigma names.
	Keys     []eql.Expr
	KeyNames []string
	// Field is value_count's field in this input's events.
	Field eql.Expr
}

// Span is how far back in event time a match of the plan can reach: its
// timespan, plus the longest span of the correlations it uses.
func (p *Plan) Span() time.Duration {
	var sub time.Duration
	for _, in := range p.Inputs {
		if in.Sub != nil {
			sub = max(sub, in.Sub.Span())
		}
	}
	return p.Timespan + sub
}

// String describes the plan, one line, as rules list and check show it.
func (p *Plan) String() string {
	var b strings.Builder
	b.WriteString("correlation " + p.Type)
	if len(p.GroupBy) > 0 {
		b.WriteString(" by " + strings.Join(p.GroupBy, ", "))
	}
	if p.Field != "" {
		b.WriteString(" of " + p.Field)
	}
	b.WriteString(" within " + p.Timespan.String() + " where")
	for _, k := range sortedOps(p.Condition) {
		fmt.Fprintf(&b, " %s %d", k, p.Condition[k])
	}
	for _, in := range p.Inputs {
		if in.Sub != nil {
			b.WriteString(" [" + in.Sub.String() + "]")
		} else {
			b.WriteString(" [any where " + in.Where.String() + "]")
		}
		// The fields as this input's events name them (aliases), so that
		// a reload that changes them starts the correlation afresh.
		if len(in.KeyNames) > 0 {
			b.WriteString(" by " + strings.Join(in.KeyNames, ", "))
		}
		if in.Field != nil {
			b.WriteString(" of " + in.Field.String())
		}
	}
	return b.String()
}

func sortedOps(c map[string]int64) []string {
	var out []string
	for _, k := range []string{"gt", "gte", "lt", "lte", "eq", "neq"} {
		if _, ok := c[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

// Ref is what a correlation's rules entry names: a rule or a correlation.
type Ref struct {
	Rule        *Rule
	Correlation *Correlation
}

// Plan compiles the correlation for the engine. lookup finds what a
// rules entry names, by id or name. A correlation may use correlations
// (chains), not itself through them.
func (c *Correlation) Plan(lookup func(ref string) Ref, opts Options) (*Plan, error) {
	return c.plan(lookup, opts, nil)
}

func (c *Correlation) plan(lookup func(ref string) Ref, opts Options, path []*Correlation) (*Plan, error) {
	for _, p := range path {
		if p == c {
			return nil, fmt.Errorf("correlation %q refers to itself through the correlations it uses", c.Title)
		}
	}
	path = append(path, c)
	p := &Plan{Correlation: c}
	if len(c.Rules) == 0 {
		return nil, fmt.Errorf("correlation %q uses no rule", c.Title)
	}
	for _, ref := range c.Rules {
		in := Input{Ref: ref}
		switch r := lookup(ref); {
		case r.Rule != nil:
			where, err := r.Rule.Where(opts)
			if err != nil {
				return nil, fmt.Errorf("rule %q: %w", r.Rule.Title, err)
			}
			in.Rule, in.Where, in.Name = r.Rule, where, r.Rule.Name
		case r.Correlation != nil:
			sub, err := r.Correlation.plan(lookup, opts, path)
			if err != nil {
				return nil, err
			}
			in.Sub, in.Name = sub, r.Correlation.Name
		default:
			return nil, fmt.Errorf("correlation %q refers to rule %q, which is not loaded", c.Title, ref)
		}
		for _, g := range c.GroupBy {
			name := g
			if a, ok := c.Aliases[g][in.Name]; ok && in.Name != "" {
				name = a
			}
			in.Keys = append(in.Keys, rawField(name))
			in.KeyNames = append(in.KeyNames, name)
		}
		if c.Field != "" {
			name := c.Field
			if a, ok := c.Aliases[c.Field][in.Name]; ok && in.Name != "" {
				name = a
			}
			in.Field = rawField(name)
		}
		p.Inputs = append(p.Inputs, in)
	}
	for _, k := range []string{"lt", "lte", "eq", "neq"} {
		if _, ok := c.Condition[k]; ok {
			p.Upper = true
		}
	}
	switch c.Type {
	case "temporal", "temporal_ordered":
		n := int64(len(p.Inputs))
		if len(c.Condition) == 0 {
			p.Threshold = n
			break
		}
		// The least count of distinct rules the condition accepts.
		p.Threshold = -1
		for k := int64(1); k <= n; k++ {
			if c.Matches(k) {
				p.Threshold = k
				break
			}
		}
		if p.Threshold < 0 {
			return nil, fmt.Errorf("correlation %q: no count of its %d rules satisfies its condition", c.Title, n)
		}
		if c.Type == "temporal_ordered" && (p.Threshold != n || p.Upper) {
			return nil, &UnsupportedError{Kind: "temporal_ordered", What: "with a condition other than all of its rules"}
		}
		if c.Type == "temporal_ordered" && n < 2 {
			return nil, fmt.Errorf("a temporal_ordered correlation needs two rules or more")
		}
	}
	return p, nil
}

// Refs lists the rules and correlations the plan uses directly.
func (p *Plan) Refs() (rules []*Rule, correlations []*Correlation) {
	for _, in := range p.Inputs {
		if in.Rule != nil {
			rules = append(rules, in.Rule)
		} else {
			correlations = append(correlations, in.Sub.Correlation)
		}
	}
	return rules, correlations
}

// Leaves lists the rules the plan reads documents through, through the
// correlations it uses too, each once.
func (p *Plan) Leaves() []*Rule {
	var out []*Rule
	var walk func(*Plan)
	walk = func(p *Plan) {
		for _, in := range p.Inputs {
			switch {
			case in.Sub != nil:
				walk(in.Sub)
			case !slices.Contains(out, in.Rule):
				out = append(out, in.Rule)
			}
		}
	}
	walk(p)
	return out
}
