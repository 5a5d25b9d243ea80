package normalizer

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/weft-dev/weft/event"
)

// setKeys lists the keys set, in key order, which is the order of the
// document (keyPaths).
func (n *Normalizer) setKeys() []key {
	keys := n.keys[:0]
	for w, word := range n.rec.set {
		for ; word != 0; word &= word - 1 {
			keys = append(keys, key(w*64+bits.TrailingZeros64(word)))
		}
	}
	n.keys = keys
	return keys
}

// countObjects sets n.counts[o] to the number of entries object node o will
// hold: its keys that are set and its child objects that are not empty.
func (n *Normalizer) countObjects(keys []key) {
	s, cnt := n.schema, n.counts
	clear(cnt)
	for _, k := range keys {
		cnt[s.parent(k)]++
	}
	// Children come after their parents, so a backward pass sees every
	// object's count complete before it adds the object to its parent.
	for i := len(s.nodes) - 1; i > 0; i-- {
		if cnt[i] > 0 {
			cnt[s.nodes[i].parent]++
		}
	}
}

// document writes the record as an event.Document of nested objects,
// each made with its final size.
func (n *Normalizer) document() event.Document {
	keys := n.setKeys()
	n.materialize(keys)
	n.countObjects(keys)
	s, cnt, maps := n.schema, n.counts, n.maps
	root := make(event.Document, cnt[0])
	maps[0] = root
	// Every list of the document is a window on one slab; each window's
	// capacity ends where it does, so appending to one never writes into
	// the next.
	slab := make([]any, 0, n.listValues(keys))
	for _, k := range keys {
		p := &s.places[k]
		parent := int16(0)
		for _, o := range p.chain[:p.depth] {
			if maps[o] == nil {
				m := make(map[string]any, cnt[o])
				maps[parent][s.nodes[o].name] = m
				maps[o] = m
			}
			parent = o
		}
		var v any
		v, slab = n.value(k, slab)
		maps[parent][p.name] = v
	}
	clear(maps)
	return root
}

// materialize turns the values the document holds as strings but the
// record does not — texts not written as they are, times, numbers and the
// community id — into strings, all cut from one, so that a document costs
// one allocation for them rather than one each.
func (n *Normalizer) materialize(keys []key) {
	n.arena, n.ends = n.arena[:0], n.ends[:0]
	n.eachString(keys, false, "")
	if len(n.ends) > 0 {
		n.eachString(keys, true, string(n.arena))
	}
}

// eachString goes through the values materialize turns into strings, in
// the same order each time: first (assign false) to write each at the end
// of n.arena, then to replace each with its string cut from arena.
func (n *Normalizer) eachString(keys []key, assign bool, arena string) {
	i := 0
	next := func() string {
		start := 0
		if i > 0 {
			start = n.ends[i-1]
		}
		s := arena[start:n.ends[i]]
		i++
		return s
	}
	written := func(b []byte) {
		n.arena, n.ends = b, append(n.ends, len(b))
	}
	fix := func(t *text) {
		switch {
		case t.form == asIs:
		case assign:
			*t = plain(next())
		default:
			written(t.appendTo(n.arena))
		}
	}
	for _, k := range keys {
		switch v := &n.rec.vals[k]; v.kind {
		case vStr:
			fix(&v.t)
		case vTextList:
			for j := range n.rec.lists[k].texts {
				fix(&n.rec.lists[k].texts[j])
			}
		case vHashes:
			for j := range n.hashes {
				fix(&n.hashes[j].value)
			}
		case vEventData:
			for _, j := range n.order {
				f := &n.ed.fields[j]
				if f.isList {
					for i := range f.items {
						fix(&f.items[i])
					}
					continue
				}
				fix(&f.value)
			}
		case vMillis, vDecimal, vCommunityID:
			if assign {
				v.kind, v.t = vStr, plain(next())
			} else {
				written(n.appendScalar(n.arena, v))
			}
		}
	}
}

// appendScalar writes the text of a time, number or community id.
func (n *Normalizer) appendScalar(b []byte, v *val) []byte {
	switch v.kind {
	case vMillis:
		return appendUnixMilli(b, v.n)
	case vDecimal:
		return strconv.AppendUint(b, uint64(v.n), 10)
	case vCommunityID:
		return append(b, n.cid[:]...)
	}
	return b
}

// listValues counts the values of the document's lists.
func (n *Normalizer) listValues(keys []key) int {
	total := 0
	for _, k := range keys {
		switch v := &n.rec.vals[k]; v.kind {
		case vList:
			total += len(n.rec.lists[k].list)
		case vTextList:
			total += len(n.rec.lists[k].texts)
		case vConstList:
			total += len(n.rec.lists[k].consts)
		case vResolvedIP:
			total += len(n.resolved)
		case vProblems:
			total += len(n.problems)
		case vAnswers:
			total += len(n.answers)
		case vEventData:
			for _, i := range n.order {
				if f := &n.ed.fields[i]; f.isList {
					total += len(f.items)
				}
			}
		}
	}
	return total
}

// value is the document value of k once materialized; lists are cut from
// slab.
func (n *Normalizer) value(k key, slab []any) (any, []any) {
	v := &n.rec.vals[k]
	start := len(slab)
	window := func() []any { return slab[start:len(slab):len(slab)] }
	switch v.kind {
	case vStr:
		return v.t.s, slab
	case vConst, vTree:
		return v.box, slab
	case vInt:
		return v.n, slab
	case vFloat:
		return math.Float64frombits(uint64(v.n)), slab
	case vBool:
		return v.n != 0, slab
	case vList:
		for _, s := range n.rec.lists[k].list {
			slab = append(slab, s)
		}
		return window(), slab
	case vTextList:
		for _, t := range n.rec.lists[k].texts {
			slab = append(slab, t.s)
		}
		return window(), slab
	case vConstList:
		slab = append(slab, n.rec.lists[k].consts...)
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
			m[p.key] = p.value.s
		}
		return m, slab
	case vEventData:
		m := make(map[string]any, len(n.order))
		for _, i := range n.order {
			f := &n.ed.fields[i]
			if f.isList {
				from := len(slab)
				for _, t := range f.items {
					slab = append(slab, t.s)
				}
				m[f.name] = slab[from:len(slab):len(slab)]
				continue
			}
			if f.isNull {
				m[f.name] = nil
				continue
			}
			m[f.name] = f.value.s
		}
		return m, slab
	}
	return nil, slab
}
