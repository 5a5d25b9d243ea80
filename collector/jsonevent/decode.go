package jsonevent

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
)

// SourceJSON is the Origin.Kind of events decoded from JSON fields. Events
// whose JSON carries the rendered XML (OpenWEC's RawJson, Winlogbeat's
// event.original) are decoded from that XML and keep event.SourceXML.
const SourceJSON = "json"

// Form is the JSON shape a document was recognised as.
type Form int

const (
	FormUnknown    Form = iota
	FormWinlogbeat      // Winlogbeat's event: winlog.event_id, winlog.event_data, ...
	FormOpenWEC         // OpenWEC's Json format: System, EventData, OpenWEC
	FormOpenWECRaw      // OpenWEC's RawJson format: meta and the XML in data
	FormEvtxMap         // golang-evtx's map form: Event.System, Event.EventData
)

func (f Form) String() string {
	switch f {
	case FormWinlogbeat:
		return "winlogbeat"
	case FormOpenWEC:
		return "openwec-json"
	case FormOpenWECRaw:
		return "openwec-rawjson"
	case FormEvtxMap:
		return "evtx-map"
	}
	return "unknown"
}

// Causes a caller can tell apart with errors.Is.
var (
	// ErrNotEvent: valid JSON in none of the known forms.
	ErrNotEvent = errors.New("not a Windows event")
	// ErrInvalidUTF8: JSON must be UTF-8. Decode refuses a document that
	// is not; DecodeText replaces the bad bytes by U+FFFD, keeps the event
	// and says so with an *InvalidUTF8Error.
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
)

// InvalidUTF8Error says that DecodeText replaced bytes that are not UTF-8
// by U+FFFD, how many and where the first was. The event was kept.
type InvalidUTF8Error struct {
	Count int // bytes replaced
	At    int // offset of the first in the document
}

func (e *InvalidUTF8Error) Error() string {
	return fmt.Sprintf("%v: %d byte(s) replaced by U+FFFD, the first at byte %d; the event is kept", ErrInvalidUTF8, e.Count, e.At)
}

func (e *InvalidUTF8Error) Unwrap() error { return ErrInvalidUTF8 }

// DecodeText is Decode for documents that may hold bytes that are not
// UTF-8, as forwarded event text can: each becomes U+FFFD, the event is
// decoded from what remains, and replaced, when not nil, says where they
// were for the caller to report. One hostile byte then does not hide an
// event from the rules (an EVTX record's lone surrogate becomes U+FFFD
// too). The size limit applies to the document as given.
func DecodeText(data []byte, opts collector.Options) (r *event.Raw, form Form, replaced *InvalidUTF8Error, err error) {
	if limit := maxEventSize(opts); len(data) > limit {
		return nil, FormUnknown, nil, fmt.Errorf("%w: %d bytes, more than %d", collector.ErrEventTooLarge, len(data), limit)
	}
	if !utf8.Valid(data) {
		var fixed []byte
		fixed, replaced = toValidUTF8(data)
		data = fixed
		opts.MaxEventSize = len(data) // checked above, before U+FFFD made it longer
	}
	r, form, err = Decode(data, opts)
	if err != nil {
		return nil, form, nil, err
	}
	return r, form, replaced, nil
}

// toValidUTF8 replaces each byte of data that does not start a valid
// UTF-8 sequence by U+FFFD (so a cut sequence of three bytes becomes three
// U+FFFD, as encoding/json and Go's string conversions count them).
func toValidUTF8(data []byte) ([]byte, *InvalidUTF8Error) {
	out := make([]byte, 0, len(data)+8)
	e := &InvalidUTF8Error{At: -1}
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			if e.At < 0 {
				e.At = i
			}
			e.Count++
			out = append(out, "\uFFFD"...)
			i++
			continue
		}
		out = append(out, data[i:i+n]...)
		i += n
	}
	return out, e
}

// Decode turns one JSON document into a raw event, detecting its form.
// opts.MaxEventSize bounds the document (collector.DefaultMaxEventSize when
// zero); opts.KeepXML keeps the XML of the forms that carry it. The event's
// Origin has its Kind and Received time set; where it was read is the
// caller's to fill in.
func Decode(data []byte, opts collector.Options) (*event.Raw, Form, error) {
	if limit := maxEventSize(opts); len(data) > limit {
		return nil, FormUnknown, fmt.Errorf("%w: %d bytes, more than %d", collector.ErrEventTooLarge, len(data), limit)
	}
	if !utf8.Valid(data) {
		return nil, FormUnknown, fmt.Errorf("%w at byte %d", ErrInvalidUTF8, invalidAt(data))
	}
	doc, err := parse(data)
	if err != nil {
		return nil, FormUnknown, fmt.Errorf("malformed JSON: %w", err)
	}
	form := detect(doc)
	var r *event.Raw
	switch form {
	case FormWinlogbeat:
		r, err = fromWinlogbeat(doc, opts)
	case FormOpenWEC:
		r, err = fromOpenWEC(doc, opts)
	case FormOpenWECRaw:
		r, err = fromOpenWECRaw(doc, opts)
	case FormEvtxMap:
		r, err = fromEvtxMap(doc)
	default:
		if doc.kind != kindObject {
			return nil, FormUnknown, fmt.Errorf("%w: the document is %s, not an object", ErrNotEvent, doc.kind)
		}
		return nil, FormUnknown, fmt.Errorf("%w: an object with neither winlog, System, Event nor meta and data", ErrNotEvent)
	}
	if err != nil {
		return nil, form, fmt.Errorf("%s: %w", form, err)
	}
	if r.Origin.Kind == "" {
		r.Origin.Kind = SourceJSON
	}
	r.Origin.Received = now(opts)
	return r, form, nil
}

// detect tells which form a parsed document is in.
func detect(doc value) Form {
	if doc.kind != kindObject {
		return FormUnknown
	}
	if data, ok := doc.get("data"); ok && data.kind == kindString && doc.hasObject("meta") {
		return FormOpenWECRaw
	}
	if doc.hasObject("System") {
		return FormOpenWEC
	}
	if ev, ok := doc.get("Event"); ok && ev.hasObject("System") {
		return FormEvtxMap
	}
	if w, ok := doc.path("winlog"); ok && w.kind == kindObject {
		return FormWinlogbeat
	}
	if _, ok := doc.path("winlog.event_id"); ok {
		return FormWinlogbeat
	}
	return FormUnknown
}

func maxEventSize(opts collector.Options) int {
	if opts.MaxEventSize > 0 {
		return opts.MaxEventSize
	}
	return collector.DefaultMaxEventSize
}

func now(opts collector.Options) time.Time {
	if opts.Now != nil {
		return opts.Now()
	}
	return time.Now()
}

func invalidAt(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// fromWinlogbeat maps Winlogbeat's fields. When the document carries the
// rendered XML (include_xml: true puts it in event.original) that is used
// instead: it has what Winlogbeat renders into names (task, keywords).
func fromWinlogbeat(doc value, opts collector.Options) (*event.Raw, error) {
	if x := strings.TrimSpace(doc.str("event.original")); strings.HasPrefix(x, "<Event") {
		return decodeXML(x, opts)
	}
	p := parser{}
	r := &event.Raw{
		Provider:     doc.str("winlog.provider_name"),
		ProviderGUID: doc.str("winlog.provider_guid"),
		Channel:      doc.str("winlog.channel"),
		Computer:     doc.str("winlog.computer_name"),
		UserSID:      doc.str("winlog.user.identifier"),

		ActivityID:        doc.str("winlog.activity_id"),
		RelatedActivityID: doc.str("winlog.related_activity_id"),
	}
	id, ok := doc.path("winlog.event_id")
	if !ok {
		id, ok = doc.path("event.code")
	}
	if !ok {
		return nil, fmt.Errorf("%w: no winlog.event_id", ErrNotEvent)
	}
	r.EventID = uint32(p.uint("winlog.event_id", id, 32))
	r.Version = uint8(p.uintAt(doc, "winlog.version", 8))
	r.RecordID = p.uintAt(doc, "winlog.record_id", 64)
	r.ProcessID = uint32(p.uintAt(doc, "winlog.process.pid", 32))
	r.ThreadID = uint32(p.uintAt(doc, "winlog.process.thread.id", 32))
	// Winlogbeat renders level, opcode and task into names; the numbers
	// are recovered where Windows defines the name, and task (a
	// provider's own name) only when it is still a number.
	if lvl, ok := levelNumber(doc.str("log.level")); ok {
		r.Level = lvl
	}
	if v, ok := doc.path("winlog.opcode"); ok {
		if op, ok := opcodeNumber(v); ok {
			r.Opcode = op
		}
	}
	if v, ok := doc.path("winlog.task"); ok && isNumeric(v) {
		r.Task = uint32(p.uint("winlog.task", v, 32))
	}
	if k := doc.str("winlog.keywords"); strings.HasPrefix(k, "0x") {
		r.Keywords = k
	}
	if ts, ok := doc.path("@timestamp"); ok {
		r.TimeCreated = p.time("@timestamp", ts)
	}
	if p.err != nil {
		return nil, p.err
	}
	if ed, ok := doc.path("winlog.event_data"); ok {
		r.Data = flattenMembers(ed, r.Data)
	}
	if ud, ok := doc.path("winlog.user_data"); ok && ud.kind == kindObject {
		for _, m := range ud.obj {
			if m.key == "xml_name" { // the name of UserData's root element, not data
				continue
			}
			r.Data = flatten(m.key, m.val, r.Data)
		}
	}
	return r, nil
}

// fromOpenWEC maps OpenWEC's Json format, which follows the XML schema.
func fromOpenWEC(doc value, opts collector.Options) (*event.Raw, error) {
	sys, _ := doc.get("System")
	p := parser{}
	r := &event.Raw{
		Provider:     sys.str("Provider.Name"),
		ProviderGUID: sys.str("Provider.Guid"),
		Keywords:     sys.str("Keywords"),
		Channel:      sys.str("Channel"),
		Computer:     sys.str("Computer"),
		UserSID:      sys.str("UserID"),

		ActivityID:        sys.str("Correlation.ActivityID"),
		RelatedActivityID: sys.str("Correlation.RelatedActivityID"),
	}
	if r.UserSID == "" {
		r.UserSID = sys.str("Security.UserID")
	}
	id, ok := sys.get("EventID")
	if !ok {
		return nil, fmt.Errorf("%w: System has no EventID", ErrNotEvent)
	}
	r.EventID = uint32(p.uint("EventID", id, 32))
	r.Qualifiers = uint32(p.uintAt(sys, "EventIDQualifiers", 32))
	version := "Version"
	if _, ok := sys.get(version); !ok {
		version = "Vesion" // as OpenWEC's format documentation spells it
	}
	r.Version = uint8(p.uintAt(sys, version, 8))
	r.Level = uint8(p.uintAt(sys, "Level", 8))
	r.Task = uint32(p.uintAt(sys, "Task", 32))
	r.Opcode = uint8(p.uintAt(sys, "Opcode", 8))
	r.RecordID = p.uintAt(sys, "EventRecordID", 64)
	r.ProcessID = uint32(p.uintAt(sys, "Execution.ProcessID", 32))
	r.ThreadID = uint32(p.uintAt(sys, "Execution.ThreadID", 32))
	if ts, ok := sys.get("TimeCreated"); ok {
		r.TimeCreated = p.time("TimeCreated", ts)
	}
	if p.err != nil {
		return nil, p.err
	}
	if ed, ok := doc.get("EventData"); ok && ed.kind == kindObject {
		for _, m := range ed.obj {
			if m.key == "Data" && m.val.kind == kindArray {
				// Values without a name, as <Data> without Name= in XML.
				for _, e := range m.val.arr {
					r.Data = flatten("", e, r.Data)
				}
				continue
			}
			r.Data = flatten(m.key, m.val, r.Data)
		}
	}
	if ud, ok := doc.get("UserData"); ok {
		switch ud.kind {
		case kindString:
			// OpenWEC keeps UserData as its XML text: decode it as the
			// XML reader would, so both paths flatten it alike.
			fields, err := userDataXML(ud.text, opts)
			if err != nil {
				return nil, fmt.Errorf("UserData: %w", err)
			}
			r.Data = append(r.Data, fields...)
		case kindObject:
			r.Data = flattenMembers(ud, r.Data)
		}
	}
	return r, nil
}

// fromOpenWECRaw decodes the XML OpenWEC's RawJson format carries.
func fromOpenWECRaw(doc value, opts collector.Options) (*event.Raw, error) {
	data, _ := doc.get("data")
	if strings.TrimSpace(data.text) == "" {
		if msg := doc.str("meta.Error.Message"); msg != "" {
			return nil, fmt.Errorf("OpenWEC could not handle the event: %s", msg)
		}
		return nil, errors.New("data is empty")
	}
	return decodeXML(data.text, opts)
}

// fromEvtxMap maps golang-evtx's map form, where elements are objects,
// attributes are members and every value may be a string. Values are taken
// as golang-evtx rendered them: it zero-pads hexadecimal integers to their
// type's width ("0x000003e7" where Windows writes "0x3e7"), and as a
// Sysmon string such as StartAddress is zero-padded too, the two cannot be
// told apart to undo it.
func fromEvtxMap(doc value) (*event.Raw, error) {
	ev, _ := doc.get("Event")
	sys, _ := ev.get("System")
	p := parser{}
	r := &event.Raw{
		Provider:     sys.str("Provider.Name"),
		ProviderGUID: sys.str("Provider.Guid"),
		Keywords:     sys.str("Keywords"),
		Channel:      sys.str("Channel"),
		Computer:     sys.str("Computer"),
		UserSID:      sys.str("Security.UserID"),

		ActivityID:        sys.str("Correlation.ActivityID"),
		RelatedActivityID: sys.str("Correlation.RelatedActivityID"),
	}
	id, ok := sys.get("EventID")
	if !ok {
		return nil, fmt.Errorf("%w: Event.System has no EventID", ErrNotEvent)
	}
	if id.kind == kindObject { // <EventID Qualifiers="..."> becomes {"Value", "Qualifiers"}
		r.Qualifiers = uint32(p.uintAt(id, "Qualifiers", 32))
		id, _ = id.get("Value")
	}
	r.EventID = uint32(p.uint("EventID", id, 32))
	r.Version = uint8(p.uintAt(sys, "Version", 8))
	r.Level = uint8(p.uintAt(sys, "Level", 8))
	r.Task = uint32(p.uintAt(sys, "Task", 32))
	r.Opcode = uint8(p.uintAt(sys, "Opcode", 8))
	r.RecordID = p.uintAt(sys, "EventRecordID", 64)
	r.ProcessID = uint32(p.uintAt(sys, "Execution.ProcessID", 32))
	r.ThreadID = uint32(p.uintAt(sys, "Execution.ThreadID", 32))
	if ts, ok := sys.path("TimeCreated.SystemTime"); ok {
		r.TimeCreated = p.time("TimeCreated.SystemTime", ts)
	}
	if p.err != nil {
		return nil, p.err
	}
	if ed, ok := ev.get("EventData"); ok {
		r.Data = flattenMembers(ed, r.Data)
	}
	if ud, ok := ev.get("UserData"); ok && ud.kind == kindObject {
		// UserData's only child is the provider's root element.
		for _, m := range ud.obj {
			r.Data = flattenMembers(m.val, r.Data)
		}
	}
	return r, nil
}

// flattenMembers adds an object's members as fields, in order. Anything
// else (an EventData that is a bare string) becomes one unnamed field.
func flattenMembers(v value, out []event.Field) []event.Field {
	if v.kind != kindObject {
		return flatten("", v, out)
	}
	for _, m := range v.obj {
		out = flatten(m.key, m.val, out)
	}
	return out
}

// flatten adds v under name: a scalar as itself, null as "", an array as
// one field per element, an object as its members under their own names
// (as the XML reader flattens UserData).
func flatten(name string, v value, out []event.Field) []event.Field {
	switch v.kind {
	case kindObject:
		for _, m := range v.obj {
			out = flatten(m.key, m.val, out)
		}
	case kindArray:
		for _, e := range v.arr {
			out = flatten(name, e, out)
		}
	default:
		s, _ := v.scalar()
		out = append(out, event.Field{Name: name, Value: s})
	}
	return out
}

// decodeXML reads the one event an XML text holds with the collector's
// XML reader, so that XML carried in JSON is treated exactly as XML read
// from a file or a socket (DTDs refused, sizes bounded).
func decodeXML(text string, opts collector.Options) (*event.Raw, error) {
	var got []*event.Raw
	var problem error
	_, err := collector.ReadXML(context.Background(), strings.NewReader(text), "", opts,
		func(r *event.Raw) error {
			got = append(got, r)
			return nil
		},
		func(err error) {
			if problem == nil {
				problem = err
			}
		})
	if err == nil {
		err = problem
	}
	if err != nil {
		// The reader locates its errors in the input it was given; the
		// caller locates the document.
		var ce *collector.Error
		if errors.As(err, &ce) && ce.Err != nil {
			err = fmt.Errorf("XML line %d: %w", max(ce.Line, 1), ce.Err)
		}
		return nil, err
	}
	switch len(got) {
	case 0:
		return nil, errors.New("the XML holds no <Event>")
	case 1:
		r := got[0]
		r.Origin.Path, r.Origin.Offset = "", 0
		return r, nil
	}
	return nil, fmt.Errorf("the XML holds %d events, want one", len(got))
}

// userDataXML flattens OpenWEC's UserData text through the XML reader.
func userDataXML(text string, opts collector.Options) ([]event.Field, error) {
	r, err := decodeXML("<Event><System/><UserData>"+text+"</UserData></Event>", opts)
	if err != nil {
		return nil, err
	}
	return r.Data, nil
}

// parser keeps the first conversion failure so the mappings read straight.
type parser struct{ err error }

func (p *parser) fail(field string, err error) {
	if p.err == nil {
		p.err = fmt.Errorf("%s: %w", field, err)
	}
}

// uint reads a number, or a string holding one in decimal or 0x-hex.
func (p *parser) uint(field string, v value, bits int) uint64 {
	s, ok := v.scalar()
	if !ok || v.kind == kindBool {
		if v.kind != kindNull {
			p.fail(field, fmt.Errorf("%s, want a number", v.kind))
		}
		return 0
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	base := 10
	if rest, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		s, base = rest, 16
	}
	n, err := strconv.ParseUint(s, base, bits)
	if err != nil {
		p.fail(field, err)
	}
	return n
}

func (p *parser) uintAt(v value, path string, bits int) uint64 {
	if c, ok := v.path(path); ok {
		return p.uint(path, c, bits)
	}
	return 0
}

func (p *parser) time(field string, v value) time.Time {
	if v.kind != kindString {
		p.fail(field, fmt.Errorf("%s, want an RFC 3339 time", v.kind))
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v.text))
	if err != nil {
		p.fail(field, err)
	}
	return t.UTC()
}

func isNumeric(v value) bool {
	if v.kind == kindNumber {
		return true
	}
	if v.kind != kindString || v.text == "" {
		return false
	}
	_, err := strconv.ParseUint(v.text, 10, 32)
	return err == nil
}

// levelNumber maps the level names Windows renders (and Winlogbeat puts in
// log.level, lower-cased) to their numbers.
func levelNumber(name string) (uint8, bool) {
	switch strings.ToLower(name) {
	case "critical":
		return 1, true
	case "error":
		return 2, true
	case "warning":
		return 3, true
	case "information":
		return 4, true
	case "verbose":
		return 5, true
	}
	return 0, false
}

// opcodeNumber maps the opcode names Windows defines (winmeta.xml) to their
// numbers; a number stays a number.
func opcodeNumber(v value) (uint8, bool) {
	if isNumeric(v) {
		n, err := strconv.ParseUint(v.text, 10, 8)
		return uint8(n), err == nil
	}
	switch strings.ToLower(v.text) {
	case "info":
		return 0, true
	case "start":
		return 1, true
	case "stop":
		return 2, true
	case "dcstart":
		return 3, true
	case "dcstop":
		return 4, true
	case "extension":
		return 5, true
	case "reply":
		return 6, true
	case "resume":
		return 7, true
	case "suspend":
		return 8, true
	case "send":
		return 9, true
	case "receive":
		return 240, true
	}
	return 0, false
}
