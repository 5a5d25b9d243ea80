package sysmon

import (
	"fmt"
	"time"

	"github.com/weft-dev/weft/testdata/gen/evtxwrite"
)

// What every Sysmon event's System block holds.
const (
	Provider = "Microsoft-Windows-Sysmon"
	Channel  = "Microsoft-Windows-Sysmon/Operational"
	Keywords = uint64(0x8000000000000000)
	Level    = 4 // Information
	Opcode   = 0 // Info
	UserSID  = "S-1-5-18"
)

// ProviderGUID is Sysmon's provider GUID,
// {5770385f-c22a-43e0-bf4c-06f5698ffbd9}.
func ProviderGUID() evtxwrite.GUID {
	return evtxwrite.GUID{0x57, 0x70, 0x38, 0x5f, 0xc2, 0x2a, 0x43, 0xe0, 0xbf, 0x4c, 0x06, 0xf5, 0x69, 0x8f, 0xfb, 0xd9}
}

// Data is one Sysmon event's EventData: *ProcessCreate, *NetworkConnect,
// *ProcessTerminate, *ImageLoad, *FileCreate or *DNSQuery.
type Data interface {
	EventID() uint16
	values([]evtxwrite.Value) []evtxwrite.Value
}

// Event is one Sysmon event: the System fields that vary between events,
// and the event data. Version, task (the event id), level, opcode,
// keywords, provider, channel and user SID are Sysmon's constants.
type Event struct {
	RecordID  uint64    // EventRecordID
	Time      time.Time // TimeCreated: when the event was logged
	Computer  string
	ProcessID uint32 // Execution ProcessID: the Sysmon service
	ThreadID  uint32
	Data      Data
}

// Version is the System Version Sysmon gives event id; ok is false for
// ids this package does not write.
func Version(id uint16) (v uint8, ok bool) {
	s, ok := schemaOf(id)
	return s.version, ok
}

// Field is one EventData field: its name, its BinXML type and its value
// rendered as Windows renders it in event XML.
type Field struct {
	Name  string
	Type  evtxwrite.Type
	Value string
}

// Fields lists d's EventData in Sysmon's order.
func Fields(d Data) ([]Field, error) {
	s, ok := schemaOf(d.EventID())
	if !ok {
		return nil, fmt.Errorf("sysmon: no layout for event id %d", d.EventID())
	}
	vals := d.values(nil)
	out := make([]Field, len(vals))
	for i, v := range vals {
		out[i] = Field{Name: s.names[i], Type: s.types[i], Value: v.String()}
	}
	return out, nil
}

// Encoder makes EVTX template instances of Sysmon events. It keeps one
// System template per computer, since Windows writes Computer into the
// template as text, and one EventData template per event id. An Encoder
// is not safe for concurrent use.
type Encoder struct {
	system map[string]*evtxwrite.Template
	data   map[uint16]*evtxwrite.Template
	sid    evtxwrite.SID
	outer  evtxwrite.Instance
	inner  evtxwrite.Instance
}

// NewEncoder makes an Encoder.
func NewEncoder() (*Encoder, error) {
	sid, err := evtxwrite.ParseSID(UserSID)
	if err != nil {
		return nil, err
	}
	return &Encoder{system: map[string]*evtxwrite.Template{}, data: map[uint16]*evtxwrite.Template{}, sid: sid}, nil
}

// Instance lays ev out as an EVTX template instance. The instance is the
// Encoder's and is valid until the next call.
func (e *Encoder) Instance(ev *Event) (*evtxwrite.Instance, error) {
	if ev.Data == nil {
		return nil, fmt.Errorf("sysmon: record %d has no event data", ev.RecordID)
	}
	id := ev.Data.EventID()
	s, ok := schemaOf(id)
	if !ok {
		return nil, fmt.Errorf("sysmon: no layout for event id %d", id)
	}
	dt, err := e.dataTemplate(id, s)
	if err != nil {
		return nil, err
	}
	st, err := e.systemTemplate(ev.Computer)
	if err != nil {
		return nil, err
	}
	e.inner.Template = dt
	e.inner.Values = ev.Data.values(e.inner.Values[:0])
	e.outer.Template = st
	v := e.outer.Values[:0]
	v = append(v,
		evtxwrite.UInt8(Level),         // 0 Level
		evtxwrite.UInt8(Opcode),        // 1 Opcode
		evtxwrite.UInt16(id),           // 2 Task: Sysmon's task is the event id
		evtxwrite.UInt16(id),           // 3 EventID
		evtxwrite.Null(),               // 4 EventID Qualifiers: none for manifest providers
		evtxwrite.HexInt64(Keywords),   // 5 Keywords
		evtxwrite.FileTime(ev.Time),    // 6 TimeCreated SystemTime
		evtxwrite.Null(),               // 7 Correlation ActivityID
		evtxwrite.UInt32(ev.ProcessID), // 8 Execution ProcessID
		evtxwrite.UInt32(ev.ThreadID),  // 9 Execution ThreadID
		evtxwrite.UInt64(ev.RecordID),  // 10 EventRecordID
		evtxwrite.UInt8(s.version),     // 11 Version
		e.sid.Value(),                  // 12 Security UserID
		evtxwrite.Null(),               // 13 Correlation RelatedActivityID
		evtxwrite.String(Provider),     // 14 Provider Name
		ProviderGUID().Value(),         // 15 Provider Guid
		evtxwrite.String(Channel),      // 16 Channel
		evtxwrite.BinXML(&e.inner),     // 17 EventData
	)
	e.outer.Values = v
	return &e.outer, nil
}

func (e *Encoder) dataTemplate(id uint16, s schema) (*evtxwrite.Template, error) {
	if t, ok := e.data[id]; ok {
		return t, nil
	}
	ed := evtxwrite.Element{Name: "EventData"}
	for i, name := range s.names {
		ed.Content = append(ed.Content, &evtxwrite.Element{
			Name:    "Data",
			Attrs:   []evtxwrite.Attr{{Name: "Name", Value: evtxwrite.Text(name)}},
			Content: []evtxwrite.Node{evtxwrite.Substitution{Index: i, Type: s.types[i]}},
		})
	}
	t, err := evtxwrite.NewTemplate(ed)
	if err != nil {
		return nil, fmt.Errorf("sysmon: EventData template of event %d: %w", id, err)
	}
	e.data[id] = t
	return t, nil
}

// systemTemplate is the System template of one computer, made once.
func (e *Encoder) systemTemplate(computer string) (*evtxwrite.Template, error) {
	if t, ok := e.system[computer]; ok {
		return t, nil
	}
	t, err := evtxwrite.SystemTemplate(computer, false)
	if err != nil {
		return nil, fmt.Errorf("sysmon: %w", err)
	}
	e.system[computer] = t
	return t, nil
}
