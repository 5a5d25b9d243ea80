package normalizer

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/weft-dev/weft/event"
)

// Raw fields for Sigma rules. Sigma's Windows rules read the event's own
// field names (Image, CommandLine, TargetObject, EventID, Channel ...),
// which Elastic's pipelines rename or drop, often losing information
// (empty values, fields with no ECS home, the original spelling of a
// value). Mapping Sigma names onto ECS fields would be lossy, so instead,
// when RawFields is on, every document also carries the raw event under a
// key of weft's own:
//
//	weft.event_data  EventData (or flattened UserData): each name and its
//	                 value exactly as the event has them, empty values
//	                 included; unnamed values under "Data"; a name that
//	                 occurs several times holds the list of its values in
//	                 event order
//	weft.system      the System fields under the names Sigma's conventions
//	                 give them: Channel, Computer, Correlation_ActivityID,
//	                 Correlation_RelatedActivityID, EventID, EventRecordID,
//	                 Execution_ProcessID, Execution_ThreadID, Keywords,
//	                 Level, Opcode, Provider_Guid, Provider_Name,
//	                 Security_UserID, Task, TimeCreated_SystemTime, Version
//
// Every value is a string, as the event's XML writes it. The ECS fields are
// untouched: with RawFields off (the default) documents are exactly what
// Elastic's pipelines produce. Documents are maps, so the order of
// EventData is not kept beyond the lists of repeated names.

// rawFields is the Normalizer's state for them.
type rawFields struct {
	on   bool
	idx  []int  // EventData indices sorted by name
	tail []byte // scratch: the document being spliced
}

// SetRawFields turns the weft.event_data and weft.system fields on or off
// for the documents this Normalizer writes from now on.
func (n *Normalizer) SetRawFields(on bool) { n.raw.on = on }

// dataName is the name a raw EventData value goes under.
func dataName(name string) string {
	if name == "" {
		return "Data"
	}
	return name
}

// sortData orders EventData indices by name, keeping event order among
// equal names (insertion sort: events carry a few dozen values).
func (n *Normalizer) sortData(r *event.Raw) []int {
	idx := n.raw.idx[:0]
	for i := range r.Data {
		idx = append(idx, i)
		for j := len(idx) - 1; j > 0 && dataName(r.Data[idx[j]].Name) < dataName(r.Data[idx[j-1]].Name); j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	n.raw.idx = idx
	return idx
}

// systemField is one of weft.system's entries, in key order.
type systemField struct {
	name string
	val  func(r *event.Raw) (string, bool)
}

func u64(v uint64) (string, bool) { return strconv.FormatUint(v, 10), true }

func nonEmpty(s string) (string, bool) { return s, s != "" }

// systemFields lists weft.system's entries sorted by name, as msgpack's
// sorted maps write them.
func systemFields() [17]systemField {
	return [...]systemField{
		{"Channel", func(r *event.Raw) (string, bool) { return r.Channel, true }},
		{"Computer", func(r *event.Raw) (string, bool) { return r.Computer, true }},
		{"Correlation_ActivityID", func(r *event.Raw) (string, bool) { return nonEmpty(r.ActivityID) }},
		{"Correlation_RelatedActivityID", func(r *event.Raw) (string, bool) { return nonEmpty(r.RelatedActivityID) }},
		{"EventID", func(r *event.Raw) (string, bool) { return u64(uint64(r.EventID)) }},
		{"EventRecordID", func(r *event.Raw) (string, bool) { return u64(r.RecordID) }},
		{"Execution_ProcessID", func(r *event.Raw) (string, bool) { return u64(uint64(r.ProcessID)) }},
		{"Execution_ThreadID", func(r *event.Raw) (string, bool) { return u64(uint64(r.ThreadID)) }},
		{"Keywords", func(r *event.Raw) (string, bool) { return nonEmpty(r.Keywords) }},
		{"Level", func(r *event.Raw) (string, bool) { return u64(uint64(r.Level)) }},
		{"Opcode", func(r *event.Raw) (string, bool) { return u64(uint64(r.Opcode)) }},
		{"Provider_Guid", func(r *event.Raw) (string, bool) { return nonEmpty(r.ProviderGUID) }},
		{"Provider_Name", func(r *event.Raw) (string, bool) { return r.Provider, true }},
		{"Security_UserID", func(r *event.Raw) (string, bool) { return nonEmpty(r.UserSID) }},
		{"Task", func(r *event.Raw) (string, bool) { return u64(uint64(r.Task)) }},
		{"TimeCreated_SystemTime", func(r *event.Raw) (string, bool) {
			if r.TimeCreated.IsZero() {
				return "", false
			}
			return r.TimeCreated.UTC().Format(systemTimeLayout), true
		}},
		{"Version", func(r *event.Raw) (string, bool) { return u64(uint64(r.Version)) }},
	}
}

// systemTimeLayout is how event XML writes TimeCreated's SystemTime.
const systemTimeLayout = "2006-01-02T15:04:05.0000000Z"

// withRaw adds weft.event_data and weft.system to a document built by
// document(), when RawFields is on.
func (n *Normalizer) withRaw(doc event.Document, r *event.Raw) event.Document {
	if !n.raw.on || r == nil {
		return doc
	}
	data := make(map[string]any, len(r.Data))
	for _, f := range r.Data {
		name := dataName(f.Name)
		switch prev := data[name].(type) {
		case nil:
			data[name] = f.Value
		case string:
			data[name] = []any{prev, f.Value}
		case []any:
			data[name] = append(prev, f.Value)
		}
	}
	fields := systemFields()
	sys := make(map[string]any, len(fields))
	for _, f := range fields {
		if v, ok := f.val(r); ok {
			sys[f.name] = v
		}
	}
	weft, _ := doc["weft"].(map[string]any)
	if weft == nil {
		weft = make(map[string]any, 2)
		doc["weft"] = weft
	}
	weft["event_data"] = data
	weft["system"] = sys
	return doc
}

// appendRaw adds weft.event_data and weft.system to the msgpack document
// written at b[start:] by appendMsgpack, when RawFields is on: it puts the
// "weft" entry where its name sorts among the root's (sorted) keys, so
// the bytes stay those bus.Encode writes for the document withRaw builds.
// A document it cannot read (which appendMsgpack never writes) is left as
// it is.
func (n *Normalizer) appendRaw(b []byte, start int, r *event.Raw) []byte {
	if !n.raw.on || r == nil {
		return b
	}
	doc := b[start:]
	count, pos, err := mpMapHeader(doc)
	if err != nil {
		return b
	}
	at := len(doc) // where the "weft" entry goes
	for i := 0; i < count; i++ {
		ks, ke, err := mpString(doc, pos)
		if err != nil {
			return b
		}
		next := ke
		// Compared in place: converting to a string would allocate per key.
		if key := doc[ks:ke]; string(key) >= "weft" {
			if string(key) == "weft" {
				return b // not written by appendMsgpack; leave it
			}
			at = pos
			break
		}
		if pos, err = mpSkip(doc, next, 0); err != nil {
			return b
		}
	}
	// The root header may grow (15 entries fit a fixmap, 16 do not), so
	// the document is copied aside and written again around the entry.
	old := append(n.raw.tail[:0], doc...)
	n.raw.tail = old
	headLen, _ := mpHeaderLen(old)
	b = appendMapLen(b[:start], count+1)
	b = append(b, old[headLen:at]...)
	b = appendString(b, "weft")
	b = n.appendRawValue(b, r)
	return append(b, old[at:]...)
}

// appendRawValue writes {event_data: {...}, system: {...}}.
func (n *Normalizer) appendRawValue(b []byte, r *event.Raw) []byte {
	b = appendMapLen(b, 2)
	b = appendString(b, "event_data")
	idx := n.sortData(r)
	names := 0
	for i, j := range idx {
		if i == 0 || dataName(r.Data[j].Name) != dataName(r.Data[idx[i-1]].Name) {
			names++
		}
	}
	b = appendMapLen(b, names)
	for i := 0; i < len(idx); {
		name := dataName(r.Data[idx[i]].Name)
		k := i + 1
		for k < len(idx) && dataName(r.Data[idx[k]].Name) == name {
			k++
		}
		b = appendString(b, name)
		if k-i == 1 {
			b = appendString(b, r.Data[idx[i]].Value)
		} else {
			b = appendArrayLen(b, k-i)
			for _, j := range idx[i:k] {
				b = appendString(b, r.Data[j].Value)
			}
		}
		i = k
	}
	b = appendString(b, "system")
	fields := systemFields()
	set := 0
	var vals [len(fields)]string
	var ok [len(fields)]bool
	for i, f := range fields {
		if vals[i], ok[i] = f.val(r); ok[i] {
			set++
		}
	}
	b = appendMapLen(b, set)
	for i, f := range fields {
		if ok[i] {
			b = appendString(b, f.name)
			b = appendString(b, vals[i])
		}
	}
	return b
}

var errMsgpack = errors.New("not a msgpack document weft writes")

func mpHeaderLen(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, errMsgpack
	}
	switch c := b[0]; {
	case c&0xf0 == 0x80:
		return 1, nil
	case c == mpMap16:
		return 3, nil
	case c == mpMap32:
		return 5, nil
	}
	return 0, errMsgpack
}

// mpMapHeader reads a map header: its count and where its entries start.
func mpMapHeader(b []byte) (count, pos int, err error) {
	l, err := mpHeaderLen(b)
	if err != nil || len(b) < l {
		return 0, 0, errMsgpack
	}
	switch l {
	case 1:
		return int(b[0] & 0x0f), 1, nil
	case 3:
		return int(binary.BigEndian.Uint16(b[1:])), 3, nil
	}
	return int(binary.BigEndian.Uint32(b[1:])), 5, nil
}

// mpString reads the string at pos and returns where its bytes start and
// end (where the next value starts).
func mpString(b []byte, pos int) (start, end int, err error) {
	if pos >= len(b) {
		return 0, 0, errMsgpack
	}
	c := b[pos]
	var l, h int
	switch {
	case c&0xe0 == 0xa0:
		l, h = int(c&0x1f), 1
	case c == mpStr8 && pos+2 <= len(b):
		l, h = int(b[pos+1]), 2
	case c == mpStr16 && pos+3 <= len(b):
		l, h = int(binary.BigEndian.Uint16(b[pos+1:])), 3
	case c == mpStr32 && pos+5 <= len(b):
		l, h = int(binary.BigEndian.Uint32(b[pos+1:])), 5
	default:
		return 0, 0, errMsgpack
	}
	end = pos + h + l
	if end > len(b) || end < pos {
		return 0, 0, errMsgpack
	}
	return pos + h, end, nil
}

// mpSkip returns where the value at pos ends.
func mpSkip(b []byte, pos, depth int) (int, error) {
	if pos >= len(b) || depth > 32 {
		return 0, errMsgpack
	}
	c := b[pos]
	n, entries := 0, 0
	switch {
	case c <= 0x7f || c >= 0xe0 || c == mpNil || c == mpTrue || c == mpFalse:
		return pos + 1, nil
	case c&0xe0 == 0xa0, c == mpStr8, c == mpStr16, c == mpStr32:
		_, next, err := mpString(b, pos)
		return next, err
	case c&0xf0 == 0x90:
		n, pos = int(c&0x0f), pos+1
	case c&0xf0 == 0x80:
		entries, pos = int(c&0x0f), pos+1
	case c == mpArr16 && pos+3 <= len(b):
		n, pos = int(binary.BigEndian.Uint16(b[pos+1:])), pos+3
	case c == mpArr32 && pos+5 <= len(b):
		n, pos = int(binary.BigEndian.Uint32(b[pos+1:])), pos+5
	case c == mpMap16 && pos+3 <= len(b):
		entries, pos = int(binary.BigEndian.Uint16(b[pos+1:])), pos+3
	case c == mpMap32 && pos+5 <= len(b):
		entries, pos = int(binary.BigEndian.Uint32(b[pos+1:])), pos+5
	default:
		// Fixed-size numbers: cc..cf uint, d0..d3 int, ca/cb float.
		var s int
		switch c {
		case 0xcc, 0xd0:
			s = 1
		case 0xcd, 0xd1:
			s = 2
		case 0xce, 0xd2, 0xca:
			s = 4
		case 0xcf, 0xd3, 0xcb:
			s = 8
		default:
			return 0, errMsgpack
		}
		if pos+1+s > len(b) {
			return 0, errMsgpack
		}
		return pos + 1 + s, nil
	}
	var err error
	for i := 0; i < n+2*entries; i++ {
		if pos, err = mpSkip(b, pos, depth+1); err != nil {
			return 0, err
		}
	}
	return pos, nil
}
