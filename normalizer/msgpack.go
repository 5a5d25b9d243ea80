package normalizer

import (
	"encoding/binary"
	"math"
	"strconv"
)

// The msgpack writer produces, byte for byte, what bus.Encode writes for the
// event.Document that document() builds: maps with their keys sorted,
// int64 as the 9-byte int 64 form (msgpack's encoding of an int64 in an
// interface), strings in the shortest str form, lists as arrays. The stage
// publishes these bytes, so no document map is ever built on the hot path.

// appendMsgpack writes the record as a msgpack map.
func (n *Normalizer) appendMsgpack(b []byte) []byte {
	n.countObjects()
	return n.appendObject(b, 0)
}

func (n *Normalizer) appendObject(b []byte, i int16) []byte {
	s := n.schema
	b = appendMapLen(b, int(n.counts[i]))
	for _, c := range s.nodes[i].sorted {
		nd := &s.nodes[c]
		switch {
		case nd.leaf && n.rec.has(nd.key):
			b = appendString(b, nd.name)
			b = n.appendValue(b, nd.key)
		case !nd.leaf && n.counts[c] > 0:
			b = appendString(b, nd.name)
			b = n.appendObject(b, c)
		}
	}
	return b
}

func (n *Normalizer) appendValue(b []byte, k key) []byte {
	v := &n.rec.vals[k]
	switch v.kind {
	case vStr:
		return appendString(b, v.s)
	case vConst:
		return appendAny(b, v.box)
	case vInt:
		return appendInt64(b, v.n)
	case vBool:
		return appendBool(b, v.n != 0)
	case vMillis:
		var buf [32]byte
		return appendBytesAsString(b, appendMillis(buf[:0], v.t))
	case vDecimal:
		var buf [20]byte
		return appendBytesAsString(b, strconv.AppendUint(buf[:0], uint64(v.n), 10))
	case vList:
		b = appendArrayLen(b, len(v.list))
		for _, s := range v.list {
			b = appendString(b, s)
		}
		return b
	case vConstList:
		b = appendArrayLen(b, len(v.consts))
		for _, c := range v.consts {
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
			b = appendString(b, p.value)
		}
		return b
	case vEventData:
		b = appendMapLen(b, len(n.order))
		for _, i := range n.order {
			f := &n.ed.fields[i]
			b = appendString(b, f.name)
			b = appendString(b, f.value)
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
