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
// attribute of the System element that holds it, and the EventData
// and UserData values in order. A template gets one only when its event is
// of the usual shape (one <Event>, its <System> fixed by the template, its
// <EventData> or <UserData> fixed too or brought by one substitution as a
// template of its own): then a record becomes an event.Raw without any
// element being built, and the result is the same as toRaw's over the
// elements. What a plan cannot place (arrays outside EventData, elements
// inside values) sends the record to the element path.
type rawPlan struct {
	provider, providerGUID                 src
	eventID, qualifiers                    src
	version, level, task, opcode, keywords src
	timeCreated, recordID                  src
	processID, threadID                    src
	activityID, relatedActivityID          src
	channel, computer, userSID             src
	// ops makes EventData and UserData into fields.
	ops []fieldOp
	// nested, when isNested, is the substitution that brings EventData in
	// a template of its own (Sysmon and most manifest-based providers).
	nested   uint16
	isNested bool
	// userNested, when isUserNested, is the one substitution that fills a
	// <UserData> element: BinXML with a template of its own.
	userNested   uint16
	isUserNested bool
}

// src is the content of an element or the value of an attribute.
type src struct {
	present bool // the template has the element or attribute
	attr    bool // an attribute, which NULL substitutions leave out
	parts   []bxPart
}

// fieldOp makes one event.Field, or decides whether the next does: the
// children of EventData each give a field; UserData's tree is flattened as
// toRaw's flatten does, where whether an element gives a field can depend
// on which of its attributes NULLs leave out.
type fieldOp struct {
	kind  opKind
	name  string // literal names only: a plan is compiled per template
	value src
}

type opKind uint8

const (
	opField opKind = iota // always a field
	opStart               // a UserData element starts: count its attributes anew
	opAttr                // an attribute: a field when present
	opLeaf                // a leaf element's text: a field when not empty, or when no attribute was
)

func compilePlan(parts []bxPart) *rawPlan {
	if len(parts) != 1 || parts[0].kind != partElem || parts[0].elem.name != "Event" {
		return nil
	}
	ev := parts[0].elem
	var sys, data, user *bxElem
	pl := &rawPlan{}
	for _, part := range ev.content {
		switch {
		case part.kind == partSub && !pl.isNested && sys != nil && data == nil:
			pl.nested, pl.isNested = part.sub, true
		case part.kind == partSub || part.kind == partInstance:
			return nil // may bring elements of its own
		case part.kind != partElem:
		case part.elem.name == "ProcessingErrorData":
			return nil
		case part.elem.name == "UserData" && user == nil:
			user = part.elem
		case part.elem.name == "System" && sys == nil:
			sys = part.elem
		case part.elem.name == "EventData" && data == nil:
			data = part.elem
		}
	}
	if sys == nil || !onlyElements(sys.content) || (pl.isNested && (data != nil || user != nil)) {
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
	if e := child("Correlation"); e != nil {
		pl.activityID, pl.relatedActivityID = attrOf(e, "ActivityID"), attrOf(e, "RelatedActivityID")
	}
	pl.channel, pl.computer = text(child("Channel")), text(child("Computer"))
	pl.userSID = attrOf(child("Security"), "UserID")
	var ok bool
	if data != nil {
		if pl.ops, ok = compileData(data, pl.ops); !ok {
			return nil
		}
	}
	if user != nil {
		if len(user.content) == 1 && user.content[0].kind == partSub {
			pl.userNested, pl.isUserNested = user.content[0].sub, true
		} else if pl.ops, ok = compileUserData(user, pl.ops); !ok {
			return nil
		}
	}
	return pl
}

// compileData places the values of an <EventData> element whose children
// the template fixes: each child is a field, named by the Name attribute
// of <Data>, by its own name otherwise.
func compileData(data *bxElem, ops []fieldOp) ([]fieldOp, bool) {
	if !onlyElements(data.content) {
		return nil, false
	}
	for _, part := range data.content {
		if part.kind != partElem {
			continue
		}
		e := part.elem
		name := e.name
		if e.name == "Data" {
			name = ""
			for _, a := range e.attrs {
				if a.name != "Name" {
					continue
				}
				lit, ok := literal(a.value)
				if !ok {
					return nil, false
				}
				name = lit
				break
			}
		}
		ops = append(ops, fieldOp{kind: opField, name: name, value: src{present: true, parts: e.content}})
	}
	return ops, true
}

// compileUserData flattens a <UserData> tree the template fixes.
func compileUserData(user *bxElem, ops []fieldOp) ([]fieldOp, bool) {
	if !onlyElements(user.content) {
		return nil, false
	}
	ok := true
	for _, part := range user.content {
		if part.kind == partElem && ok {
			ops, ok = compileFlatten(part.elem, ops)
		}
	}
	return ops, ok
}

// compileFlatten is toRaw's flatten over a template's element: its
// attributes, then its children's fields or, for a leaf, its text.
func compileFlatten(e *bxElem, ops []fieldOp) ([]fieldOp, bool) {
	dataName, named := "", false
	if e.name == "Data" {
		for _, a := range e.attrs {
			if a.name == "Name" {
				lit, ok := literal(a.value)
				if !ok {
					return nil, false
				}
				dataName, named = lit, true
				break
			}
		}
	}
	ops = append(ops, fieldOp{kind: opStart})
	for _, a := range e.attrs {
		if isNamespaceDecl(a.name) || (named && a.name == "Name") {
			continue
		}
		ops = append(ops, fieldOp{kind: opAttr, name: a.name, value: src{present: true, attr: true, parts: a.value}})
	}
	hasChildren := false
	for _, part := range e.content {
		hasChildren = hasChildren || part.kind == partElem
	}
	text := src{present: true, parts: e.content}
	switch {
	case hasChildren:
		if !onlyElements(e.content) {
			return nil, false
		}
		ok := true
		for _, part := range e.content {
			if part.kind == partElem && ok {
				ops, ok = compileFlatten(part.elem, ops)
			}
		}
		return ops, ok
	case named:
		return append(ops, fieldOp{kind: opField, name: dataName, value: text}), true
	default:
		return append(ops, fieldOp{kind: opLeaf, name: e.name, value: text}), true
	}
}

// compileUserChildren flattens a template that is the children of a
// <UserData> element, as a nested template brings them.
func compileUserChildren(parts []bxPart) ([]fieldOp, bool) {
	if len(parts) == 0 || !onlyElements(parts) {
		return nil, false
	}
	ops, ok := []fieldOp{}, true
	for _, part := range parts {
		if part.kind == partElem && ok {
			ops, ok = compileFlatten(part.elem, ops)
		}
	}
	return ops, ok
}

// compileNested places the values of a template that is one <EventData>
// or one <UserData> element, as nested templates bring them; ok is false
// for any other template.
func compileNested(parts []bxPart) ([]fieldOp, bool) {
	if len(parts) != 1 || parts[0].kind != partElem {
		return nil, false
	}
	switch e := parts[0].elem; e.name {
	case "EventData":
		return compileData(e, nil)
	case "UserData":
		return compileUserData(e, nil)
	}
	return nil, false
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
	for _, s := range [...]*src{&pl.eventID, &pl.version, &pl.level, &pl.task, &pl.opcode, &pl.keywords, &pl.recordID, &pl.channel, &pl.computer} {
		if c.holds(*s, vals, valArray) {
			return nil, errNeedElements // one element per item; toRaw reads the first
		}
	}
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
	r.ActivityID = str(pl.activityID)
	r.RelatedActivityID = str(pl.relatedActivityID)
	r.Channel = str(pl.channel)
	r.Computer = str(pl.computer)
	r.UserSID = str(pl.userSID)
	if err == nil {
		err = p.err
	}
	if err != nil {
		return nil, err
	}
	ops := pl.ops
	switch {
	case pl.isNested:
		ops, vals, err = c.nestedOps(vals, pl.nested, false)
	case pl.isUserNested:
		ops, vals, err = c.nestedOps(vals, pl.userNested, true)
	}
	if err != nil {
		return nil, err
	}
	if len(ops) > 0 {
		if r.Data, err = c.fields(ops, vals); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// fields runs ops: the event's EventData and UserData values.
func (c *bxChunk) fields(ops []fieldOp, vals []bxValue) ([]event.Field, error) {
	// Windows repeats an element for each item of an array value: an
	// EventData child whose value is one array gives a field per item.
	// Anything else that holds an array, or elements in its text, goes to
	// the element path.
	n := 0
	for i := range ops {
		op := &ops[i]
		switch {
		case op.kind == opAttr || op.kind == opStart:
			n++
		case c.holds(op.value, vals, valBinXML):
			return nil, errNeedElements
		case !c.holds(op.value, vals, valArray):
			n++
		case op.kind != opField || len(op.value.parts) != 1:
			return nil, errNeedElements
		default:
			items, err := c.countItems(vals[op.value.parts[0].sub])
			if err != nil {
				return nil, err
			}
			n += items
		}
	}
	out := c.alloc.fields(n)[:0]
	attrs := 0
	for i := range ops {
		op := &ops[i]
		if op.kind == opStart {
			attrs = 0
			continue
		}
		if op.kind == opField && c.holds(op.value, vals, valArray) {
			var err error
			if out, err = c.appendItems(out, op.name, vals[op.value.parts[0].sub]); err != nil {
				return nil, err
			}
			continue
		}
		v, present, err := c.string(op.value, vals)
		if err != nil {
			return nil, err
		}
		switch op.kind {
		case opAttr:
			if !present {
				continue
			}
			attrs++
		case opLeaf:
			if v == "" && attrs > 0 {
				continue
			}
		}
		out = append(out, event.Field{Name: op.name, Value: v})
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func (c *bxChunk) countItems(v bxValue) (int, error) {
	end := int(v.off) + int(v.size)
	if end > len(c.data) {
		return 0, fmt.Errorf("value at chunk offset %#x runs past the chunk", v.off)
	}
	n := 0
	err := eachItem(c.data[v.off:end], v.typ&^valArray, func([]byte, uint8) error {
		n++
		return nil
	})
	return n, err
}

// appendItems appends a field named name for each item of the array v.
func (c *bxChunk) appendItems(out []event.Field, name string, v bxValue) ([]event.Field, error) {
	a := &c.alloc
	err := eachItem(c.data[v.off:int(v.off)+int(v.size)], v.typ&^valArray, func(item []byte, typ uint8) error {
		a.reserve()
		start := len(a.arena)
		b, err := appendValueBytes(a.arena, item, typ)
		if err != nil {
			return err
		}
		a.arena = b
		out = append(out, event.Field{Name: name, Value: a.str(start)})
		return nil
	})
	return out, err
}

// nestedOps reads the fields substitution sub brings: nothing when it is
// NULL or text, a template of its own when it is BinXML, which is the
// whole EventData or UserData element, or with inUser the children of
// UserData.
func (c *bxChunk) nestedOps(vals []bxValue, sub uint16, inUser bool) ([]fieldOp, []bxValue, error) {
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
	if inUser {
		if !t.isUser {
			return nil, nil, errNeedElements
		}
		return t.userOps, nested, nil
	}
	if !t.isData {
		return nil, nil, errNeedElements
	}
	return t.ops, nested, nil
}

// errNeedElements sends a record whose values the plan cannot place to
// the element path.
var errNeedElements = errors.New("record needs the element path")

// holds reports whether content holds a value whose type has any of the
// bits of typ (valArray, or valBinXML exactly).
func (c *bxChunk) holds(s src, vals []bxValue, typ uint8) bool {
	for i := range s.parts {
		p := &s.parts[i]
		if p.kind != partSub || int(p.sub) >= len(vals) {
			continue
		}
		if t := vals[p.sub].typ; t&valArray != 0 && typ&valArray != 0 || t == valBinXML && typ&valBinXML == valBinXML {
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
