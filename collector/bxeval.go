package collector

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/weft-dev/weft/event"
)

// bxChunk decodes the records of one chunk with weft's BinXML decoder. It
// keeps what records of a chunk share: names and compiled templates, by
// chunk offset.
type bxChunk struct {
	data      []byte
	names     map[uint32]bxName
	templates map[uint32]*bxTemplate
	alloc     rawAlloc
	scratch   []byte
	vals      []bxValue // the values of the record at hand
	shared    *templateCache
}

type bxName struct {
	s    string
	size int // bytes the name takes in the chunk
}

// newBXChunk returns a decoder for the chunk in data, reusing one from
// pool (which may be nil) when there is one.
func newBXChunk(data []byte, shared *templateCache, pool *sync.Pool) *bxChunk {
	if pool != nil {
		if c, ok := pool.Get().(*bxChunk); ok {
			c.data, c.shared = data, shared
			return c
		}
	}
	return &bxChunk{data: data, names: map[uint32]bxName{}, templates: map[uint32]*bxTemplate{}, shared: shared}
}

// release puts c in pool for another chunk. The events it made keep their
// memory: only the maps and scratch buffers are reused.
func (c *bxChunk) release(pool *sync.Pool) {
	if pool == nil {
		return
	}
	clear(c.names)
	clear(c.templates)
	c.data, c.shared, c.alloc = nil, nil, rawAlloc{}
	pool.Put(c)
}

// templateCache keeps compiled templates across the chunks of a file:
// Windows writes each template's definition again in every chunk that uses
// it, so most chunks need no compiling at all. A definition is known by its
// bytes (GUID, size, tokens); the names it refers to outside itself are
// checked in each chunk, since their offsets are the chunk's.
type templateCache struct {
	mu sync.Mutex
	m  map[string]*bxTemplate
}

// maxSharedTemplates bounds the cache; a log has a few hundred templates.
const maxSharedTemplates = 4096

func newTemplateCache() *templateCache {
	return &templateCache{m: map[string]*bxTemplate{}}
}

func (tc *templateCache) get(key []byte) *bxTemplate {
	if tc == nil {
		return nil
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.m[string(key)]
}

func (tc *templateCache) put(key []byte, t *bxTemplate) {
	if tc == nil {
		return
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if len(tc.m) < maxSharedTemplates {
		tc.m[string(key)] = t
	}
}

// extName is a name a template refers to outside its own bytes, as the
// bytes stored there (hash, count, characters, NUL).
type extName struct {
	off uint32
	raw []byte
}

// sameNames reports whether the chunk holds, at each offset, the names t
// was compiled with.
func (c *bxChunk) sameNames(t *bxTemplate) bool {
	for _, n := range t.ext {
		o := int(n.off) + 4
		if o+len(n.raw) > len(c.data) || !bytes.Equal(c.data[o:o+len(n.raw)], n.raw) {
			return false
		}
	}
	return true
}

// name returns the name stored at a chunk offset and how many bytes it
// takes there: a 4-byte link, a 2-byte hash, a character count, the
// characters and a NUL.
func (c *bxChunk) name(off uint32) (string, int, error) {
	if n, ok := c.names[off]; ok {
		return n.s, n.size, nil
	}
	o := int(off)
	if o < 0 || o+8 > len(c.data) {
		return "", 0, fmt.Errorf("name at chunk offset %#x lies outside the chunk", off)
	}
	chars := int(binary.LittleEndian.Uint16(c.data[o+6:]))
	size := 8 + 2*chars + 2
	if o+size > len(c.data) {
		return "", 0, fmt.Errorf("name at chunk offset %#x (%d characters) runs past the chunk", off, chars)
	}
	s := trimNUL(string(appendUTF16(nil, c.data[o+8:o+size])))
	c.names[off] = bxName{s, size}
	return s, size, nil
}

// template returns the template defined at chunk offset def, which the
// instance names id, compiling it the first time.
//
// The id is checked on every instance, before the cache: a record that
// names the wrong id fails whether or not an earlier record compiled the
// definition, so a record decodes the same read whole or resumed after a
// checkpoint.
func (c *bxChunk) template(def, id uint32, depth int) *bxTemplate {
	o := int(def)
	switch {
	case o < 0 || o+templateHeader > len(c.data):
		return &bxTemplate{err: fmt.Errorf("template definition offset %#x lies outside the chunk", def)}
	case binary.LittleEndian.Uint32(c.data[o+4:]) != id:
		return &bxTemplate{err: fmt.Errorf("template instance names template %#08x, but the definition at chunk offset %#x is %#08x", id, def, binary.LittleEndian.Uint32(c.data[o+4:]))}
	}
	if t, ok := c.templates[def]; ok {
		return t
	}
	t := &bxTemplate{}
	c.templates[def] = t
	size := int(binary.LittleEndian.Uint32(c.data[o+20:]))
	start := o + templateHeader
	if size > len(c.data)-start {
		t.err = fmt.Errorf("template definition at chunk offset %#x: size %d runs past the chunk", def, size)
		return t
	}
	key := c.data[o+4 : start+size]
	if shared := c.shared.get(key); shared != nil && c.sameNames(shared) {
		c.templates[def] = shared
		return shared
	}
	p := bxParser{c: c, data: c.data, start: start, pos: start, end: start + size, inTemplate: true, depth: depth, tmpl: t}
	t.parts, t.err = p.stream()
	if t.err != nil {
		t.err = fmt.Errorf("template definition at chunk offset %#x: %w", def, t.err)
		return t
	}
	t.plan = compilePlan(t.parts)
	t.ops, t.isData = compileNested(t.parts)
	t.userOps, t.isUser = compileUserChildren(t.parts)
	c.shared.put(key, t)
	return t
}

// record decodes the BinXML of the record whose header is at chunk
// offset off and whose bytes end at end.
func (c *bxChunk) record(off, end int, keepXML bool) (*event.Raw, error) {
	if !keepXML {
		raw, err := c.planned(off, end)
		if err != errNeedElements {
			return raw, err
		}
	}
	p := bxParser{c: c, data: c.data, pos: off + recordHeaderSize, end: end}
	parts, err := p.stream()
	if err != nil {
		return nil, err
	}
	root := &element{}
	if err := c.evalParts(parts, nil, root, 0); err != nil {
		return nil, err
	}
	if len(root.Children) != 1 {
		return nil, fmt.Errorf("BinXML: record holds %d top-level elements, want 1", len(root.Children))
	}
	raw, err := toRaw(root.Children[0])
	if err != nil {
		return nil, err
	}
	if keepXML {
		raw.XML = renderXML(root.Children[0])
	}
	return raw, nil
}

// planned decodes a record of the usual layout (a fragment holding one
// template instance whose template has a plan) without building elements;
// errNeedElements sends any other to the element path.
func (c *bxChunk) planned(off, end int) (*event.Raw, error) {
	p := bxParser{c: c, data: c.data, pos: off + recordHeaderSize, end: end}
	if p.end-p.pos < 5 || c.data[p.pos] != tokFragment || c.data[p.pos+4] != tokTemplate {
		return nil, errNeedElements
	}
	p.pos += 4
	t, vals, err := p.instanceInto(c.vals[:0])
	if err != nil {
		return nil, err
	}
	c.vals = vals
	if t.plan == nil || p.pos >= p.end || c.data[p.pos] != tokEOF {
		return nil, errNeedElements
	}
	return c.fast(t.plan, vals)
}

// evalParts appends content to el, filling substitutions from vals.
func (c *bxChunk) evalParts(parts []bxPart, vals []bxValue, el *element, depth int) error {
	if depth > maxNesting {
		return errParseDepth
	}
	for i := range parts {
		part := &parts[i]
		switch part.kind {
		case partText:
			el.Text += part.text
			el.guid = el.guid && part.text == ""
		case partElem:
			children, err := c.evalElem(part.elem, vals, depth)
			if err != nil {
				return err
			}
			el.Children = append(el.Children, children...)
		case partInstance:
			if err := c.evalParts(part.inst.t.parts, part.inst.vals, el, depth+1); err != nil {
				return err
			}
		case partSub:
			v, err := subValue(vals, part.sub)
			if err != nil {
				return err
			}
			if v.typ == valBinXML {
				if err := c.evalBinXML(v, el, depth+1); err != nil {
					return fmt.Errorf("substitution %d: %w", part.sub, err)
				}
				continue
			}
			c.scratch, err = c.appendValue(c.scratch[:0], v)
			if err != nil {
				return fmt.Errorf("substitution %d: %w", part.sub, err)
			}
			// A GUID alone is rendered in Windows' form (renderXML).
			el.guid = el.Text == "" && v.typ == valGUID
			el.Text += string(c.scratch)
		}
	}
	return nil
}

func subValue(vals []bxValue, id uint16) (bxValue, error) {
	if int(id) >= len(vals) {
		return bxValue{}, fmt.Errorf("substitution %d out of range (%d values)", id, len(vals))
	}
	return vals[id], nil
}

// evalElem makes the element e stands for, filled from vals; or, when
// its content holds an array value, one element per item of the array, as
// Windows renders them (classic events put their strings so).
func (c *bxChunk) evalElem(e *bxElem, vals []bxValue, depth int) ([]*element, error) {
	for i := range e.content {
		part := &e.content[i]
		if part.kind != partSub || int(part.sub) >= len(vals) || vals[part.sub].typ&valArray == 0 {
			continue
		}
		items, err := c.arrayItems(vals[part.sub])
		if err != nil {
			return nil, fmt.Errorf("substitution %d: %w", part.sub, err)
		}
		out := make([]*element, 0, len(items))
		for _, item := range items {
			one := *e
			one.content = slices.Clone(e.content)
			one.content[i] = bxPart{kind: partText, text: item}
			el, err := c.evalElem(&one, vals, depth)
			if err != nil {
				return nil, err
			}
			out = append(out, el...)
		}
		return out, nil
	}
	el := &element{Name: e.name}
	for _, a := range e.attrs {
		if isNamespaceDecl(a.name) {
			continue
		}
		s, present, err := c.attrString(a.value, vals, nil)
		if err != nil {
			return nil, fmt.Errorf("attribute %s of <%s>: %w", a.name, e.name, err)
		}
		if present {
			el.Attrs = append(el.Attrs, attr{Name: a.name, Value: string(s), guid: isGUIDValue(a.value, vals)})
		}
	}
	if err := c.evalParts(e.content, vals, el, depth+1); err != nil {
		return nil, err
	}
	return []*element{el}, nil
}

var errAttrElements = errors.New("holds elements")

// isGUIDValue reports whether content is one GUID-typed substitution and
// nothing else, as Provider Guid and Correlation ActivityID are.
func isGUIDValue(parts []bxPart, vals []bxValue) bool {
	return len(parts) == 1 && parts[0].kind == partSub && int(parts[0].sub) < len(vals) && vals[parts[0].sub].typ == valGUID
}

// attrString appends an attribute's value to dst. present is false when
// the value is only NULL substitutions: Windows then leaves the attribute
// out.
func (c *bxChunk) attrString(parts []bxPart, vals []bxValue, dst []byte) (out []byte, present bool, err error) {
	for i := range parts {
		part := &parts[i]
		if part.kind == partText {
			dst, present = append(dst, part.text...), true
			continue
		}
		v, err := subValue(vals, part.sub)
		if err != nil {
			return nil, false, err
		}
		switch v.typ {
		case valNull:
			continue
		case valBinXML:
			return nil, false, errAttrElements
		}
		if dst, err = c.appendValue(dst, v); err != nil {
			return nil, false, fmt.Errorf("substitution %d: %w", part.sub, err)
		}
		present = true
	}
	return dst, present, nil
}

// evalBinXML appends to el the elements of a BinXML substitution value: a
// fragment holding a template instance, or plain elements (CAPI2 writes its
// UserData so).
func (c *bxChunk) evalBinXML(v bxValue, el *element, depth int) error {
	start, end := int(v.off), int(v.off)+int(v.size)
	if start == end {
		return nil
	}
	p := bxParser{c: c, data: c.data, pos: start, end: end, depth: depth}
	parts, err := p.stream()
	if err != nil {
		return fmt.Errorf("BinXML value at chunk offset %#x: %w", start, err)
	}
	return c.evalParts(parts, nil, el, depth)
}

// appendText appends the text of element content as toRaw sees it: the
// content's own text, child elements (and nested BinXML) left out.
func (c *bxChunk) appendText(dst []byte, parts []bxPart, vals []bxValue) ([]byte, error) {
	for i := range parts {
		part := &parts[i]
		switch part.kind {
		case partText:
			dst = append(dst, part.text...)
		case partSub:
			v, err := subValue(vals, part.sub)
			if err != nil {
				return nil, err
			}
			if v.typ == valBinXML || v.typ == valNull {
				continue
			}
			if dst, err = c.appendValue(dst, v); err != nil {
				return nil, fmt.Errorf("substitution %d: %w", part.sub, err)
			}
		}
	}
	return dst, nil
}

// literal returns the text of content that holds no substitution.
func literal(parts []bxPart) (string, bool) {
	switch {
	case len(parts) == 0:
		return "", true
	case len(parts) == 1 && parts[0].kind == partText:
		return parts[0].text, true
	}
	return "", false
}
