package eql

import (
	"slices"
	"strings"
)

// This file holds the shared multi-pattern search of a field: the programs
// compiled with one FieldCache (all the rules of an engine) register the
// case-insensitive '*' patterns of their field matches (foldMatch: Sigma's
// contains, startswith, endswith and plain values, EQL's ':' and like~)
// with the field's cache slot, and a document's value of the field is
// searched once, with one Aho–Corasick pass over the value lowered once,
// for the literal parts of all of them. Each field match then reads
// whether one of its patterns matched instead of searching the value
// again: SigmaHQ's 1,240 process_creation rules hold some ten thousand
// patterns on CommandLine and Image, which were tried one by one on every
// process creation.

// automaton is an Aho–Corasick automaton over byte strings. State 0 is the
// root; its transitions are dense, the other states' sparse (sorted by
// byte), since most of the trie's states have one child.
type automaton struct {
	root  [256]int32
	first []int32 // state i's edges are edges[first[i]:first[i+1]]
	edgeB []byte
	edgeT []int32
	fail  []int32
	out   []int32 // the literal that ends at the state, or -1
	dict  []int32 // the nearest state on the fail chain with an out, or -1
}

// newAutomaton builds the automaton of lits (non-empty, distinct).
func newAutomaton(lits []string) *automaton {
	// The trie, built from the literals in sorted order so that a node's
	// children are made in the order of their bytes: a byte is either its
	// last child's or a new last child. Children are linked lists (first
	// child, next sibling), so building allocates nothing per node.
	order := make([]int, len(lits))
	size := 1
	for i, l := range lits {
		order[i] = i
		size += len(l)
	}
	slices.SortFunc(order, func(x, y int) int { return strings.Compare(lits[x], lits[y]) })
	var (
		label   = make([]byte, 1, size)
		out     = make([]int32, 1, size)
		firstK  = make([]int32, 1, size)
		lastK   = make([]int32, 1, size)
		sibling = make([]int32, 1, size)
	)
	out[0], firstK[0], lastK[0], sibling[0] = -1, -1, -1, -1
	for _, id := range order {
		l := lits[id]
		s := int32(0)
		for i := 0; i < len(l); i++ {
			if k := lastK[s]; k >= 0 && label[k] == l[i] {
				s = k
				continue
			}
			t := int32(len(label))
			label, out = append(label, l[i]), append(out, -1)
			firstK, lastK, sibling = append(firstK, -1), append(lastK, -1), append(sibling, -1)
			if lastK[s] < 0 {
				firstK[s] = t
			} else {
				sibling[lastK[s]] = t
			}
			lastK[s] = t
			s = t
		}
		out[s] = int32(id)
	}
	n := len(label)
	a := &automaton{first: make([]int32, n+1), fail: make([]int32, n), out: out, dict: make([]int32, n)}
	a.edgeB = make([]byte, 0, n)
	a.edgeT = make([]int32, 0, n)
	for s := 0; s < n; s++ {
		a.first[s] = int32(len(a.edgeB))
		for k := firstK[s]; k >= 0; k = sibling[k] {
			a.edgeB = append(a.edgeB, label[k])
			a.edgeT = append(a.edgeT, k)
		}
	}
	a.first[n] = int32(len(a.edgeB))
	// Fail and dictionary links, breadth first.
	queue := make([]int32, 0, n)
	a.dict[0] = -1
	for e := a.first[0]; e < a.first[1]; e++ {
		c, t := a.edgeB[e], a.edgeT[e]
		a.root[c] = t
		a.fail[t], a.dict[t] = 0, -1
		queue = append(queue, t)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for e := a.first[s]; e < a.first[s+1]; e++ {
			c, t := a.edgeB[e], a.edgeT[e]
			a.fail[t] = a.next(a.fail[s], c)
			if ft := a.fail[t]; a.out[ft] >= 0 {
				a.dict[t] = ft
			} else {
				a.dict[t] = a.dict[ft]
			}
			queue = append(queue, t)
		}
	}
	return a
}

// step is the goto function: the child of s by c, or -1 (at the root, 0
// when the root has none).
func (a *automaton) step(s int32, c byte) int32 {
	if s == 0 {
		return a.root[c]
	}
	lo, hi := a.first[s], a.first[s+1]
	for e := lo; e < hi; e++ {
		if b := a.edgeB[e]; b >= c {
			if b == c {
				return a.edgeT[e]
			}
			return -1
		}
	}
	return -1
}

// next is the state after s reading c.
func (a *automaton) next(s int32, c byte) int32 {
	for s != 0 {
		if t := a.step(s, c); t >= 0 {
			return t
		}
		s = a.fail[s]
	}
	return a.root[c]
}

// multiMatcher is the shared search of one field (one FieldCache slot).
// Field matches register their foldMatch patterns as nodes; a document's
// lowered value is scanned once, and nodeHit says which nodes have a
// pattern that matched outright. Patterns with middle parts or both a
// prefix and a suffix are not decided by the scan: the scan marks them as
// candidates when their longest part occurs, and the node checks them.
type multiMatcher struct {
	lits     map[string]int32
	litLen   []int
	contains [][]int32 // per literal: the nodes with a "*lit*" pattern
	prefix   [][]int32 // per literal: the nodes with a "lit*" pattern
	suffix   [][]int32 // per literal: the nodes with a "*lit" pattern
	cands    [][]int32 // per literal: the checked patterns it is the longest part of
	equal    map[string][]int32
	checked  []*foldMatch
	nodes    int32
	ac       *automaton // nil until the first scan after a registration

	// The last document's scan, stamped with the cache generation.
	gen     uint64
	litSeen []uint64
	nodeHit []uint64
	candHit []uint64
}

func newMultiMatcher() *multiMatcher {
	return &multiMatcher{lits: map[string]int32{}, equal: map[string][]int32{}}
}

// literal returns the id of a literal, adding it.
func (m *multiMatcher) literal(l string) int32 {
	id, ok := m.lits[l]
	if !ok {
		id = int32(len(m.litLen))
		m.lits[l] = id
		m.litLen = append(m.litLen, len(l))
		m.contains = append(m.contains, nil)
		m.prefix = append(m.prefix, nil)
		m.suffix = append(m.suffix, nil)
		m.cands = append(m.cands, nil)
	}
	return id
}

// addNode registers the patterns of one field match and returns its node
// id and the ids of the patterns the node checks itself when the scan
// marks them.
func (m *multiMatcher) addNode(folds []*foldMatch) (node int32, checked []int32) {
	node = m.nodes
	m.nodes++
	m.ac = nil
	for _, f := range folds {
		p := f.parts
		n := len(p)
		switch {
		case n == 1:
			m.equal[p[0]] = append(m.equal[p[0]], node)
		case n == 2 && p[1] == "":
			id := m.literal(p[0])
			m.prefix[id] = append(m.prefix[id], node)
		case n == 2 && p[0] == "":
			id := m.literal(p[1])
			m.suffix[id] = append(m.suffix[id], node)
		case n == 3 && p[0] == "" && p[2] == "" && p[1] != "":
			id := m.literal(p[1])
			m.contains[id] = append(m.contains[id], node)
		default:
			// Any other shape matches only where its longest part
			// occurs: that part marks it for the node to check.
			key := ""
			for _, part := range p {
				if len(part) > len(key) {
					key = part
				}
			}
			id := m.literal(key)
			c := int32(len(m.checked))
			m.checked = append(m.checked, f)
			m.cands[id] = append(m.cands[id], c)
			checked = append(checked, c)
		}
	}
	return node, checked
}

// build makes the automaton and the per-document marks for what is
// registered.
func (m *multiMatcher) build() {
	lits := make([]string, len(m.litLen))
	for l, id := range m.lits {
		lits[id] = l
	}
	m.ac = newAutomaton(lits)
	m.litSeen = make([]uint64, len(lits))
	m.nodeHit = make([]uint64, m.nodes)
	m.candHit = make([]uint64, len(m.checked))
	m.gen = 0
}

// scan searches low, a lowered value, for every literal, once per
// generation.
func (m *multiMatcher) scan(low string, gen uint64) {
	if m.ac == nil {
		m.build()
	} else if m.gen == gen {
		return
	}
	m.gen = gen
	for _, n := range m.equal[low] {
		m.nodeHit[n] = gen
	}
	a := m.ac
	s := int32(0)
	for i := 0; i < len(low); i++ {
		c := low[i]
		// next, inlined for the common cases: the root, and a state
		// with the byte among its edges.
		for {
			if s == 0 {
				s = a.root[c]
				break
			}
			if t := a.step(s, c); t >= 0 {
				s = t
				break
			}
			s = a.fail[s]
		}
		o := s
		if a.out[o] < 0 {
			o = a.dict[o]
		}
		for ; o >= 0; o = a.dict[o] {
			m.hit(a.out[o], i+1, len(low), gen)
		}
	}
}

// hit records literal id found ending at end of a value of length n.
func (m *multiMatcher) hit(id int32, end, n int, gen uint64) {
	if m.litSeen[id] != gen {
		m.litSeen[id] = gen
		for _, node := range m.contains[id] {
			m.nodeHit[node] = gen
		}
		for _, c := range m.cands[id] {
			m.candHit[c] = gen
		}
	}
	if end == m.litLen[id] {
		for _, node := range m.prefix[id] {
			m.nodeHit[node] = gen
		}
	}
	if end == n {
		for _, node := range m.suffix[id] {
			m.nodeHit[node] = gen
		}
	}
}

// match reports whether one of node's patterns matches low, which scan
// has just searched; checked are the node's checked patterns.
func (m *multiMatcher) match(node int32, checked []int32, low string, gen uint64) bool {
	if m.nodeHit[node] == gen {
		return true
	}
	for _, c := range checked {
		if m.candHit[c] == gen && m.checked[c].matchLower(low) {
			return true
		}
	}
	return false
}
