package eql

import (
	"errors"
	"time"

	"github.com/weft-dev/weft/event"
)

// Program is a compiled query: immutable, safe to share between goroutines.
// Sequence state lives in a *Sequence made from it.
type Program struct {
	query  *Query
	event  *stage
	seq    *sequenceSpec
	stages []*stage // distinct compiled stages (sequence stages before runs expansion, then until)
}

// stage is a compiled event filter with its join keys.
type stage struct {
	id       int
	category string // "" matches any category
	cond     evaluator
	keys     []keyExpr
}

type keyExpr struct {
	ev       evaluator
	optional bool
}

type sequenceSpec struct {
	by      []keyExpr
	maxSpan time.Duration
	stages  []*stage // expanded: a stage with runs=3 appears three times
	until   *stage
}

// Compile compiles a parsed query.
func Compile(q *Query) (*Program, error) {
	c := &compiler{src: q.Source}
	p := &Program{query: q}
	if q.Event != nil {
		st, err := c.stage(q.Event, nil, 0)
		if err != nil {
			return nil, err
		}
		p.event = st
		p.stages = []*stage{st}
		return p, nil
	}
	s := q.Sequence
	if s == nil {
		return nil, errors.New("eql: empty query")
	}
	for _, st := range s.Stages {
		if st.Missing {
			return nil, c.errorf(st.Pos, "missing-event stages (![...]) are not supported by the streaming engine")
		}
	}
	spec := &sequenceSpec{maxSpan: s.MaxSpan}
	by, err := c.keys(s.By)
	if err != nil {
		return nil, err
	}
	spec.by = by
	for _, st := range s.Stages {
		cs, err := c.stage(&st.Query, st.By, len(p.stages))
		if err != nil {
			return nil, err
		}
		p.stages = append(p.stages, cs)
		for i := 0; i < st.Runs; i++ {
			spec.stages = append(spec.stages, cs)
		}
	}
	if s.Until != nil {
		cs, err := c.stage(&s.Until.Query, s.Until.By, len(p.stages))
		if err != nil {
			return nil, err
		}
		p.stages = append(p.stages, cs)
		spec.until = cs
	}
	p.seq = spec
	return p, nil
}

// CompileString parses and compiles a query.
func CompileString(src string) (*Program, error) {
	q, err := Parse(src)
	if err != nil {
		return nil, err
	}
	return Compile(q)
}

func (c *compiler) stage(q *EventQuery, by []Expr, id int) (*stage, error) {
	cond, err := c.condition(q.Where)
	if err != nil {
		return nil, err
	}
	keys, err := c.keys(by)
	if err != nil {
		return nil, err
	}
	return &stage{id: id, category: q.Category, cond: cond, keys: keys}, nil
}

func (c *compiler) keys(exprs []Expr) ([]keyExpr, error) {
	out := make([]keyExpr, 0, len(exprs))
	for _, e := range exprs {
		ev, err := c.expr(e)
		if err != nil {
			return nil, err
		}
		f, isField := e.(*Field)
		out = append(out, keyExpr{ev: ev, optional: isField && f.Optional})
	}
	return out, nil
}

// matches tests the category, then the condition.
func (s *stage) matches(d event.Document, categories any) bool {
	if s.category != "" && !hasCategory(categories, s.category) {
		return false
	}
	return truthy(s.cond.eval(d))
}

// Query returns the parsed query.
func (p *Program) Query() *Query { return p.query }

// IsSequence reports whether the program is a sequence query.
func (p *Program) IsSequence() bool { return p.seq != nil }

// MaxSpan is the sequence's maxspan, 0 when unbounded or not a sequence.
func (p *Program) MaxSpan() time.Duration {
	if p.seq == nil {
		return 0
	}
	return p.seq.maxSpan
}

// Categories lists the event categories the program can match, so callers
// can skip documents of other categories. any is true when some stage
// matches every category; then the list is not a filter.
func (p *Program) Categories() (categories []string, any bool) {
	seen := map[string]bool{}
	for _, st := range p.stages {
		if st.category == "" {
			any = true
			continue
		}
		if !seen[st.category] {
			seen[st.category] = true
			categories = append(categories, st.category)
		}
	}
	return categories, any
}

// Match reports whether an event query matches the document. For a
// sequence it reports whether any stage, or the until stage, matches: the
// document is of interest to the sequence.
func (p *Program) Match(d event.Document) bool {
	cats := documentCategories(d)
	for _, st := range p.stages {
		if st.matches(d, cats) {
			return true
		}
	}
	return false
}

// Expression is a compiled bare expression such as `length(process.name) > 8`.
type Expression struct {
	ev evaluator
}

// CompileExpr parses and compiles a bare expression.
func CompileExpr(src string) (*Expression, error) {
	x, err := ParseExpr(src)
	if err != nil {
		return nil, err
	}
	ev, err := (&compiler{src: src}).expr(x)
	if err != nil {
		return nil, err
	}
	return &Expression{ev: ev}, nil
}

// Eval evaluates the expression against a document and returns the result
// as a plain Go value: nil, bool, int64, float64, string or []any.
func (e *Expression) Eval(d event.Document) any { return toAny(e.ev.eval(d)) }

// Test evaluates the expression as a condition.
func (e *Expression) Test(d event.Document) bool { return truthy(e.ev.eval(d)) }
