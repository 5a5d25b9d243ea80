package normalizer

import (
	"math/bits"
	"strconv"

	"github.com/weft-dev/weft/event"
)

// countObjects sets n.counts[i] to the number of entries object node i will
// hold: its leaves that are set and its child objects that are not empty.
func (n *Normalizer) countObjects() {
	s, cnt := n.schema, n.counts
	clear(cnt)
	n.eachSet(func(k key) { cnt[s.nodes[s.leafOf[k]].parent]++ })
	// Children come after their parents, so a backward pass sees every
	// object's count complete before it adds the object to its parent.
	for i := len(s.nodes) - 1; i > 0; i-- {
		if nd := &s.nodes[i]; !nd.leaf && cnt[i] > 0 {
			cnt[nd.parent]++
		}
	}
}

// eachSet calls fn for every key set, in key order.
func (n *Normalizer) eachSet(fn func(key)) {
	for w, word := range n.rec.set {
		for ; word != 0; word &= word - 1 {
			fn(key(w*64 + bits.TrailingZeros64(word)))
		}
	}
}

// document writes the record as an event.Document of nested objects,
// each made with its final size.
func (n *Normalizer) document() event.Document {
	n.countObjects()
	s, cnt, maps := n.schema, n.counts, n.maps
	root := make(event.Document, cnt[0])
	maps[0] = root
	for i := 1; i < len(s.nodes); i++ {
		nd := &s.nodes[i]
		if nd.leaf || cnt[i] == 0 {
			continue
		}
		m := make(map[string]any, cnt[i])
		maps[i] = m
		maps[nd.parent][nd.name] = m
	}
	// Every list of the document is a window on one slab; each window's
	// capacity ends where it does, so appending to one never writes into
	// the next.
	slab := make([]any, 0, n.listValues())
	n.eachSet(func(k key) {
		leaf := &s.nodes[s.leafOf[k]]
		var v any
		v, slab = n.value(k, slab)
		maps[leaf.parent][leaf.name] = v
	})
	clear(maps)
	return root
}

// listValues counts the values of the document's lists.
func (n *Normalizer) listValues() int {
	total := 0
	n.eachSet(func(k key) {
		switch v := &n.rec.vals[k]; v.kind {
		case vList:
			total += len(v.list)
		case vConstList:
			total += len(v.consts)
		case vResolvedIP:
			total += len(n.resolved)
		case vProblems:
			total += len(n.problems)
		case vAnswers:
			total += len(n.answers)
		}
	})
	return total
}

// value is the document value of k; lists are cut from slab.
func (n *Normalizer) value(k key, slab []any) (any, []any) {
	v := &n.rec.vals[k]
	start := len(slab)
	window := func() []any { return slab[start:len(slab):len(slab)] }
	switch v.kind {
	case vStr:
		return v.s, slab
	case vConst:
		return v.box, slab
	case vInt:
		return v.n, slab
	case vBool:
		return v.n != 0, slab
	case vMillis:
		return formatMillis(v.t), slab
	case vDecimal:
		return strconv.FormatUint(uint64(v.n), 10), slab
	case vList:
		for _, s := range v.list {
			slab = append(slab, s)
		}
		return window(), slab
	case vConstList:
		slab = append(slab, v.consts...)
		return window(), slab
	case vProblems:
		for _, p := range n.problems {
			slab = append(slab, p)
		}
		return window(), slab
	case vResolvedIP:
		for _, ip := range n.resolved {
			if ip.null {
				slab = append(slab, nil)
			} else {
				slab = append(slab, ip.ip)
			}
		}
		return window(), slab
	case vAnswers:
		for _, a := range n.answers {
			m := make(map[string]any, 2)
			m["type"] = nil
			if a.known {
				m["type"] = a.typ
			}
			if a.hasData {
				m["data"] = a.data
			}
			slab = append(slab, m)
		}
		return window(), slab
	case vHashes:
		m := make(map[string]any, len(n.hashes))
		for _, p := range n.hashes {
			m[p.key] = p.value
		}
		return m, slab
	case vEventData:
		m := make(map[string]any, len(n.order))
		for _, i := range n.order {
			f := &n.ed.fields[i]
			m[f.name] = f.value
		}
		return m, slab
	}
	return nil, slab
}
