package eql

import (
	"errors"
	"fmt"
	"time"

	"github.com/weft-dev/weft/event"
)

// Program is a compiled query: immutable, safe to share between goroutines.
// The state of a sequence or a sample lives in a *Sequence or *Sample made
// from it.
type Program struct {
	query  *Query
	event  *stage
	seq    *sequenceSpec
	sample *sampleSpec
	stages []*stage // distinct compiled stages: sequence stages before runs expansion, then until; or sample filters
	pipes  []Pipe
	cache  *FieldCache // the cache it was compiled with, or nil
}

// MaxStages bounds the distinct bracketed filters of one query, so that
// which of them an event matches fits a StageSet.
const MaxStages = 64

// StageSet records which of a program's distinct stages an event matches:
// bit i stands for stage i. Zero means the event is of no use to the
// program.
type StageSet uint64

// Has reports whether stage i is in the set.
func (s StageSet) Has(i int) bool { return s&(1<<uint(i)) != 0 }

// stage is a compiled event filter with its join keys.
type stage struct {
	id       int
	category string // "" matches any category
	cond     tester
	keys     []keyExpr
}

type keyExpr struct {
	ev       evaluator
	optional bool
}

type sequenceSpec struct {
	by      []keyExpr
	maxSpan time.Duration
	stages  []*stage // expanded: a stage with runs=3 appears three times; missing stages included
	missing []bool   // per expanded stage: a missing-event stage
	until   *stage

	positive []int // expanded indices of the positive stages, in order
	// gap is, per expanded stage, where a missing stage sits: the index in
	// positive of the positive stage before it, -1 when it leads (before
	// the first positive stage) and len(positive)-1 when it trails.
	gap      []int
	leading  bool // some missing stage comes before the first positive one
	trailing bool // some missing stage comes after the last positive one
}

type sampleSpec struct {
	by      []keyExpr
	filters []*stage
}

// Compile compiles a parsed query.
func Compile(q *Query) (*Program, error) {
	return compile(&compiler{src: q.Source}, q)
}

// CompileCached compiles a query whose conditions share their field
// lookups through cache with the other programs compiled with it. Such a
// program is used from the cache's goroutine only, with cache.Next called
// before each new document's Stages or Match.
func CompileCached(q *Query, cache *FieldCache) (*Program, error) {
	p, err := compile(&compiler{src: q.Source, cache: cache}, q)
	if err != nil {
		return nil, err
	}
	p.cache = cache
	cache.programs++
	return p, nil
}

// Cache is the field cache the program was compiled with (CompileCached),
// or nil.
func (p *Program) Cache() *FieldCache { return p.cache }

func compile(c *compiler, q *Query) (*Program, error) {
	p := &Program{query: q, pipes: q.Pipes}
	switch {
	case q.Event != nil:
		st, err := c.stage(q.Event, nil, 0)
		if err != nil {
			return nil, err
		}
		p.event = st
		p.stages = []*stage{st}
		return p, nil
	case q.Sequence != nil:
		return p, c.sequence(p, q.Sequence)
	case q.Sample != nil:
		return p, c.sample(p, q.Sample)
	}
	return nil, errors.New("eql: empty query")
}

func (c *compiler) sequence(p *Program, s *SequenceQuery) error {
	if n := len(s.Stages) + btoi(s.Until != nil); n > MaxStages {
		return c.errorf(s.Pos, "a query may have at most %d stages, found %d", MaxStages, n)
	}
	spec := &sequenceSpec{maxSpan: s.MaxSpan}
	by, err := c.keys(s.By)
	if err != nil {
		return err
	}
	spec.by = by
	for _, st := range s.Stages {
		cs, err := c.stage(&st.Query, st.By, len(p.stages))
		if err != nil {
			return err
		}
		p.stages = append(p.stages, cs)
		for i := 0; i < st.Runs; i++ {
			if !st.Missing {
				spec.positive = append(spec.positive, len(spec.stages))
			}
			spec.stages = append(spec.stages, cs)
			spec.missing = append(spec.missing, st.Missing)
		}
	}
	if s.Until != nil {
		cs, err := c.stage(&s.Until.Query, s.Until.By, len(p.stages))
		if err != nil {
			return err
		}
		p.stages = append(p.stages, cs)
		spec.until = cs
	}
	spec.gap = make([]int, len(spec.stages))
	seen := -1
	for i, missing := range spec.missing {
		if !missing {
			seen++
			spec.gap[i] = seen
			continue
		}
		spec.gap[i] = seen
		switch seen {
		case -1:
			spec.leading = true
		case len(spec.positive) - 1:
			spec.trailing = true
		}
	}
	p.seq = spec
	return nil
}

func (c *compiler) sample(p *Program, s *SampleQuery) error {
	spec := &sampleSpec{}
	by, err := c.keys(s.By)
	if err != nil {
		return err
	}
	spec.by = by
	for _, f := range s.Filters {
		cs, err := c.stage(&f.Query, f.By, len(p.stages))
		if err != nil {
			return err
		}
		p.stages = append(p.stages, cs)
		spec.filters = append(spec.filters, cs)
	}
	p.sample = spec
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
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
	if !c.plain {
		cond = optimize(cond)
	}
	return &stage{id: id, category: q.Category, cond: asTester(cond), keys: keys}, nil
}

func (c *compiler) keys(exprs []Expr) ([]keyExpr, error) {
	c.inKeys = true
	defer func() { c.inKeys = false }()
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
	return s.cond.test(d)
}

// Query returns the parsed query.
func (p *Program) Query() *Query { return p.query }

// IsSequence reports whether the program is a sequence query.
func (p *Program) IsSequence() bool { return p.seq != nil }

// IsSample reports whether the program is a sample query.
func (p *Program) IsSample() bool { return p.sample != nil }

// Pipes returns the query's pipes, in order.
func (p *Program) Pipes() []Pipe { return p.pipes }

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

// DocCategories is a document's event.category, read once so that several
// programs can test it.
type DocCategories struct{ v any }

// CategoriesOf reads a document's event.category.
func CategoriesOf(d event.Document) DocCategories { return DocCategories{categoryPath.lookup(d)} }

// Has reports whether the document has the category.
func (c DocCategories) Has(cat string) bool { return hasCategory(c.v, cat) }

// Each calls fn for each category string of the document.
func (c DocCategories) Each(fn func(string)) {
	switch v := c.v.(type) {
	case string:
		fn(v)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				fn(s)
			}
		}
	case []string:
		for _, s := range v {
			fn(s)
		}
	}
}

// Stages returns the stages (for an event query, the query; for a
// sequence, its stages and until; for a sample, its filters) that the
// document matches. It is the whole cost of a document the program has no
// use for.
func (p *Program) Stages(d event.Document, cats DocCategories) StageSet {
	var set StageSet
	for _, st := range p.stages {
		if st.matches(d, cats.v) {
			set |= 1 << uint(st.id)
		}
	}
	return set
}

// Match reports whether an event query matches the document. For a
// sequence or a sample it reports whether the document matches any of its
// stages: it is of interest to the query.
func (p *Program) Match(d event.Document) bool {
	return p.Stages(d, CategoriesOf(d)) != 0
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

// CompileField compiles a field name such as "host.id" (dots separate
// parts) as an expression.
func CompileField(name string) (*Expression, error) {
	x, err := ParseExpr(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not a field name: %w", name, err)
	}
	if _, ok := x.(*Field); !ok {
		return nil, fmt.Errorf("%q is not a field name", name)
	}
	ev, err := (&compiler{src: name}).expr(x)
	if err != nil {
		return nil, err
	}
	return &Expression{ev: ev}, nil
}

// Eval evaluates the expression against a document and returns the result
// as a plain Go value: nil, bool, int64, float64, string or []any.
func (e *Expression) Eval(d event.Document) any { return toAny(e.ev.eval(d)) }

// EvalString evaluates the expression and returns it when it is a string,
// without the allocation of boxing it.
func (e *Expression) EvalString(d event.Document) (string, bool) {
	v := e.ev.eval(d)
	return v.s, v.k == kString
}

// Test evaluates the expression as a condition.
func (e *Expression) Test(d event.Document) bool { return truthy(e.ev.eval(d)) }

// CompileTree compiles an expression tree built in Go rather than parsed,
// such as the raw fields a Sigma correlation groups by, whose names need
// not be EQL identifiers.
func CompileTree(x Expr) (*Expression, error) {
	ev, err := (&compiler{src: x.String(), inKeys: true}).expr(x)
	if err != nil {
		return nil, err
	}
	return &Expression{ev: ev}, nil
}
