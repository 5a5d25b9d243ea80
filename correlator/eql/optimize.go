package eql

import (
	"slices"

	"github.com/weft-dev/weft/event"
)

// optimizeNode rewrites a compiled condition so that a document it rejects
// costs as little as possible: chains of and/or are flattened and their
// operands ordered cheapest first (EQL conditions have no side effects and
// and/or are two-valued, so the order cannot change the result), and
// comparisons of a field with a string constant test the raw document
// value without converting it.
func optimizeNode(ev evaluator) evaluator {
	switch n := ev.(type) {
	case *andNode:
		return newChain(true, flatten(n, true))
	case *orNode:
		return newChain(false, flatten(n, false))
	case *notNode:
		return &notTest{x: asTester(optimizeNode(n.x))}
	case *boolNode:
		return optimizeNode(n.x)
	case *cmpNode:
		return specializeCmp(n)
	case *matchNode:
		if f, ok := n.x.(*fieldNode); ok {
			return newFieldMatch(f.fp, n)
		}
	}
	return ev
}

// notTest is not, on a condition.
type notTest struct{ x tester }

func (n *notTest) test(d event.Document) bool  { return !n.x.test(d) }
func (n *notTest) eval(d event.Document) value { return boolValue(n.test(d)) }

// fieldMatch is a pattern match (':', like, regex) on a field: a plain
// string is matched where it lies. The case-insensitive '*' patterns
// (most of Sigma's contains, startswith, endswith lists) are matched
// against the value lowered once, not folded again for each pattern.
type fieldMatch struct {
	fp      *fieldPath
	general *matchNode
	folds   []*foldMatch    // the foldMatch patterns of general
	rest    []stringMatcher // its other patterns
	lower   bool            // lowering the value first pays: a middle part to search, or several patterns

	// With a field cache, the folds are registered with the field's
	// shared search (multiMatcher) as node, which decides them all in one
	// scan per document; checked are those it only marks (see addNode).
	multi   *multiMatcher
	node    int32
	checked []int32
}

// lowerBufSize is the value length lowered on the stack; longer values
// (rare command lines) take one allocation.
const lowerBufSize = 512

func newFieldMatch(fp *fieldPath, general *matchNode) *fieldMatch {
	n := &fieldMatch{fp: fp, general: general}
	for _, m := range general.matchers {
		if f, ok := m.(*foldMatch); ok {
			n.folds = append(n.folds, f)
			n.lower = n.lower || len(f.parts) > 2
		} else {
			n.rest = append(n.rest, m)
		}
	}
	n.lower = n.lower || len(n.folds) > 2
	if fp.cache != nil && len(n.folds) > 0 {
		n.multi = fp.slot.multiMatcher()
		n.node, n.checked = n.multi.addNode(n.folds)
	}
	return n
}

func (n *fieldMatch) test(d event.Document) bool {
	if m := n.multi; m != nil && m.gen == n.fp.cache.gen {
		// The field's value is a string the shared search has searched
		// for this document (scan runs on strings only): read the marks.
		// This is the prefilters' hot path.
		if m.match(n.node, n.checked, n.fp.slot.low, m.gen) {
			return true
		}
		for _, r := range n.rest {
			if r.matchString(n.fp.slot.v.(string)) {
				return true
			}
		}
		return false
	}
	s, ok := n.fp.lookup(d).(string)
	if !ok {
		return truthy(n.general.eval(d))
	}
	// The patterns are alternatives without side effects: their order
	// cannot change the result.
	if len(n.folds) > 0 && n.matchFolds(s) {
		return true
	}
	for _, m := range n.rest {
		if m.matchString(s) {
			return true
		}
	}
	return false
}

// matchFolds tests s against the foldMatch patterns. With a field cache
// the value is lowered once per document for every rule, and searched
// once for the patterns of all of them (multiMatcher).
func (n *fieldMatch) matchFolds(s string) bool {
	switch {
	case n.multi != nil:
		low, gen := n.fp.lowered(s), n.fp.cache.gen
		n.multi.scan(low, gen)
		return n.multi.match(n.node, n.checked, low, gen)
	case foldsToASCII(s):
	case n.lower:
		var buf [lowerBufSize]byte
		return n.matchLowered(lowerASCII(s, buf[:]))
	default:
		for _, m := range n.folds {
			if m.matchASCIIFold(s) {
				return true
			}
		}
		return false
	}
	// s holds a character that folds onto an ASCII letter.
	for _, m := range n.folds {
		if m.glob.matchString(s) {
			return true
		}
	}
	return false
}

func (n *fieldMatch) matchLowered(low string) bool {
	for _, m := range n.folds {
		if m.matchLower(low) {
			return true
		}
	}
	return false
}

func (n *fieldMatch) eval(d event.Document) value { return boolValue(n.test(d)) }

// flatten collects the operands of nested and (or or) nodes, optimized.
func flatten(ev evaluator, and bool) []evaluator {
	var l, r evaluator
	switch n := ev.(type) {
	case *andNode:
		if !and {
			return []evaluator{optimizeNode(n)}
		}
		l, r = n.l, n.r
	case *orNode:
		if and {
			return []evaluator{optimizeNode(n)}
		}
		l, r = n.l, n.r
	case *chainNode:
		if n.and == and {
			return n.items
		}
		return []evaluator{n}
	default:
		return []evaluator{optimizeNode(ev)}
	}
	return append(flatten(l, and), flatten(r, and)...)
}

func newChain(and bool, items []evaluator) evaluator {
	slices.SortStableFunc(items, func(a, b evaluator) int { return cost(a) - cost(b) })
	n := &chainNode{and: and, items: items, tests: make([]tester, len(items))}
	for i, it := range items {
		n.tests[i] = asTester(it)
	}
	return n
}

// tester is a condition that answers true or false without building a
// value: the hot path of a document a query rejects.
type tester interface {
	test(d event.Document) bool
}

// evalTester reads any evaluator as a condition.
type evalTester struct{ ev evaluator }

func (t evalTester) test(d event.Document) bool { return truthy(t.ev.eval(d)) }

func asTester(ev evaluator) tester {
	if t, ok := ev.(tester); ok {
		return t
	}
	return evalTester{ev}
}

// chainNode is a flattened run of and (or or) operands, evaluated in order
// until one decides the result.
type chainNode struct {
	and   bool
	items []evaluator
	tests []tester // items as conditions
}

func (n *chainNode) test(d event.Document) bool {
	for _, t := range n.tests {
		if t.test(d) != n.and {
			return !n.and
		}
	}
	return n.and
}

func (n *chainNode) eval(d event.Document) value { return boolValue(n.test(d)) }

// Relative costs of evaluation: a field lookup is a few map lookups, a
// wildcard a scan of the string, a regular expression or a function call
// much more.
const (
	costField    = 4
	costCompare  = 1
	costWildcard = 6
	costRegexp   = 40
	costCall     = 20
	costIP       = 15
)

func cost(ev evaluator) int {
	switch n := ev.(type) {
	case constNode:
		return 0
	case *fieldNode:
		return costField * len(n.fp.parts)
	case *fieldStrCmp:
		return costField*len(n.fp.parts) + costCompare
	case *fieldMatch:
		return cost(n.general)
	case *prefilter:
		return cost(n.general)
	case *notTest:
		if ev, ok := n.x.(evaluator); ok {
			return cost(ev)
		}
		return cost(n.x.(evalTester).ev)
	case *notNode:
		return cost(n.x)
	case *boolNode:
		return cost(n.x)
	case *isNullNode:
		return cost(n.x)
	case *cmpNode:
		return cost(n.l) + cost(n.r) + costCompare
	case *arithNode:
		return cost(n.l) + cost(n.r) + 2*costCompare
	case *ipMatchNode:
		return cost(n.x) + costIP
	case *inNode:
		c := cost(n.x) + costCompare*len(n.consts)
		if n.set != nil {
			c = cost(n.x) + 2*costCompare
		}
		for _, e := range n.dynamic {
			c += cost(e) + costCompare
		}
		return c
	case *matchNode:
		c := cost(n.x)
		for _, m := range n.matchers {
			switch w := m.(type) {
			case *wildcard:
				if w.literal {
					c += costCompare
				} else {
					c += costWildcard
				}
			case *foldMatch:
				if len(w.parts) == 1 {
					c += costCompare
				} else {
					c += costWildcard
				}
			default:
				c += costRegexp
			}
		}
		return c
	case *callNode:
		c := costCall
		for _, a := range n.args {
			c += cost(a)
		}
		return c
	case *chainNode:
		c := 0
		for _, it := range n.items {
			c += cost(it)
		}
		return c
	case *andNode:
		return cost(n.l) + cost(n.r)
	case *orNode:
		return cost(n.l) + cost(n.r)
	}
	return costCall
}

// specializeCmp turns field == "string" and field != "string" into a
// comparison on the raw document value.
func specializeCmp(n *cmpNode) evaluator {
	if n.op != OpEq && n.op != OpNeq {
		return n
	}
	f, fok := n.l.(*fieldNode)
	c, cok := n.r.(constNode)
	if !fok || !cok {
		f, fok = n.r.(*fieldNode)
		c, cok = n.l.(constNode)
	}
	if !fok || !cok || c.v.k != kString {
		return n
	}
	return &fieldStrCmp{fp: f.fp, s: c.v.s, negate: n.op == OpNeq, general: n}
}

// fieldStrCmp is field == "s" or field != "s". Plain strings, and lists of
// them, are compared where they lie; any other value takes the general
// comparison (a number compares with a string that holds one).
type fieldStrCmp struct {
	fp      *fieldPath
	s       string
	negate  bool
	general *cmpNode
}

func (n *fieldStrCmp) test(d event.Document) bool { return truthy(n.eval(d)) }

func (n *fieldStrCmp) eval(d event.Document) value {
	switch v := n.fp.lookup(d).(type) {
	case string:
		return boolValue((v == n.s) != n.negate)
	case []any:
		// As fromAny reads lists: empty is null, one element stands for
		// itself, more are a multi-value whose nulls are skipped.
		switch len(v) {
		case 0:
			return falseValue
		case 1:
			switch e := v[0].(type) {
			case string:
				return boolValue((e == n.s) != n.negate)
			case nil:
				return falseValue
			}
			return n.general.eval(d)
		}
		found := false
		for _, x := range v {
			switch e := x.(type) {
			case string:
				found = found || e == n.s
			case nil:
			default:
				return n.general.eval(d)
			}
		}
		return boolValue(found != n.negate)
	case nil:
		return falseValue
	}
	return n.general.eval(d)
}
