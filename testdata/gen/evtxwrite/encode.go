package evtxwrite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// encoder appends a record's BinXML. base is the chunk offset of buf[0]:
// names and templates are referred to by chunk offset.
type encoder struct {
	c    *chunk
	buf  []byte
	base int
}

func (e *encoder) pos() uint32 { return uint32(e.base + len(e.buf)) }
func (e *encoder) u8(v byte)   { e.buf = append(e.buf, v) }
func (e *encoder) u16(v uint16) {
	e.buf = binary.LittleEndian.AppendUint16(e.buf, v)
}
func (e *encoder) u32(v uint32) {
	e.buf = binary.LittleEndian.AppendUint32(e.buf, v)
}
func (e *encoder) u64(v uint64) {
	e.buf = binary.LittleEndian.AppendUint64(e.buf, v)
}

// utf16 appends s as UTF-16LE without a terminator.
func (e *encoder) utf16(s string) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			e.buf = append(e.buf, c, 0)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			e.u16(uint16(r1))
			e.u16(uint16(r2))
			continue
		}
		e.u16(uint16(r))
	}
}

// utf16Len counts the UTF-16 code units of s.
func utf16Len(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// nameHash is the hash Windows keeps beside each name and files the
// chunk's common strings under (bucket = hash % 64): h = h*65599 + unit
// over the UTF-16 code units, low 16 bits.
func nameHash(s string) uint16 {
	var h uint32
	for _, u := range utf16.Encode([]rune(s)) {
		h = h*65599 + uint32(u)
	}
	return uint16(h)
}

// name writes a name reference. A name's first use in the chunk defines
// it right there, after the offset that points at it, and links it into
// its bucket of the common string table (newest first, as Windows does).
func (e *encoder) name(s string) {
	if off, ok := e.c.names[s]; ok {
		e.u32(off)
		return
	}
	off := e.pos() + 4
	e.u32(off)
	h := nameHash(s)
	b := h % stringBuckets
	e.u32(e.c.strings[b]) // the next name in this bucket
	e.u16(h)
	e.u16(uint16(utf16Len(s)))
	e.utf16(s)
	e.u16(0)
	e.c.strings[b] = off
	e.c.names[s] = off
	e.c.newNames = append(e.c.newNames, s)
}

func (e *encoder) patch32(at int, v int) {
	binary.LittleEndian.PutUint32(e.buf[at:], uint32(v))
}

// element writes an element of a template definition. Sizes count from
// the name offset to the end of the element, as Windows counts them.
func (e *encoder) element(el *Element) {
	tok := byte(tokOpenStart)
	if len(el.Attrs) > 0 {
		tok |= flagMore
	}
	e.u8(tok)
	e.u16(uint16(el.dependency()))
	sizeAt := len(e.buf)
	e.u32(0)
	e.name(el.Name)
	if len(el.Attrs) > 0 {
		listAt := len(e.buf)
		e.u32(0)
		for i, a := range el.Attrs {
			tok := byte(tokAttribute)
			if i < len(el.Attrs)-1 {
				tok |= flagMore
			}
			e.u8(tok)
			e.name(a.Name)
			e.node(a.Value)
		}
		e.patch32(listAt, len(e.buf)-listAt-4)
	}
	if len(el.Content) == 0 {
		e.u8(tokCloseEmpty)
	} else {
		e.u8(tokCloseStart)
		for _, n := range el.Content {
			e.node(n)
		}
		e.u8(tokEnd)
	}
	e.patch32(sizeAt, len(e.buf)-sizeAt-4)
}

func (e *encoder) node(n Node) {
	switch v := n.(type) {
	case Text:
		e.u8(tokValue)
		e.u8(byte(TypeString))
		e.u16(uint16(utf16Len(string(v))))
		e.utf16(string(v))
	case Substitution:
		if v.Optional {
			e.u8(tokOptionalSub)
		} else {
			e.u8(tokNormalSub)
		}
		e.u16(uint16(v.Index))
		e.u8(byte(v.Type))
	case *Element:
		e.element(v)
	}
}

// instance writes a template instance: its header, the template's
// definition if this is its first use in the chunk, then the values.
func (e *encoder) instance(in *Instance, depth int) error {
	if depth >= maxInstanceNest {
		return errors.New("template instances nest too deeply")
	}
	if err := in.check(); err != nil {
		return err
	}
	t := in.Template
	e.u8(tokTemplate)
	e.u8(0x01)
	e.u32(t.id)
	if off, ok := e.c.templates[t]; ok {
		e.u32(off)
	} else {
		e.define(t)
	}
	e.u32(uint32(len(in.Values)))
	descAt := len(e.buf)
	for range in.Values {
		e.u32(0)
	}
	for i, v := range in.Values {
		start := len(e.buf)
		if err := e.value(v, depth); err != nil {
			return fmt.Errorf("value %d: %w", i, err)
		}
		size := len(e.buf) - start
		if size > 0xffff {
			return fmt.Errorf("value %d: %d bytes, more than a value descriptor can say", i, size)
		}
		d := e.buf[descAt+4*i:]
		binary.LittleEndian.PutUint16(d, uint16(size))
		d[2], d[3] = byte(v.typ), 0
	}
	return nil
}

// define writes a template definition in place: the offset that points
// to it, the next definition in its bucket, the identifier, the size, and
// the BinXML fragment. libevtx leaves the template table's bucket key
// unknown (Windows' own is not the identifier); this package files a
// template under its identifier modulo 32, newest first.
func (e *encoder) define(t *Template) {
	off := e.pos() + 4
	e.u32(off)
	b := t.id % templateBuckets
	e.u32(e.c.tmpls[b])
	e.buf = append(e.buf, t.guid...)
	sizeAt := len(e.buf)
	e.u32(0)
	e.buf = append(e.buf, fragment...)
	e.element(&t.root)
	e.u8(tokEOF)
	e.patch32(sizeAt, len(e.buf)-sizeAt-4)
	e.c.tmpls[b] = off
	e.c.templates[t] = off
	e.c.newTemplates = append(e.c.newTemplates, t)
}

func (e *encoder) value(v Value, depth int) error {
	switch v.typ {
	case TypeNull:
	case TypeString:
		if n := utf16Len(v.str) * 2; n > 0xffff {
			return fmt.Errorf("string of %d UTF-16 bytes is longer than a value can be (65535)", n)
		}
		e.utf16(v.str)
	case TypeUInt8:
		e.u8(byte(v.num))
	case TypeUInt16:
		e.u16(uint16(v.num))
	case TypeUInt32, TypeBool:
		e.u32(uint32(v.num))
	case TypeUInt64, TypeHexInt64, TypeFileTime:
		e.u64(v.num)
	case TypeGUID, TypeSID:
		if len(v.raw) == 0 {
			return fmt.Errorf("empty %v", v.typ)
		}
		e.buf = append(e.buf, v.raw...)
	case TypeBinXML:
		e.buf = append(e.buf, fragment...)
		if err := e.instance(v.inst, depth+1); err != nil {
			return err
		}
		e.u8(tokEOF)
	default:
		return fmt.Errorf("unsupported value type %v", v.typ)
	}
	return nil
}
