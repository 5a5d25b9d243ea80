package collector

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/weft-dev/weft/event"
)

// element is one decoded XML element. Both readers build these, EVTX from
// BinXML and XML from tokens, so that one mapping turns either into an
// event.Raw and the two sources cannot drift apart. Children keep document
// order, which is what EventData order rests on.
type element struct {
	Name     string
	Attrs    []attr
	Text     string
	Children []*element
	// guid says Text is one GUID-typed BinXML value, which the decoders
	// write as golang-evtx does (upper case, no braces) and renderXML as
	// Windows does.
	guid bool
}

type attr struct {
	Name, Value string
	guid        bool // Value is one GUID-typed value, as element.guid
}

// windowsGUID writes a GUID value of the decoders (365ABB72-B17F-5CC8-
// 0000-001082A51E00) as Windows renders it in event XML, in braces and
// lower case: {365abb72-b17f-5cc8-0000-001082a51e00}. Forwarded events
// (WEF, wevtutil) carry that form; libevtx's evtxexport writes upper case.
func windowsGUID(v string) string {
	if len(v) != 36 {
		return v
	}
	return "{" + strings.ToLower(v) + "}"
}

func (e *element) attr(name string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

func (e *element) child(name string) *element {
	for _, c := range e.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// eventNamespace is the namespace Windows renders events in.
const eventNamespace = "http://schemas.microsoft.com/win/2004/08/events/event"

// toRaw maps an <Event> element onto event.Raw. Missing System fields stay
// zero; a field that is present but unparsable makes the whole event an
// error, because a wrong EventID or time would mislead every later stage.
func toRaw(ev *element) (*event.Raw, error) {
	if ev.Name != "Event" {
		return nil, fmt.Errorf("root element is <%s>, want <Event>", ev.Name)
	}
	sys := ev.child("System")
	if sys == nil {
		return nil, fmt.Errorf("event has no <System> element")
	}
	r := &event.Raw{}
	p := fieldParser{}
	if e := sys.child("Provider"); e != nil {
		r.Provider, _ = e.attr("Name")
		r.ProviderGUID, _ = e.attr("Guid")
	}
	if e := sys.child("EventID"); e != nil {
		r.EventID = uint32(p.uint("EventID", e.Text, 32))
		if q, ok := e.attr("Qualifiers"); ok {
			r.Qualifiers = uint32(p.uint("EventID Qualifiers", q, 32))
		}
	}
	r.Version = uint8(p.childUint(sys, "Version", 8))
	r.Level = uint8(p.childUint(sys, "Level", 8))
	r.Task = uint32(p.childUint(sys, "Task", 32))
	r.Opcode = uint8(p.childUint(sys, "Opcode", 8))
	if e := sys.child("Keywords"); e != nil {
		r.Keywords = strings.TrimSpace(e.Text)
	}
	if e := sys.child("TimeCreated"); e != nil {
		if v, ok := e.attr("SystemTime"); ok {
			r.TimeCreated = p.time("TimeCreated SystemTime", v)
		}
	}
	r.RecordID = p.childUint(sys, "EventRecordID", 64)
	if e := sys.child("Execution"); e != nil {
		if v, ok := e.attr("ProcessID"); ok {
			r.ProcessID = uint32(p.uint("Execution ProcessID", v, 32))
		}
		if v, ok := e.attr("ThreadID"); ok {
			r.ThreadID = uint32(p.uint("Execution ThreadID", v, 32))
		}
	}
	if e := sys.child("Correlation"); e != nil {
		r.ActivityID, _ = e.attr("ActivityID")
		r.RelatedActivityID, _ = e.attr("RelatedActivityID")
	}
	if e := sys.child("Channel"); e != nil {
		r.Channel = e.Text
	}
	if e := sys.child("Computer"); e != nil {
		r.Computer = e.Text
	}
	if e := sys.child("Security"); e != nil {
		r.UserSID, _ = e.attr("UserID")
	}
	if p.err != nil {
		return nil, p.err
	}
	if e := ev.child("EventData"); e != nil {
		r.Data = eventData(e, r.Data)
	}
	if e := ev.child("UserData"); e != nil {
		for _, c := range e.Children {
			r.Data = flatten(c, r.Data)
		}
	}
	return r, nil
}

// eventData keeps <Data Name="x">v</Data> in order. Anything else under
// EventData (classic events carry <Binary>) is named after its element.
func eventData(ed *element, out []event.Field) []event.Field {
	for _, c := range ed.Children {
		name := c.Name
		if c.Name == "Data" {
			name, _ = c.attr("Name")
		}
		out = append(out, event.Field{Name: name, Value: c.Text})
	}
	return out
}

// flatten turns UserData's provider-defined tree into fields in document
// order: each attribute under its own name, each leaf element's text under
// the element's name. A <Data Name="x"> leaf is named x, as in EventData;
// a leaf that carries only attributes adds no empty field of its own.
func flatten(e *element, out []event.Field) []event.Field {
	dataName, named := "", false
	if e.Name == "Data" {
		dataName, named = e.attr("Name")
	}
	for _, a := range e.Attrs {
		if named && a.Name == "Name" {
			continue
		}
		out = append(out, event.Field{Name: a.Name, Value: a.Value})
	}
	switch {
	case len(e.Children) > 0:
		for _, c := range e.Children {
			out = flatten(c, out)
		}
	case named:
		out = append(out, event.Field{Name: dataName, Value: e.Text})
	case e.Text != "" || len(e.Attrs) == 0:
		out = append(out, event.Field{Name: e.Name, Value: e.Text})
	}
	return out
}

// fieldParser keeps the first parse failure so toRaw reads straight.
type fieldParser struct{ err error }

func (p *fieldParser) uint(field, s string, bits int) uint64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	base := 10
	if rest, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		s, base = rest, 16
	}
	v, err := strconv.ParseUint(s, base, bits)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("<System> %s: %w", field, err)
	}
	return v
}

func (p *fieldParser) childUint(sys *element, name string, bits int) uint64 {
	if e := sys.child(name); e != nil {
		return p.uint(name, e.Text, bits)
	}
	return 0
}

func (p *fieldParser) time(field, s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("<System> %s: %w", field, err)
	}
	return t.UTC()
}

// renderXML writes e as Windows renders events: the event namespace on the
// root, attributes in order, text escaped.
func renderXML(e *element) string {
	var b strings.Builder
	renderElement(&b, e, true)
	return b.String()
}

func renderElement(b *strings.Builder, e *element, root bool) {
	b.WriteByte('<')
	b.WriteString(e.Name)
	if root {
		b.WriteString(` xmlns="` + eventNamespace + `"`)
	}
	for _, a := range e.Attrs {
		b.WriteByte(' ')
		b.WriteString(a.Name)
		b.WriteString(`="`)
		if a.guid {
			escape(b, windowsGUID(a.Value))
		} else {
			escape(b, a.Value)
		}
		b.WriteByte('"')
	}
	if e.Text == "" && len(e.Children) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	if e.guid {
		escape(b, windowsGUID(e.Text))
	} else {
		escape(b, e.Text)
	}
	for _, c := range e.Children {
		renderElement(b, c, false)
	}
	b.WriteString("</")
	b.WriteString(e.Name)
	b.WriteByte('>')
}

func escape(b *strings.Builder, s string) {
	// EscapeText only fails when the writer does; a strings.Builder does not.
	_ = xml.EscapeText(b, []byte(s))
}

// isNamespaceDecl tells xmlns and xmlns:prefix attributes apart from data.
func isNamespaceDecl(name string) bool {
	return name == "xmlns" || strings.HasPrefix(name, "xmlns:")
}
