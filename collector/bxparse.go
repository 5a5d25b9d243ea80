package collector

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// weft's own BinXML decoder. golang-evtx turns every record into a tree of
// parsed nodes and maps; here each template definition of a chunk is parsed
// once into a small tree whose leaves are literal text or substitution
// slots (bxparse.go), and each record is then only its substitution array
// read and slotted: straight into event.Raw for the usual shape of event
// (bxraw.go), into elements for the rest (bxeval.go).

// BinXML tokens. The 0x40 bit of some tokens says "more follows": an
// element with attributes, an attribute that is not the last, a value in
// several pieces. Only the low nibble names the token.
const (
	tokEOF        = 0x00
	tokOpenStart  = 0x01
	tokCloseStart = 0x02
	tokCloseEmpty = 0x03
	tokEnd        = 0x04
	tokValue      = 0x05
	tokAttribute  = 0x06
	tokCDATA      = 0x07
	tokCharRef    = 0x08
	tokEntityRef  = 0x09
	tokPITarget   = 0x0a
	tokPIData     = 0x0b
	tokTemplate   = 0x0c
	tokSubst      = 0x0d
	tokOptSubst   = 0x0e
	tokFragment   = 0x0f

	tokMore = 0x40
)

// Value types of substitutions (and of value text, always a string).
const (
	valNull     = 0x00
	valString   = 0x01
	valAnsi     = 0x02
	valInt8     = 0x03
	valUint8    = 0x04
	valInt16    = 0x05
	valUint16   = 0x06
	valInt32    = 0x07
	valUint32   = 0x08
	valInt64    = 0x09
	valUint64   = 0x0a
	valReal32   = 0x0b
	valReal64   = 0x0c
	valBool     = 0x0d
	valBinary   = 0x0e
	valGUID     = 0x0f
	valSizeT    = 0x10
	valFileTime = 0x11
	valSysTime  = 0x12
	valSID      = 0x13
	valHexInt32 = 0x14
	valHexInt64 = 0x15
	valBinXML   = 0x21
	valArray    = 0x80
)

// Bounds on what one template may cost to parse. A template lives in a
// 64 KiB chunk, so these only stop crafted input from looping.
const (
	maxTemplateParts = 1 << 14
	templateHeader   = 24 // next offset, GUID (its first 4 bytes are the id), data size
)

var errTruncated = errors.New("BinXML runs past its end")

// bxPart is one piece of content: literal text, a substitution slot, a
// child element, or (outside templates) a template instance.
type bxPart struct {
	kind     bxKind
	text     string
	sub      uint16
	optional bool
	elem     *bxElem
	inst     *bxInstance
}

type bxKind uint8

const (
	partText bxKind = iota
	partSub
	partElem
	partInstance
)

type bxElem struct {
	name    string
	attrs   []bxAttr
	content []bxPart
}

type bxAttr struct {
	name  string
	value []bxPart // text and substitutions only
}

// bxTemplate is a compiled template definition.
type bxTemplate struct {
	parts []bxPart
	ext   []extName // names referred to outside the definition
	plan  *rawPlan  // nil when the event is not of the usual shape
	// ops places the values of a template that is only <EventData> or
	// only <UserData>, as nested templates are.
	ops    []fieldOp
	isData bool
	// userOps flattens a template that is the children of <UserData>.
	userOps []fieldOp
	isUser  bool
	err     error
}

// bxValue is one substitution value: where its bytes are in the chunk and
// its type.
type bxValue struct {
	off, size uint32
	typ       uint8
}

// bxInstance is a template instance: its template and its values.
type bxInstance struct {
	t    *bxTemplate
	vals []bxValue
}

// bxParser reads a BinXML token stream in data[pos:end].
type bxParser struct {
	c          *bxChunk
	data       []byte
	pos, end   int
	start      int         // where the stream began
	inTemplate bool        // template definitions carry a dependency id in each start tag
	tmpl       *bxTemplate // the template being compiled, which notes its outside names
	depth      int         // nesting of elements and instances
	parts      int
}

func (p *bxParser) errorf(format string, args ...any) error {
	return fmt.Errorf("BinXML at chunk offset %#x: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *bxParser) need(n int) error {
	if n < 0 || p.pos+n > p.end {
		return fmt.Errorf("%w (at chunk offset %#x, %d bytes needed, %d left)", errTruncated, p.pos, n, p.end-p.pos)
	}
	return nil
}

func (p *bxParser) u8() (byte, error) {
	if err := p.need(1); err != nil {
		return 0, err
	}
	p.pos++
	return p.data[p.pos-1], nil
}

func (p *bxParser) u16() (uint16, error) {
	if err := p.need(2); err != nil {
		return 0, err
	}
	p.pos += 2
	return binary.LittleEndian.Uint16(p.data[p.pos-2:]), nil
}

func (p *bxParser) u32() (uint32, error) {
	if err := p.need(4); err != nil {
		return 0, err
	}
	p.pos += 4
	return binary.LittleEndian.Uint32(p.data[p.pos-4:]), nil
}

func (p *bxParser) peek() (byte, error) {
	if err := p.need(1); err != nil {
		return 0, err
	}
	return p.data[p.pos], nil
}

func (p *bxParser) count() error {
	p.parts++
	if p.parts > maxTemplateParts {
		return p.errorf("more than %d items", maxTemplateParts)
	}
	return nil
}

// name reads a name reference: a chunk offset, with the name itself
// following inline when it is defined here.
func (p *bxParser) name() (string, error) {
	off, err := p.u32()
	if err != nil {
		return "", err
	}
	s, size, err := p.c.name(off)
	if err != nil {
		return "", err
	}
	switch {
	case int(off) == p.pos:
		if err := p.need(size); err != nil {
			return "", err
		}
		p.pos += size
	case p.tmpl != nil && (int(off) < p.start || int(off) >= p.end):
		p.tmpl.ext = append(p.tmpl.ext, extName{off, bytes.Clone(p.data[int(off)+4 : int(off)+size])})
	}
	return s, nil
}

// utf16Text reads a character count and that many UTF-16 units.
func (p *bxParser) utf16Text() (string, error) {
	n, err := p.u16()
	if err != nil {
		return "", err
	}
	if err := p.need(2 * int(n)); err != nil {
		return "", err
	}
	s := string(appendUTF16(nil, p.data[p.pos:p.pos+2*int(n)]))
	p.pos += 2 * int(n)
	return s, nil
}

// stream reads the top level of a BinXML stream up to its EOF token or its
// end: fragment headers, elements and template instances.
func (p *bxParser) stream() ([]bxPart, error) {
	var parts []bxPart
	for p.pos < p.end {
		tok := p.data[p.pos]
		switch tok &^ tokMore {
		case tokEOF:
			p.pos++
			return parts, nil
		case tokFragment:
			if err := p.need(4); err != nil {
				return nil, err
			}
			p.pos += 4 // token, major and minor version, flags
		case tokOpenStart:
			e, err := p.element()
			if err != nil {
				return nil, err
			}
			parts = append(parts, bxPart{kind: partElem, elem: e})
		case tokTemplate:
			if p.inTemplate {
				return nil, p.errorf("template instance inside a template definition")
			}
			inst, err := p.instance()
			if err != nil {
				return nil, err
			}
			parts = append(parts, bxPart{kind: partInstance, inst: inst})
		default:
			return nil, p.errorf("unexpected token %#02x at the top level", tok)
		}
		if err := p.count(); err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// element reads a start tag, its attributes and, unless it closes empty,
// its content up to the end tag.
func (p *bxParser) element() (*bxElem, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxNesting {
		return nil, errParseDepth
	}
	tok, _ := p.u8()
	skip := 4 // data size
	if p.inTemplate {
		skip += 2 // dependency id
	}
	if err := p.need(skip); err != nil {
		return nil, err
	}
	p.pos += skip
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	e := &bxElem{name: name}
	if tok&tokMore != 0 {
		if _, err := p.u32(); err != nil { // attribute list size
			return nil, err
		}
		for {
			t, err := p.peek()
			if err != nil {
				return nil, err
			}
			if t&^tokMore != tokAttribute {
				break
			}
			p.pos++
			a := bxAttr{}
			if a.name, err = p.name(); err != nil {
				return nil, err
			}
			if a.value, err = p.attrValue(); err != nil {
				return nil, fmt.Errorf("attribute %s of <%s>: %w", a.name, name, err)
			}
			e.attrs = append(e.attrs, a)
			if err := p.count(); err != nil {
				return nil, err
			}
		}
	}
	switch t, err := p.u8(); {
	case err != nil:
		return nil, err
	case t == tokCloseEmpty:
		return e, nil
	case t != tokCloseStart:
		p.pos--
		return nil, p.errorf("start tag <%s> ends with token %#02x", name, t)
	}
	for {
		t, err := p.peek()
		if err != nil {
			return nil, fmt.Errorf("<%s> is never closed: %w", name, err)
		}
		if t == tokEnd {
			p.pos++
			return e, nil
		}
		part, ok, err := p.contentItem()
		if err != nil {
			return nil, err
		}
		if ok {
			e.content = appendPart(e.content, part)
		}
		if err := p.count(); err != nil {
			return nil, err
		}
	}
}

// appendPart adds part to parts, joining adjacent literal text.
func appendPart(parts []bxPart, part bxPart) []bxPart {
	if n := len(parts); n > 0 && part.kind == partText && parts[n-1].kind == partText {
		parts[n-1].text += part.text
		return parts
	}
	return append(parts, part)
}

// attrValue reads the tokens of an attribute's value: text in one or
// several pieces, character and entity references, substitutions.
func (p *bxParser) attrValue() ([]bxPart, error) {
	var parts []bxPart
	for {
		t, err := p.peek()
		if err != nil {
			return nil, err
		}
		switch t &^ tokMore {
		case tokValue, tokCharRef, tokEntityRef, tokSubst, tokOptSubst:
		default:
			if len(parts) == 0 {
				return nil, p.errorf("no value (token %#02x)", t)
			}
			return parts, nil
		}
		part, ok, err := p.contentItem()
		if err != nil {
			return nil, err
		}
		if ok {
			parts = appendPart(parts, part)
		} else if len(parts) == 0 {
			parts = append(parts, bxPart{kind: partText})
		}
	}
}

// contentItem reads one item of element content. ok is false for items
// that render to nothing (processing instructions).
func (p *bxParser) contentItem() (part bxPart, ok bool, err error) {
	tok, _ := p.u8()
	switch tok &^ tokMore {
	case tokOpenStart:
		p.pos--
		e, err := p.element()
		return bxPart{kind: partElem, elem: e}, err == nil, err
	case tokValue:
		typ, err := p.u8()
		if err != nil {
			return part, false, err
		}
		if typ != valString {
			return part, false, p.errorf("value text of type %#02x, want a string", typ)
		}
		s, err := p.utf16Text()
		return bxPart{kind: partText, text: trimNUL(s)}, err == nil, err
	case tokCDATA:
		s, err := p.utf16Text()
		return bxPart{kind: partText, text: s}, err == nil, err
	case tokCharRef:
		v, err := p.u16()
		return bxPart{kind: partText, text: string(rune(v))}, err == nil, err
	case tokEntityRef:
		n, err := p.name()
		if err != nil {
			return part, false, err
		}
		s, known := entities[n]
		if !known {
			return part, false, p.errorf("unknown entity reference &%s;", n)
		}
		return bxPart{kind: partText, text: s}, true, nil
	case tokPITarget:
		_, err := p.name()
		return part, false, err
	case tokPIData:
		_, err := p.utf16Text()
		return part, false, err
	case tokSubst, tokOptSubst:
		if !p.inTemplate {
			return part, false, p.errorf("substitution outside a template")
		}
		id, err := p.u16()
		if err != nil {
			return part, false, err
		}
		if _, err := p.u8(); err != nil { // declared type; the value's own is what counts
			return part, false, err
		}
		return bxPart{kind: partSub, sub: id, optional: tok == tokOptSubst}, true, nil
	case tokTemplate:
		if p.inTemplate {
			return part, false, p.errorf("template instance inside a template definition")
		}
		p.pos--
		inst, err := p.instance()
		return bxPart{kind: partInstance, inst: inst}, err == nil, err
	case tokFragment:
		if err := p.need(3); err != nil {
			return part, false, err
		}
		p.pos += 3
		return part, false, nil
	}
	p.pos--
	return part, false, p.errorf("unexpected token %#02x", tok)
}

var entities = map[string]string{"amp": "&", "lt": "<", "gt": ">", "quot": `"`, "apos": "'"}

// instance reads a template instance: the template it names (defined
// inline the first time the chunk uses it), then its substitution array.
func (p *bxParser) instance() (*bxInstance, error) {
	t, vals, err := p.instanceInto(nil)
	if err != nil {
		return nil, err
	}
	return &bxInstance{t: t, vals: vals}, nil
}

// instanceInto reads a template instance, its values appended to buf.
func (p *bxParser) instanceInto(buf []bxValue) (*bxTemplate, []bxValue, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxNesting {
		return nil, nil, errParseDepth
	}
	if err := p.need(10); err != nil {
		return nil, nil, err
	}
	id := binary.LittleEndian.Uint32(p.data[p.pos+2:])
	def := binary.LittleEndian.Uint32(p.data[p.pos+6:])
	p.pos += 10
	if int(def) == p.pos {
		if err := p.need(templateHeader); err != nil {
			return nil, nil, err
		}
		size := int(binary.LittleEndian.Uint32(p.data[p.pos+20:]))
		if err := p.need(templateHeader + size); err != nil {
			return nil, nil, fmt.Errorf("template definition: %w", err)
		}
		p.pos += templateHeader + size
	}
	t := p.c.template(def, id, p.depth)
	if t.err != nil {
		return nil, nil, t.err
	}
	vals, err := p.values(buf)
	if err != nil {
		return nil, nil, err
	}
	return t, vals, nil
}

// values reads a substitution array: a count, a descriptor (size, type,
// a byte) per value, then the values one after another. They are appended
// to buf; the slice returned holds only them, with buf's room after them.
func (p *bxParser) values(buf []bxValue) ([]bxValue, error) {
	n, err := p.u32()
	if err != nil {
		return nil, err
	}
	if int64(n)*4 > int64(p.end-p.pos) {
		return nil, p.errorf("%d substitution values do not fit in what is left (%d bytes)", n, p.end-p.pos)
	}
	start := len(buf)
	at := p.pos + 4*int(n)
	for k := range int(n) {
		d := p.data[p.pos+4*k:]
		size := uint32(binary.LittleEndian.Uint16(d))
		buf = append(buf, bxValue{off: uint32(at), size: size, typ: d[2]})
		at += int(size)
	}
	if at > p.end {
		return nil, p.errorf("substitution values run %d bytes past the end", at-p.end)
	}
	p.pos = at
	return buf[start:], nil
}

// trimNUL drops trailing NULs: Windows ends a string at its NUL, and
// strings are often stored with theirs.
func trimNUL(s string) string {
	for len(s) > 0 && s[len(s)-1] == 0 {
		s = s[:len(s)-1]
	}
	return s
}

// appendUTF16 appends the UTF-8 form of little-endian UTF-16 b (an odd
// last byte is dropped); unpaired surrogates become U+FFFD.
func appendUTF16(dst, b []byte) []byte {
	n := len(b) / 2
	for i := 0; i < n; i++ {
		u := rune(b[2*i]) | rune(b[2*i+1])<<8
		switch {
		case u < utf8.RuneSelf:
			dst = append(dst, byte(u))
			continue
		case utf16.IsSurrogate(u):
			r := utf8.RuneError
			if u < 0xdc00 && i+1 < n {
				if lo := rune(b[2*i+2]) | rune(b[2*i+3])<<8; lo >= 0xdc00 && lo < 0xe000 {
					r = utf16.DecodeRune(u, lo)
					i++
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = utf8.AppendRune(dst, u)
		}
	}
	return dst
}
