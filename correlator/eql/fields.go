package eql

import "slices"

// Fields lists the document fields the query reads, sorted and without
// repeats: those of its conditions and join keys, and event.category when
// a stage names a category. @timestamp, which every query but a sample
// reads, is not listed.
func (q *Query) Fields() []string {
	seen := map[string]bool{}
	walk := func(e Expr) {
		inspect(e, func(e Expr) {
			if f, ok := e.(*Field); ok {
				seen[f.Name()] = true
			}
		})
	}
	event := func(eq *EventQuery) {
		if eq.Category != "" {
			seen["event.category"] = true
		}
		walk(eq.Where)
	}
	stages := func(by []Expr, sts []*Stage) {
		for _, k := range by {
			walk(k)
		}
		for _, st := range sts {
			if st == nil {
				continue
			}
			event(&st.Query)
			for _, k := range st.By {
				walk(k)
			}
		}
	}
	switch {
	case q.Event != nil:
		event(q.Event)
	case q.Sequence != nil:
		stages(q.Sequence.By, append(slices.Clip(q.Sequence.Stages), q.Sequence.Until))
	case q.Sample != nil:
		stages(q.Sample.By, q.Sample.Filters)
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// inspect calls fn for e and for every expression inside it, parents
// before children.
func inspect(e Expr, fn func(Expr)) {
	if e == nil {
		return
	}
	fn(e)
	switch x := e.(type) {
	case *Binary:
		inspect(x.L, fn)
		inspect(x.R, fn)
	case *Not:
		inspect(x.X, fn)
	case *Neg:
		inspect(x.X, fn)
	case *In:
		inspect(x.X, fn)
		for _, l := range x.List {
			inspect(l, fn)
		}
	case *PatternMatch:
		inspect(x.X, fn)
		for _, o := range x.Operands {
			inspect(o, fn)
		}
	case *Call:
		for _, a := range x.Args {
			inspect(a, fn)
		}
	}
}
