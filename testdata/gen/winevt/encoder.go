package winevt

import (
	"fmt"
	"time"

	"github.com/weft-dev/weft/testdata/gen/evtxwrite"
)

// Event is one event: the System fields that vary, and its values in the
// layout's order. Values are typed by the layout: a value of another type
// is an error, except NULL.
type Event struct {
	Layout    *Layout
	RecordID  uint64    // EventRecordID: the channel's own count on the host
	Time      time.Time // TimeCreated
	Computer  string
	ProcessID uint32 // Execution ProcessID: the process that logged it (lsass.exe for Security)
	ThreadID  uint32
	UserSID   string          // Security UserID; "" writes none, as the Security log does
	Activity  *evtxwrite.GUID // Correlation ActivityID, when the event carries one
	// Level, when set, overrides the layout's: PowerShell logs a script
	// block it finds suspicious as a warning (3) instead of verbose (5).
	Level  *uint8
	Values []evtxwrite.Value
}

// Get is the value of the named field rendered as event XML renders it;
// "" when the layout has no such field.
func (ev *Event) Get(name string) string {
	for i, n := range ev.Layout.Names {
		if n == name && i < len(ev.Values) {
			return ev.Values[i].String()
		}
	}
	return ""
}

// Encoder makes EVTX template instances of events. It keeps one System
// template per computer (Windows writes Computer into the template as
// text) and one data template per layout. Not safe for concurrent use.
type Encoder struct {
	system map[string]*evtxwrite.Template
	data   map[*Layout]*evtxwrite.Template
	sids   map[string]evtxwrite.SID
	outer  evtxwrite.Instance
	inner  evtxwrite.Instance
}

// NewEncoder makes an Encoder.
func NewEncoder() *Encoder {
	return &Encoder{system: map[string]*evtxwrite.Template{}, data: map[*Layout]*evtxwrite.Template{}, sids: map[string]evtxwrite.SID{}}
}

// Instance lays ev out as a template instance, valid until the next call.
func (e *Encoder) Instance(ev *Event) (*evtxwrite.Instance, error) {
	l := ev.Layout
	if l == nil {
		return nil, fmt.Errorf("winevt: record %d has no layout", ev.RecordID)
	}
	if len(ev.Values) != len(l.Names) {
		return nil, fmt.Errorf("winevt: %s event %d record %d: %d values, the layout has %d fields", l.Channel, l.ID, ev.RecordID, len(ev.Values), len(l.Names))
	}
	for i, v := range ev.Values {
		if v.Type() != evtxwrite.TypeNull && v.Type() != l.Types[i] {
			return nil, fmt.Errorf("winevt: %s event %d: %s is %v, the layout says %v", l.Channel, l.ID, l.Names[i], v.Type(), l.Types[i])
		}
	}
	dt, err := e.dataTemplate(l)
	if err != nil {
		return nil, err
	}
	st, err := e.systemTemplate(ev.Computer)
	if err != nil {
		return nil, err
	}
	e.inner.Template, e.inner.Values = dt, append(e.inner.Values[:0], ev.Values...)
	user := evtxwrite.Null()
	if ev.UserSID != "" {
		sid, ok := e.sids[ev.UserSID]
		if !ok {
			if sid, err = evtxwrite.ParseSID(ev.UserSID); err != nil {
				return nil, fmt.Errorf("winevt: record %d: %w", ev.RecordID, err)
			}
			e.sids[ev.UserSID] = sid
		}
		user = sid.Value()
	}
	opt := func(v evtxwrite.Value, present bool) evtxwrite.Value {
		if present {
			return v
		}
		return evtxwrite.Null()
	}
	var pguid, activity evtxwrite.Value
	if l.Provider.GUID != nil {
		pguid = l.Provider.GUID.Value()
	}
	if ev.Activity != nil {
		activity = ev.Activity.Value()
	}
	manifest := l.Provider.GUID != nil
	level := l.Level
	if ev.Level != nil {
		level = *ev.Level
	}
	e.outer.Template = st
	e.outer.Values = append(e.outer.Values[:0],
		evtxwrite.UInt8(level),                                         // 0 Level
		opt(evtxwrite.UInt8(l.Opcode), manifest),                       // 1 Opcode: classic events have none
		evtxwrite.UInt16(l.Task),                                       // 2 Task
		evtxwrite.UInt16(l.ID),                                         // 3 EventID
		opt(evtxwrite.UInt16(uint16(l.Qualifiers)), l.Qualifiers >= 0), // 4 EventID Qualifiers
		evtxwrite.HexInt64(l.Keywords),                                 // 5 Keywords
		evtxwrite.FileTime(ev.Time),                                    // 6 TimeCreated SystemTime
		activity,                                                       // 7 Correlation ActivityID
		evtxwrite.UInt32(ev.ProcessID),                                 // 8 Execution ProcessID
		evtxwrite.UInt32(ev.ThreadID),                                  // 9 Execution ThreadID
		evtxwrite.UInt64(ev.RecordID),                                  // 10 EventRecordID
		opt(evtxwrite.UInt8(l.Version), manifest),                      // 11 Version: classic events have none
		user,                              // 12 Security UserID
		evtxwrite.Null(),                  // 13 Correlation RelatedActivityID
		evtxwrite.String(l.Provider.Name), // 14 Provider Name
		pguid,                             // 15 Provider Guid
		evtxwrite.String(l.Channel),       // 16 Channel
		evtxwrite.BinXML(&e.inner),        // 17 EventData or UserData
		opt(evtxwrite.String(l.Provider.EventSourceName), l.Provider.EventSourceName != ""), // 18 Provider EventSourceName
	)
	return &e.outer, nil
}

func (e *Encoder) dataTemplate(l *Layout) (*evtxwrite.Template, error) {
	if t, ok := e.data[l]; ok {
		return t, nil
	}
	var root evtxwrite.Element
	if l.UserData != "" {
		inner := &evtxwrite.Element{Name: l.UserData, Attrs: []evtxwrite.Attr{{Name: "xmlns", Value: evtxwrite.Text(l.UserDataNS)}}}
		for i, name := range l.Names {
			inner.Content = append(inner.Content, &evtxwrite.Element{Name: name,
				Content: []evtxwrite.Node{evtxwrite.Substitution{Index: i, Type: l.Types[i]}}})
		}
		root = evtxwrite.Element{Name: "UserData", Content: []evtxwrite.Node{inner}}
	} else {
		root = evtxwrite.Element{Name: "EventData"}
		for i, name := range l.Names {
			d := &evtxwrite.Element{Name: "Data", Content: []evtxwrite.Node{evtxwrite.Substitution{Index: i, Type: l.Types[i]}}}
			if name != "" {
				d.Attrs = []evtxwrite.Attr{{Name: "Name", Value: evtxwrite.Text(name)}}
			}
			root.Content = append(root.Content, d)
		}
	}
	t, err := evtxwrite.NewTemplate(root)
	if err != nil {
		return nil, fmt.Errorf("winevt: data template of %s event %d: %w", l.Channel, l.ID, err)
	}
	e.data[l] = t
	return t, nil
}

// systemTemplate is the System template of one computer, made once; the
// classic providers of these logs carry EventSourceName too.
func (e *Encoder) systemTemplate(computer string) (*evtxwrite.Template, error) {
	if t, ok := e.system[computer]; ok {
		return t, nil
	}
	t, err := evtxwrite.SystemTemplate(computer, true)
	if err != nil {
		return nil, fmt.Errorf("winevt: %w", err)
	}
	e.system[computer] = t
	return t, nil
}
