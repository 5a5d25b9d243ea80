package eql

import "github.com/weft-dev/weft/event"

// ReferenceMatching returns a copy of p whose field pattern matches test
// their patterns one at a time against the value as it lies (each
// foldMatch folding it again), without prefilters or the shared search of
// a field cache, as fieldMatch did before it lowered the value once: the
// baseline of BenchmarkSigmaProcessCreation.
func ReferenceMatching(p *Program) *Program {
	q := *p
	q.stages = make([]*stage, len(p.stages))
	for i, st := range p.stages {
		c := *st
		c.cond = referenceTester(st.cond)
		q.stages[i] = &c
	}
	return &q
}

// referenceFieldMatch is fieldMatch.test as it was.
type referenceFieldMatch struct{ *fieldMatch }

func (n referenceFieldMatch) test(d event.Document) bool {
	if s, ok := n.fp.lookup(d).(string); ok {
		for _, m := range n.general.matchers {
			if m.matchString(s) {
				return true
			}
		}
		return false
	}
	return truthy(n.general.eval(d))
}

func referenceTester(t tester) tester {
	switch n := t.(type) {
	case *fieldMatch:
		return referenceFieldMatch{n}
	case *chainNode:
		c := &chainNode{and: n.and, items: n.items, tests: make([]tester, len(n.tests))}
		for i, x := range n.tests {
			c.tests[i] = referenceTester(x)
		}
		return c
	case *notTest:
		return &notTest{x: referenceTester(n.x)}
	case *prefilter:
		return referenceTester(n.cond)
	}
	return t
}
