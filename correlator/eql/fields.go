package eql

import "slices"

// Fields lists the document fields the query reads, sorted and without
// repeats: those of its conditions and join keys, and event.category when
// a stage names a category. @timestamp, which every query but a sample
// reads, is not listed.
func (q *Query) Fields() []string {
	seen := map[string]bool{}
	var walk func(e Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case *Field:
			seen[x.Name()] = true
		case *Binary:
			walk(x.L)
			walk(x.R)
		case *Not:
			walk(x.X)
		case *Neg:
			walk(x.X)
		case *In:
			walk(x.X)
			for _, l := range x.List {
				walk(l)
			}
		case *PatternMatch:
			walk(x.X)
		case *Call:
			for _, a := range x.Args {
				walk(a)
			}
		}
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
