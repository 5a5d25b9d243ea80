package sigma

import (
	"fmt"
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

// maxRuns bounds an event_count, as EQL bounds "with runs".
const maxRuns = 100

// Query compiles the correlation onto an EQL sequence, so that it runs on
// the engine's sequence state machines with their ordering, lateness,
// expiry, restart and handover: temporal_ordered is "sequence by keys with
// maxspan=timespan [rule 1] by keys [rule 2] by keys ...", and an
// event_count of at least N is "sequence by keys with maxspan=timespan
// [rules] with runs=N" (a count of one is the rules' event query). lookup
// finds a referenced rule by id or name. Like every sequence in weft, a
// correlation holds within one host (the engine's partition), on top of
// its group-by fields.
//
// Not supported, and said so: value_count; temporal (any order); an
// event_count bounded from above (lt, lte, eq, neq), which needs the end
// of a window rather than the event that completes a count; correlations
// of correlations.
func (c *Correlation) Query(lookup func(ref string) *Rule, opts Options) (*eql.Query, []*Rule, error) {
	var rules []*Rule
	for _, ref := range c.Rules {
		r := lookup(ref)
		if r == nil {
			return nil, nil, fmt.Errorf("correlation %q refers to rule %q, which is not loaded (correlations of correlations are not supported)", c.Title, ref)
		}
		rules = append(rules, r)
	}
	keys := func(r *Rule) []eql.Expr {
		out := make([]eql.Expr, 0, len(c.GroupBy))
		for _, g := range c.GroupBy {
			name := g
			if a, ok := c.Aliases[g][r.Name]; ok {
				name = a
			}
			out = append(out, rawField(name))
		}
		return out
	}
	switch c.Type {
	case "temporal_ordered":
		if len(rules) < 2 {
			return nil, nil, fmt.Errorf("a temporal_ordered correlation needs two rules or more")
		}
		seq := &eql.SequenceQuery{MaxSpan: c.Timespan}
		for _, r := range rules {
			where, err := r.Where(opts)
			if err != nil {
				return nil, nil, fmt.Errorf("rule %q: %w", r.Title, err)
			}
			seq.Stages = append(seq.Stages, &eql.Stage{Query: eql.EventQuery{Where: where}, By: keys(r), Runs: 1})
		}
		return &eql.Query{Source: seq.String(), Sequence: seq}, rules, nil
	case "event_count":
		runs := int64(0)
		for k, v := range c.Condition {
			switch k {
			case "gte":
				runs = max(runs, v)
			case "gt":
				runs = max(runs, v+1)
			default:
				return nil, nil, &UnsupportedError{Kind: "correlation condition", What: k + " (an event_count needs gt or gte)"}
			}
		}
		if runs > maxRuns {
			return nil, nil, &UnsupportedError{Kind: "event_count", What: fmt.Sprintf("of %d events (at most %d)", runs, maxRuns)}
		}
		var where eql.Expr
		var by []eql.Expr
		for i, r := range rules {
			w, err := r.Where(opts)
			if err != nil {
				return nil, nil, fmt.Errorf("rule %q: %w", r.Title, err)
			}
			where = or(where, w)
			k := keys(r)
			if i > 0 && fmt.Sprint(k) != fmt.Sprint(by) {
				return nil, nil, &UnsupportedError{Kind: "event_count", What: "with aliases that differ between its rules"}
			}
			by = k
		}
		if runs <= 1 {
			q := &eql.EventQuery{Where: where}
			return &eql.Query{Source: q.String(), Event: q}, rules, nil
		}
		seq := &eql.SequenceQuery{MaxSpan: c.Timespan, By: by,
			Stages: []*eql.Stage{{Query: eql.EventQuery{Where: where}, Runs: int(runs)}}}
		return &eql.Query{Source: seq.String(), Sequence: seq}, rules, nil
	}
	return nil, nil, &UnsupportedError{Kind: "correlation type", What: c.Type}
}
