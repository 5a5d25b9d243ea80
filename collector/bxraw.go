package collector

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/weft-dev/weft/event"
)

// rawPlan is where a template puts each field of event.Raw: the content or
// attribute of the System element that holds it, and the EventData values
// in order. A template gets one only when its event is of the usual shape
// (one <Event>, its <System> fixed by the template, its <EventData> fixed
// too or brought by one substitution as a template of its own, no
// UserData): then a record becomes an event.Raw without any element being
// built, and the result is the same as toRaw's over the elements.
type rawPlan struct {
	provider, providerGUID                 src
	eventID, qualifiers                    src
	version, level, task, opcode, keywords src
	timeCreated, recordID                  src
	processID, threadID                    src
	channel, computer, userSID             src
	data                                   []dataPlan
	// nested, when isNested, is the substitution that brings EventData in
	// a template of its own (Sysmon and most manifest-based providers).
	nested   uint16
	isNested bool
}

// src is the content of an element or the value of an attribute.
type src struct {
	present bool // the template has the element or attribute
	attr    bool // an attribute, which NULL substitutions leave out
	parts   []bxPart
}

type dataPlan struct {
	name  src // the Name attribute of <Data>; literal for other elements
	value src
}

func compilePlan(parts []bxPart) *rawPlan {
	if len(parts) != 1 || parts[0].kind != partElem || parts[0].elem.name != "Event" {
		return nil
	}
	ev := parts[0].elem
	var sys, data *bxElem
	pl := &rawPlan{}
	for _, part := range ev.content {
		switch {
		case part.kind == partSub && !pl.isNested && sys != nil && data == nil:
			pl.nested, pl.isNested = part.sub, true
		case part.kind == partSub || part.kind == partInstance:
			return nil // may bring elements of its own
		case part.kind != partElem:
		case part.elem.name == "UserData" || part.elem.name == "ProcessingErrorData":
			return nil
		case part.elem.name == "System" && sys == nil:
			sys = part.elem
		case part.elem.name == "EventData" && data == nil:
			data = part.elem
		}
	}
	if sys == nil || !onlyElements(sys.content) || (pl.isNested && data != nil) {
		return nil
	}
	child := func(name string) *bxElem {
		for _, part := range sys.content {
			if part.kind == partElem && part.elem.name == name {
				return part.elem
			}
		}
		return nil
	}
	text := func(e *bxElem) src {
		if e == nil {
			return src{}
		}
		return src{present: true, parts: e.content}
	}
	attrOf := func(e *bxElem, name string) src {
		if e == nil {
			return src{}
		}
		for _, a := range e.attrs {
			if a.name == name {
				return src{present: true, attr: true, parts: a.value}
			}
		}
		return src{}
	}
	if e := child("Provider"); e != nil {
		pl.provider, pl.providerGUID = attrOf(e, "Name"), attrOf(e, "Guid")
	}
	if e := child("EventID"); e != nil {
		pl.eventID, pl.qualifiers = text(e), attrOf(e, "Qualifiers")
	}
	pl.version, pl.level = text(child("Version")), text(child("Level"))
	pl.task, pl.opcode = text(child("Task")), text(child("Opcode"))
	pl.keywords = text(child("Keywords"))
	pl.timeCreated = attrOf(child("TimeCreated"), "SystemTime")
	pl.recordID = text(child("EventRecordID"))
	if e := child("Execution"); e != nil {
		pl.processID, pl.threadID = attrOf(e, "ProcessID"), attrOf(e, "ThreadID")
	}
	pl.channel, pl.computer = text(child("Channel")), text(child("Computer"))
	pl.userSID = attrOf(child("Security"), "UserID")
	if data != nil {
		var ok bool
		if pl.data, ok = compileData(data); !ok {
			return nil
		}
	}
	return pl
}

// compileData places the values of an <EventData> element whose children
// the template fixes.
func compileData(data *bxElem) ([]dataPlan, bool) {
	if !onlyElements(data.content) {
		return nil, false
	}
	out := []dataPlan{}
	for _, part := range data.content {
		if part.kind != partElem {
			continue
		}
		e := part.elem
		d := dataPlan{value: src{present: true, parts: e.content}}
		if e.name == "Data" {
			for _, a := range e.attrs {
				if a.name == "Name" {
					d.name = src{present: true, attr: true, parts: a.value}
					break
				}
			}
		} else {
			d.name = src{present: true, parts: []bxPart{{kind: partText, text: e.name}}}
		}
		out = append(out, d)
	}
	return out, true
}

// compileNestedData places the values of a template that is one
// <EventData> element, as nested templates bring it; ok is false for any
// other template (UserData, say).
func compileNestedData(parts []bxPart) ([]dataPlan, bool) {
	if len(parts) != 1 || parts[0].kind != partElem || parts[0].elem.name != "EventData" {
		return nil, false
	}
	return compileData(parts[0].elem)
}

// onlyElements reports whether content holds nothing a substitution could
// turn into elements.
func onlyElements(content []bxPart) bool {
	for _, part := range content {
		if part.kind == partSub || part.kind == partInstance {
			return false
		}
	}
	return true
}

// fast decodes a record whose template has a plan.
func (c *bxChunk) fast(pl *rawPlan, vals []bxValue) (*event.Raw, error) {
	r := c.alloc.raw()
	p := fieldParser{}
	var err error
	str := func(s src) string {
		if err != nil {
			return ""
		}
		var v string
		v, _, err = c.string(s, vals)
		return v
	}
	num := func(field string, s src, bits int) uint64 {
		if err != nil || !s.present {
			return 0
		}
		if n, ok := c.directUint(s, vals, bits); ok {
			return n
		}
		v, present, e := c.string(s, vals)
		if err = e; err != nil || !present {
			return 0
		}
		return p.uint(field, v, bits)
	}
	r.Provider = str(pl.provider)
	r.ProviderGUID = str(pl.providerGUID)
	r.EventID = uint32(num("EventID", pl.eventID, 32))
	r.Qualifiers = uint32(num("EventID Qualifiers", pl.qualifiers, 32))
	r.Version = uint8(num("Version", pl.version, 8))
	r.Level = uint8(num("Level", pl.level, 8))
	r.Task = uint32(num("Task", pl.task, 32))
	r.Opcode = uint8(num("Opcode", pl.opcode, 8))
	r.Keywords = strings.TrimSpace(str(pl.keywords))
	if pl.timeCreated.present && err == nil {
		if t, ok := c.directTime(pl.timeCreated, vals); ok {
			r.TimeCreated = t
		} else if v, present, e := c.string(pl.timeCreated, vals); e != nil {
			err = e
		} else if present {
			r.TimeCreated = p.time("TimeCreated SystemTime", v)
		}
	}
	r.RecordID = num("EventRecordID", pl.recordID, 64)
	r.ProcessID = uint32(num("Execution ProcessID", pl.processID, 32))
	r.ThreadID = uint32(num("Execution ThreadID", pl.threadID, 32))
	r.Channel = str(pl.channel)
	r.Computer = str(pl.computer)
	r.UserSID = str(pl.userSID)
	if err == nil {
		err = p.err
	}
	if err != nil {
		return nil, err
	}
	data := pl.data
	if pl.isNested {
		if data, vals, err = c.nestedData(vals, pl.nested); err != nil {
			return nil, err
		}
	}
	for i := range data {
		if c.holdsArray(data[i].value, vals) {
			return nil, errNeedElements
		}
	}
	if len(data) > 0 {
		r.Data = c.alloc.fields(len(data))
		for i := range data {
			r.Data[i] = event.Field{Name: str(data[i].name), Value: str(data[i].value)}
		}
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// nestedData reads the EventData that substitution sub brings: nothing
// when it is NULL or text, a template of its own when it is BinXML.
func (c *bxChunk) nestedData(vals []bxValue, sub uint16) ([]dataPlan, []bxValue, error) {
	if int(sub) >= len(vals) {
		return nil, nil, fmt.Errorf("substitution %d out of range (%d values)", sub, len(vals))
	}
	v := vals[sub]
	if v.typ != valBinXML || v.size == 0 {
		return nil, nil, nil
	}
	p := bxParser{c: c, data: c.data, pos: int(v.off), end: int(v.off) + int(v.size), depth: 1}
	if p.end-p.pos >= 5 && c.data[p.pos] == tokFragment {
		p.pos += 4
	}
	if p.pos >= p.end || c.data[p.pos] != tokTemplate {
		return nil, nil, errNeedElements
	}
	t, nested, err := p.instanceInto(c.vals)
	if err != nil {
		return nil, nil, fmt.Errorf("substitution %d: BinXML value at chunk offset %#x: %w", sub, v.off, err)
	}
	if !t.isData {
		return nil, nil, errNeedElements
	}
	return t.data, nested, nil
}

// errNeedElements sends a record whose values the plan cannot place to
// the element path.
var errNeedElements = errors.New("record needs the element path")

// holdsArray reports whether content holds an array value, which Windows
// renders as one element per item.
func (c *bxChunk) holdsArray(s src, vals []bxValue) bool {
	for i := range s.parts {
		if p := &s.parts[i]; p.kind == partSub && int(p.sub) < len(vals) && vals[p.sub].typ&valArray != 0 {
			return true
		}
	}
	return false
}

// string renders a field's text into the chunk's arena. present is false
// for an attribute the template lacks or that only NULLs fill.
func (c *bxChunk) string(s src, vals []bxValue) (string, bool, error) {
	if !s.present {
		return "", false, nil
	}
	if lit, ok := literal(s.parts); ok {
		return lit, true, nil
	}
	a := &c.alloc
	a.reserve()
	start := len(a.arena)
	var (
		out     []byte
		err     error
		present = true
	)
	if s.attr {
		out, present, err = c.attrString(s.parts, vals, a.arena)
	} else {
		out, err = c.appendText(a.arena, s.parts, vals)
	}
	if err != nil {
		return "", false, err
	}
	a.arena = out
	return a.str(start), present, nil
}

// directUint reads an unsigned integer field straight from its value, when
// it is one substitution of an unsigned type that fits in bits.
func (c *bxChunk) directUint(s src, vals []bxValue, bits int) (uint64, bool) {
	if len(s.parts) != 1 || s.parts[0].kind != partSub || int(s.parts[0].sub) >= len(vals) {
		return 0, false
	}
	v := vals[s.parts[0].sub]
	if int(v.size) != typeSize(v.typ) || int(v.off)+int(v.size) > len(c.data) {
		return 0, false
	}
	b := c.data[v.off:]
	var n uint64
	switch v.typ {
	case valUint8:
		n = uint64(b[0])
	case valUint16:
		n = uint64(b[0]) | uint64(b[1])<<8
	case valUint32, valHexInt32:
		n = uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24
	case valUint64, valHexInt64:
		n = uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	default:
		return 0, false
	}
	if bits < 64 && n >= 1<<bits {
		return 0, false // the text path reports it
	}
	return n, true
}

// directTime reads TimeCreated straight from a FILETIME value.
func (c *bxChunk) directTime(s src, vals []bxValue) (t time.Time, ok bool) {
	if len(s.parts) != 1 || s.parts[0].kind != partSub || int(s.parts[0].sub) >= len(vals) {
		return t, false
	}
	v := vals[s.parts[0].sub]
	if v.typ != valFileTime || v.size != 8 || int(v.off)+8 > len(c.data) {
		return t, false
	}
	t = fileTime(binary.LittleEndian.Uint64(c.data[v.off:]))
	if y := t.Year(); y < 1 || y > 9999 {
		return t, false // the text path reports what Windows would render
	}
	return t, true
}

// rawAlloc hands out the memory of a chunk's events in blocks, so that a
// record costs no allocation of its own: events from a slab, EventData
// from a slab of fields, strings from an arena of bytes. Strings point
// into the arena, which is only ever appended to, never written over.
type rawAlloc struct {
	raws  []event.Raw
	data  []event.Field
	arena []byte
}

const (
	rawSlab   = 64
	fieldSlab = 1024
	arenaSize = 32 << 10
	// arenaReserve is the room below which a new arena is started rather
	// than the current one grown (growing would copy what strings hold).
	arenaReserve = 2 << 10
)

func (a *rawAlloc) raw() *event.Raw {
	if len(a.raws) == cap(a.raws) {
		a.raws = make([]event.Raw, 0, rawSlab)
	}
	a.raws = a.raws[:len(a.raws)+1]
	return &a.raws[len(a.raws)-1]
}

func (a *rawAlloc) fields(n int) []event.Field {
	if cap(a.data)-len(a.data) < n {
		a.data = make([]event.Field, 0, max(n, fieldSlab))
	}
	l := len(a.data)
	a.data = a.data[:l+n]
	return a.data[l : l+n : l+n]
}

func (a *rawAlloc) reserve() {
	if cap(a.arena)-len(a.arena) < arenaReserve {
		a.arena = make([]byte, 0, arenaSize)
	}
}

// str returns the arena's bytes from start as a string without copying
// them: they are never written again.
func (a *rawAlloc) str(start int) string {
	if start == len(a.arena) {
		return ""
	}
	return unsafe.String(&a.arena[start], len(a.arena)-start)
}
