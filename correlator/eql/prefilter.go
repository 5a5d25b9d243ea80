package eql

import (
	"slices"

	"github.com/weft-dev/weft/event"
)

// optimize rewrites a stage's condition (optimizeNode) and, when it has
// field matches decided by the shared search of a field cache, puts a
// prefilter in front of it.
func optimize(ev evaluator) evaluator {
	ev = optimizeNode(ev)
	if cnf := requires(ev); len(cnf) > 0 {
		p := &prefilter{cond: asTester(ev), general: ev}
		// Until the documents tell which clauses reject most, the
		// clauses with a contains, startswith or endswith pattern
		// come first: a clause of plain values is most often a log
		// source's channel, which every document it is tried on has.
		slices.SortStableFunc(cnf, func(a, b []*fieldMatch) int {
			if x, y := onlyValues(a), onlyValues(b); x != y {
				if x {
					return 1
				}
				return -1
			}
			return len(a) - len(b)
		})
		for _, c := range cnf {
			atoms := make([]atom, len(c))
			for i, a := range c {
				atoms[i] = atom{multi: a.multi, node: a.node, decided: len(a.checked) == 0, fm: a}
				p.cache = a.fp.cache
			}
			p.clauses = append(p.clauses, clause{atoms: atoms})
		}
		return p
	}
	return ev
}

// prefilter is a condition with clauses it implies: each clause is a list
// of field matches of the condition one of which must hold for the
// condition to hold. Those field matches are decided by their field's
// shared search (multiMatcher), a read of a mark once the field has been
// searched for the document, so a rule whose literals a document lacks is
// rejected for the cost of a few reads, however deep in its condition the
// literals are: SigmaHQ's 1,240 process_creation rules are each tried on
// every process creation. A prefilter exists only in programs compiled
// with a FieldCache, used from one goroutine, so it orders its clauses
// by how often they rejected a document, the most useful first: the
// clauses of a rule's log source (channel and event) rarely reject one.
type prefilter struct {
	clauses []clause
	cond    tester
	general evaluator // cond, for cost and tests
	cache   *FieldCache
	tests   uint32
}

type clause struct {
	atoms   []atom
	rejects uint32
}

// atom is a field match of a clause, with what its hot path reads kept
// beside it: a document is tried against all the rules of its channel and
// event, and memory, not instructions, is then the cost of each.
type atom struct {
	multi   *multiMatcher
	node    int32
	decided bool // the node has no pattern the scan only marks (checked)
	fm      *fieldMatch
}

// reorderEvery is how many documents a prefilter tests between orderings
// of its clauses.
const reorderEvery = 256

func (p *prefilter) test(d event.Document) bool {
	p.tests++
	if p.tests%reorderEvery == 0 {
		p.reorder()
	}
	gen := p.cache.gen
	for i := range p.clauses {
		c := &p.clauses[i]
		if !c.holds(d, gen) {
			c.rejects++
			return false
		}
	}
	return p.cond.test(d)
}

func (c *clause) holds(d event.Document, gen uint64) bool {
	for i := range c.atoms {
		a := &c.atoms[i]
		if a.decided && a.multi.gen == gen {
			// The field was searched for this document: a mark says.
			if a.multi.nodeHit[a.node] == gen {
				return true
			}
			continue
		}
		if a.fm.test(d) {
			return true
		}
	}
	return false
}

// reorder puts the clauses that rejected most documents first, and halves
// the counts so that the order follows the documents of late.
func (p *prefilter) reorder() {
	slices.SortStableFunc(p.clauses, func(a, b clause) int {
		switch {
		case a.rejects > b.rejects:
			return -1
		case a.rejects < b.rejects:
			return 1
		}
		return len(a.atoms) - len(b.atoms)
	})
	for i := range p.clauses {
		p.clauses[i].rejects /= 2
	}
}

func (p *prefilter) eval(d event.Document) value { return boolValue(p.test(d)) }

// The bounds of a prefilter: its clauses, and the field matches of one
// clause (a longer clause costs more than it saves).
const (
	maxClauses      = 16
	maxClauseAtoms  = 32
	maxOrSideClause = 4
)

// requires derives, from an optimized condition, clauses it implies whose
// atoms are field matches the shared search decides (a conjunction of
// disjunctions; nil when there is none). An and implies the clauses of each
// operand; an or the disjunction of a clause of each operand, for every
// choice (distributing), when every operand implies some; a not, or any
// other node, implies none.
func requires(ev evaluator) [][]*fieldMatch {
	switch n := ev.(type) {
	case *fieldMatch:
		if n.multi != nil && len(n.rest) == 0 {
			return [][]*fieldMatch{{n}}
		}
	case *chainNode:
		if n.and {
			var out [][]*fieldMatch
			for _, it := range n.items {
				out = append(out, requires(it)...)
			}
			return smallest(out, maxClauses)
		}
		var out [][]*fieldMatch
		for i, it := range n.items {
			r := requires(it)
			if len(r) == 0 {
				return nil
			}
			if i == 0 {
				out = r
				continue
			}
			if len(out)*len(r) > maxClauses {
				out, r = smallest(out, maxOrSideClause), smallest(r, maxOrSideClause)
				if len(out)*len(r) > maxClauses {
					out, r = smallest(out, 1), smallest(r, maxClauses)
				}
			}
			var next [][]*fieldMatch
			for _, a := range out {
				for _, b := range r {
					if len(a)+len(b) <= maxClauseAtoms {
						next = append(next, append(slices.Clip(a), b...))
					}
				}
			}
			if len(next) == 0 {
				return nil
			}
			out = next
		}
		return out
	}
	return nil
}

// onlyValues reports whether every pattern of a clause is a plain value
// (no '*').
func onlyValues(c []*fieldMatch) bool {
	for _, a := range c {
		for _, f := range a.folds {
			if len(f.parts) > 1 {
				return false
			}
		}
	}
	return true
}

// smallest keeps the n clauses with the fewest atoms.
func smallest(cnf [][]*fieldMatch, n int) [][]*fieldMatch {
	if len(cnf) <= n {
		return cnf
	}
	cnf = slices.Clone(cnf)
	slices.SortStableFunc(cnf, func(a, b []*fieldMatch) int { return len(a) - len(b) })
	return cnf[:n]
}
