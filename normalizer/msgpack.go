package normalizer

import (
	"encoding/binary"
	"math"
	"strconv"
)

// The msgpack writer produces, byte for byte, what bus.Encode writes for the
// event.Document that document() builds: maps with their keys sorted,
// int64 as the 9-byte int 64 form (msgpack's encoding of an int64 in an
// interface), float64 as the 9-byte float 64 form, strings in the shortest
// str form, lists as arrays. The stage
// publishes these bytes, so no document map is ever built on the hot path.

// appendMsgpack writes the record as a msgpack map: the layout of its set
// of keys, then each key's value.
func (n *Normalizer) appendMsgpack(b []byte) []byte {
	l := n.layout()
	b = append(b, l.head...)
	for _, step := range l.steps {
		b = append(b, step.prefix...)
		// Most values are strings written as they are.
		if v := &n.rec.vals[step.k]; (v.kind == vStr || v.kind == vConst) && v.t.form == asIs {
			b = appendString(b, v.t.s)
			continue
		}
		b = n.appendValue(b, step.k)
	}
	return b
}

// layout is how a document with a given set of keys is written: the map
// headers and names do not depend on the values, so they are worked out
// once per set of keys and kept (Normalizer.layouts), and writing a
// document is then, key after key, one copy of the bytes before its value
// and the value.
type layout struct {
	head  string // the root map's header
	steps []step
}

// step writes a key: prefix holds the headers and names of the objects
// that open before it, then its name.
type step struct {
	prefix string
	k      key
}

// maxLayouts bounds the layouts a Normalizer keeps; past it they are
// worked out again. A stream has a few per event ID.
const maxLayouts = 1024

// layout returns the layout of the record's set of keys.
func (n *Normalizer) layout() *layout {
	if l, ok := n.layouts[n.rec.set]; ok {
		return l
	}
	if len(n.layouts) >= maxLayouts {
		clear(n.layouts)
	}
	l := n.newLayout()
	n.layouts[n.rec.set] = l
	return l
}

// newLayout works out the layout of the record's set of keys. Keys are
// numbered in the order of the document, so going through the set keys
// meets every object's entries sorted: an object opens (its name and entry
// count) when its first key comes, and is over when a key outside it comes,
// as msgpack maps need no end mark.
func (n *Normalizer) newLayout() *layout {
	keys := n.setKeys()
	n.countObjects(keys)
	s, cnt := n.schema, n.counts
	l := &layout{head: string(appendMapLen(nil, int(cnt[0]))), steps: make([]step, len(keys))}
	prev := &place{} // at the root
	var b []byte
	for i, k := range keys {
		p := &s.places[k]
		b = b[:0]
		for _, o := range p.chain[shared(prev, p):p.depth] {
			b = append(b, s.nodes[o].mpName...)
			b = appendMapLen(b, int(cnt[o]))
		}
		prev = p
		b = append(b, p.mpName...)
		l.steps[i] = step{prefix: string(b), k: k}
	}
	return l
}

func (n *Normalizer) appendValue(b []byte, k key) []byte {
	v := &n.rec.vals[k]
	switch v.kind {
	case vStr, vConst:
		return appendText(b, v.t)
	case vInt:
		return appendInt64(b, v.n)
	case vFloat:
		return appendFloat64(b, math.Float64frombits(uint64(v.n)))
	case vBool:
		return appendBool(b, v.n != 0)
	case vMillis:
		var buf [32]byte
		return appendBytesAsString(b, appendUnixMilli(buf[:0], v.n))
	case vDecimal:
		var buf [20]byte
		return appendBytesAsString(b, strconv.AppendUint(buf[:0], uint64(v.n), 10))
	case vCommunityID:
		return appendBytesAsString(b, n.cid[:])
	case vTree:
		return appendTree(b, v.box)
	case vList:
		b = appendArrayLen(b, len(n.rec.lists[k].list))
		for _, s := range n.rec.lists[k].list {
			b = appendString(b, s)
		}
		return b
	case vTextList:
		b = appendArrayLen(b, len(n.rec.lists[k].texts))
		for _, t := range n.rec.lists[k].texts {
			b = appendText(b, t)
		}
		return b
	case vConstList:
		b = appendArrayLen(b, len(n.rec.lists[k].consts))
		for _, c := range n.rec.lists[k].consts {
			b = appendAny(b, c)
		}
		return b
	case vProblems:
		b = appendArrayLen(b, len(n.problems))
		for _, p := range n.problems {
			b = appendString(b, p)
		}
		return b
	case vResolvedIP:
		b = appendArrayLen(b, len(n.resolved))
		for _, ip := range n.resolved {
			if ip.null {
				b = append(b, mpNil)
			} else {
				b = appendString(b, ip.ip)
			}
		}
		return b
	case vAnswers:
		b = appendArrayLen(b, len(n.answers))
		for _, a := range n.answers {
			if a.hasData {
				b = appendMapLen(b, 2)
				b = appendString(b, "data")
				b = appendString(b, a.data)
			} else {
				b = appendMapLen(b, 1)
			}
			b = appendString(b, "type")
			if a.known {
				b = appendString(b, a.typ)
			} else {
				b = append(b, mpNil)
			}
		}
		return b
	case vHashes:
		sortHashes(n.hashes)
		b = appendMapLen(b, len(n.hashes))
		for _, p := range n.hashes {
			b = appendString(b, p.key)
			b = appendText(b, p.value)
		}
		return b
	case vEventData:
		b = appendMapLen(b, len(n.order))
		for _, i := range n.order {
			f := &n.ed.fields[i]
			b = appendString(b, f.name)
			if f.isList {
				b = appendArrayLen(b, len(f.items))
				for _, t := range f.items {
					b = appendText(b, t)
				}
				continue
			}
			if f.isNull {
				b = append(b, mpNil)
				continue
			}
			b = appendText(b, f.value)
		}
		return b
	}
	return append(b, mpNil)
}

// sortHashes orders hash pairs by key (insertion sort: a handful of pairs).
func sortHashes(p []hashPair) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j-1].key > p[j].key; j-- {
			p[j-1], p[j] = p[j], p[j-1]
		}
	}
}

const (
	mpNil   = 0xc0
	mpFalse = 0xc2
	mpTrue  = 0xc3
	mpFloat = 0xcb
	mpInt64 = 0xd3
	mpStr8  = 0xd9
	mpStr16 = 0xda
	mpStr32 = 0xdb
	mpArr16 = 0xdc
	mpArr32 = 0xdd
	mpMap16 = 0xde
	mpMap32 = 0xdf
)

func appendString(b []byte, s string) []byte {
	return append(appendStrLen(b, len(s)), s...)
}

// appendText writes a text as the string it stands for.
func appendText(b []byte, t text) []byte {
	if t.form == asIs {
		return appendString(b, t.s)
	}
	return t.appendTo(appendStrLen(b, t.len()))
}

func appendStrLen(b []byte, l int) []byte {
	switch {
	case l < 32:
		return append(b, 0xa0|byte(l))
	case l <= math.MaxUint8:
		return append(b, mpStr8, byte(l))
	case l <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, mpStr16), uint16(l))
	}
	return binary.BigEndian.AppendUint32(append(b, mpStr32), uint32(l))
}

// appendBytesAsString writes text held in bytes as a msgpack string.
func appendBytesAsString(b, text []byte) []byte {
	b = appendStrLen(b, len(text))
	return append(b, text...)
}

func appendInt64(b []byte, n int64) []byte {
	return binary.BigEndian.AppendUint64(append(b, mpInt64), uint64(n))
}

// appendFloat64 writes a float64 in the 9-byte float 64 form, as msgpack
// encodes a float64 in an interface.
func appendFloat64(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, mpFloat), math.Float64bits(f))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, mpTrue)
	}
	return append(b, mpFalse)
}

// appendAny writes the constants the mapping stores (all strings today).
func appendAny(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendString(b, x)
	case bool:
		return appendBool(b, x)
	case int64:
		return appendInt64(b, x)
	case float64:
		return appendFloat64(b, x)
	}
	return append(b, mpNil)
}

func appendArrayLen(b []byte, l int) []byte {
	switch {
	case l < 16:
		return append(b, 0x90|byte(l))
	case l <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, mpArr16), uint16(l))
	}
	return binary.BigEndian.AppendUint32(append(b, mpArr32), uint32(l))
}

func appendMapLen(b []byte, l int) []byte {
	switch {
	case l < 16:
		return append(b, 0x80|byte(l))
	case l <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, mpMap16), uint16(l))
	}
	return binary.BigEndian.AppendUint32(append(b, mpMap32), uint32(l))
}
