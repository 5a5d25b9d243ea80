package collector

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/0xrawsec/golang-evtx/evtx"
)

// golang-evtx decodes BinXML, but into a map that loses element order, and
// it panics on shapes it does not expect. This file drives its parser
// record by record and walks the parsed template definitions, token by
// token, into elements, with every panic and runaway bounded per record.

// Bounds on the work one record may cost. Real records need far less: a
// record is at most 64 KiB and the parser reads it field by field.
const (
	maxRecordReads = 1 << 20
	// maxParseFrames caps the goroutine stack depth while parsing: BinXML
	// templates can point at themselves, and the library would recurse until
	// the runtime kills the process, which no recover can catch.
	maxParseFrames = 4096
	// depthCheckEvery trades the cost of unwinding the stack against how far
	// a runaway can go between checks.
	depthCheckEvery = 1024
	maxNesting      = 64
)

var (
	errParseBudget = errors.New("BinXML decoding exceeded its work budget")
	errParseDepth  = errors.New("BinXML nests too deeply (self-referencing template?)")
)

// guardedReader is the io.ReadSeeker handed to the library's parser over a
// chunk's bytes. It counts reads and watches the stack, and panics with a
// budgetPanic that decodeOnce turns back into an error.
type guardedReader struct {
	r     *bytes.Reader
	reads int
	pc    [1]uintptr
}

type budgetPanic struct{ err error }

func (g *guardedReader) Read(p []byte) (int, error) {
	g.reads++
	if g.reads > maxRecordReads {
		panic(budgetPanic{errParseBudget})
	}
	// Past maxParseFrames frames there is still one to report only when
	// the stack is deeper than that.
	if g.reads%depthCheckEvery == 0 && runtime.Callers(maxParseFrames, g.pc[:]) == 1 {
		panic(budgetPanic{errParseDepth})
	}
	return g.r.Read(p)
}

func (g *guardedReader) Seek(offset int64, whence int) (int64, error) {
	return g.r.Seek(offset, whence)
}

// recordDecoder decodes the records of one chunk.
type recordDecoder struct {
	chunk  evtx.Chunk
	reader guardedReader
	// names caches element and attribute names by chunk offset: records
	// of a chunk share their names, and converting them is costly.
	names map[int32]string
	// patched lists the value descriptors deferBinXML changed, to put
	// back once the record is decoded.
	patched []int64
}

func newRecordDecoder(data []byte, offset int64) *recordDecoder {
	d := &recordDecoder{chunk: evtx.NewChunk(), names: map[int32]string{}}
	d.chunk.Data = data
	d.chunk.Offset = offset
	d.reader.r = bytes.NewReader(data)
	return d
}

// decode turns the BinXML of the record at off (chunk-relative, pointing at
// the record header) into an <Event> element. It never panics.
//
// Records share the library's per-chunk template cache, which is much
// faster, but a record that fails is decoded once more from an empty cache:
// the library caches a template even when parsing it broke off, and on a
// cache hit it drops the whole instance when one value fails, where parsing
// afresh keeps it for repair.
func (d *recordDecoder) decode(off int64) (*element, error) {
	ev, err := d.decodeOnce(off)
	if err != nil && len(d.chunk.TemplateTable) > 0 {
		clear(d.chunk.TemplateTable)
		ev, err = d.decodeOnce(off)
	}
	if err != nil {
		clear(d.chunk.TemplateTable)
	}
	return ev, err
}

func (d *recordDecoder) decodeOnce(off int64) (ev *element, err error) {
	defer d.restore()
	defer func() {
		if p := recover(); p != nil {
			ev, err = nil, panicError(p)
		}
	}()
	d.reader.reads = 0
	body := off + evtx.EventHeaderSize
	if _, err := d.reader.Seek(body, io.SeekStart); err != nil {
		return nil, err
	}
	d.deferBinXML(body)
	parsed, perr := evtx.Parse(&d.reader, &d.chunk, false)
	if perr == io.EOF {
		perr = nil
	}
	perr = explainLibraryError(perr)
	frag, ok := parsed.(*evtx.Fragment)
	if !ok {
		if perr != nil {
			return nil, fmt.Errorf("BinXML: %w", perr)
		}
		return nil, fmt.Errorf("BinXML: record starts with %T, want a fragment", parsed)
	}
	w := walker{dec: d, data: d.chunk.Data, reader: &d.reader, names: d.names}
	root := &element{}
	if err := w.fragment(frag, root); err != nil {
		// The walker's own findings (a substitution value it could not
		// re-read, say) say more than the library's; otherwise its error
		// is mostly a consequence of the library's.
		var re *repairError
		if perr != nil && !errors.As(err, &re) {
			return nil, fmt.Errorf("BinXML: %w", perr)
		}
		return nil, err
	}
	// The library reports only the last value's error of each template
	// instance; one the walker repaired is accounted for, any other
	// leaves the record in doubt.
	if perr != nil && w.repaired == 0 {
		return nil, fmt.Errorf("BinXML: %w", perr)
	}
	if len(root.Children) != 1 {
		return nil, fmt.Errorf("BinXML: record holds %d top-level elements, want 1", len(root.Children))
	}
	return root.Children[0], nil
}

// deferredBinXML is the value type deferBinXML gives BinXML substitution
// values. It is no EVTX type, so the library leaves such a value unparsed,
// as an *evtx.UnkVal that says where it is.
const deferredBinXML evtx.ValueType = 0x7f

// deferBinXML hides from the library the BinXML substitution values of the
// template instance in the fragment at pos, by changing their type in the
// instance's value descriptors (d.restore puts it back). The library would
// parse each such value on its own, without the chunk's template cache, and
// so read a nested template's whole definition again for every record that
// uses it; and it takes plain BinXML (no template) for a template
// definition. The walker parses deferred values itself, with the cache. An
// instance laid out otherwise than expected is left to the library.
//
// The fragment header is 4 bytes; the template instance is its token, a
// byte, the template id and the definition offset (4 bytes each), the
// definition itself when it follows inline (24 bytes of header, then as
// many bytes as its size says), the number of values, and a 4-byte
// descriptor per value: size, type, a byte.
func (d *recordDecoder) deferBinXML(pos int64) {
	data := d.chunk.Data
	size := int64(len(data))
	if pos < 0 || pos+14 > size || data[pos] != evtx.FragmentHeaderToken || data[pos+4] != evtx.TokenTemplateInstance {
		return
	}
	p := pos + 10
	def := int64(binary.LittleEndian.Uint32(data[p:]))
	p += 4
	if def == p {
		if p+24 > size {
			return
		}
		p += 24 + int64(binary.LittleEndian.Uint32(data[p+20:]))
	}
	if p < 0 || p+4 > size {
		return
	}
	n := int64(binary.LittleEndian.Uint32(data[p:]))
	p += 4
	if n > (size-p)/4 {
		return
	}
	for k := range n {
		if t := p + 4*k + 2; data[t] == evtx.BinXmlType {
			data[t] = byte(deferredBinXML)
			d.patched = append(d.patched, t)
		}
	}
}

// restore undoes deferBinXML.
func (d *recordDecoder) restore() {
	for _, t := range d.patched {
		d.chunk.Data[t] = evtx.BinXmlType
	}
	d.patched = d.patched[:0]
}

// repairError is a failure of the walker's own re-reading of values.
type repairError struct{ err error }

func (e *repairError) Error() string { return e.err.Error() }
func (e *repairError) Unwrap() error { return e.err }

// ErrUnsupportedBinXML marks records whose BinXML is well formed but uses a
// construct golang-evtx cannot parse, so that they are told apart from
// damaged ones.
var ErrUnsupportedBinXML = errors.New("BinXML construct golang-evtx does not parse")

// The library's messages when a start tag does not end where it expects
// (golang-evtx v1.2.9, structs.go).
var (
	badCloseToken = regexp.MustCompile(`^Bad close element token \(0x([0-9a-f]{2})\)`)
	badAttrToken  = regexp.MustCompile(`^Bad attribute Token : 0x([0-9a-f]{2})$`)
)

// explainLibraryError names the construct behind a library error when it
// is one the library lacks: golang-evtx reads an attribute's value as one
// token, so where Windows splits a value into several (text in pieces,
// text and a character or entity reference, text and a substitution) it
// meets the second piece where it expects the start tag to close or the
// next attribute to begin.
func explainLibraryError(err error) error {
	if err == nil {
		return nil
	}
	m := badCloseToken.FindStringSubmatch(err.Error())
	if m == nil {
		m = badAttrToken.FindStringSubmatch(err.Error())
	}
	if m == nil {
		return err
	}
	tok, _ := strconv.ParseUint(m[1], 16, 8)
	switch byte(tok) {
	case evtx.TokenValue1, evtx.TokenValue2, evtx.TokenCharRef1, evtx.TokenCharRef2,
		evtx.TokenEntityRef1, evtx.TokenEntityRef2, evtx.TokenNormalSubstitution, evtx.TokenOptionalSubstitution:
		return fmt.Errorf("%w: an attribute value in several tokens (token %#02x continues it)", ErrUnsupportedBinXML, tok)
	}
	return err
}

func panicError(p any) error {
	switch v := p.(type) {
	case budgetPanic:
		return v.err
	case error:
		return fmt.Errorf("BinXML decoder panicked: %w", v)
	default:
		return fmt.Errorf("BinXML decoder panicked: %v", v)
	}
}

// walker converts the library's parsed BinXML into elements, resolving
// template substitutions.
type walker struct {
	dec      *recordDecoder
	data     []byte // chunk bytes, for values the library leaves undecoded
	reader   *guardedReader
	names    map[int32]string
	depth    int
	repaired int
}

func (w *walker) fragment(f *evtx.Fragment, parent *element) error {
	ti, ok := f.BinXMLElement.(*evtx.TemplateInstance)
	if !ok {
		return fmt.Errorf("BinXML fragment holds %T, want a template instance", f.BinXMLElement)
	}
	return w.instance(ti, parent)
}

// instance appends the elements of a template instance to parent. It walks
// the definition's token list rather than the library's node tree, which
// keeps text apart from child elements and so loses where a substituted
// fragment (EventData, UserData) stands among its siblings.
func (w *walker) instance(ti *evtx.TemplateInstance, parent *element) error {
	w.depth++
	defer func() { w.depth-- }()
	if w.depth > maxNesting {
		return errParseDepth
	}
	if ti.Token == evtx.TokenTemplateInstance {
		if id, def := uint32(ti.Definition.Header.Unknown2), binary.LittleEndian.Uint32(ti.Definition.Data.ID[:4]); id != def {
			return fmt.Errorf("template instance names template %#08x, but the definition at chunk offset %#x is %#08x", id, ti.Definition.Header.DataOffset, def)
		}
	}
	if err := w.repair(ti); err != nil {
		return err
	}
	stack := []*element{parent}
	for _, e := range ti.Definition.Data.Elements {
		top := stack[len(stack)-1]
		switch t := e.(type) {
		case *evtx.ElementStart:
			el, err := w.start(ti, t)
			if err != nil {
				return err
			}
			top.Children = append(top.Children, el)
			stack = append(stack, el)
		case *evtx.BinXMLCloseStartElementTag:
		case *evtx.BinXMLCloseEmptyElementTag, *evtx.BinXMLEndElementTag:
			if len(stack) == 1 {
				return errors.New("BinXML closes more elements than it opens")
			}
			stack = stack[:len(stack)-1]
		default:
			if _, err := w.value(ti, e, top); err != nil {
				return err
			}
		}
	}
	return nil
}

// name returns the name parsed at a chunk offset, converting it once.
func (w *walker) name(off int32, n *evtx.Name) string {
	if s, ok := w.names[off]; ok {
		return s
	}
	s := n.String()
	w.names[off] = s
	return s
}

// start makes an element of a start tag with its attributes. Namespace
// declarations are dropped: rendering puts back the event namespace.
func (w *walker) start(ti *evtx.TemplateInstance, es *evtx.ElementStart) (*element, error) {
	el := &element{Name: w.name(es.NameOffset, &es.Name)}
	for _, a := range es.AttributeList.Attributes {
		name := w.name(a.NameOffset, &a.Name)
		if isNamespaceDecl(name) {
			continue
		}
		v := &element{}
		null, err := w.value(ti, a.AttributeData, v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s of <%s>: %w", name, el.Name, err)
		}
		if len(v.Children) > 0 {
			return nil, fmt.Errorf("attribute %s of <%s> holds elements", name, el.Name)
		}
		if !null {
			el.Attrs = append(el.Attrs, attr{Name: name, Value: v.Text, guid: v.guid})
		}
	}
	return el, nil
}

// repair re-reads substitution values the library misparses. A value of
// type BinXml may hold plain BinXML elements, with or without a fragment
// header (CAPI2 writes its UserData so); the library parses those as if
// they were template definitions, which they are not, and then reads every
// later value of the instance from the wrong place. Each such value is
// parsed again from its own offset, and the values after it from where it
// ends.
func (w *walker) repair(ti *evtx.TemplateInstance) error {
	vals, descs := ti.Data.Values, ti.Data.ValDescs
	if len(descs) < len(vals) {
		return fmt.Errorf("template instance has %d values but %d descriptors", len(vals), len(descs))
	}
	for k, v := range vals {
		start, ok := rawBinXMLStart(v)
		if !ok || descs[k].ValType != evtx.BinXmlType {
			continue
		}
		end := start + int64(descs[k].Size)
		fixed, err := w.parseRaw(start, end)
		if err != nil {
			return &repairError{fmt.Errorf("substitution %d (BinXML at chunk offset %#x): %w", k, start, explainLibraryError(err))}
		}
		vals[k] = fixed
		w.repaired++
		pos := end
		for j := k + 1; j < len(vals); j++ {
			if _, err := w.reader.Seek(pos, io.SeekStart); err != nil {
				return err
			}
			v, err := evtx.ParseValueReader(descs[j], w.reader)
			if err != nil {
				return &repairError{fmt.Errorf("substitution %d at chunk offset %#x: %w", j, pos, explainLibraryError(err))}
			}
			vals[j] = v
			pos += int64(descs[j].Size)
		}
	}
	return nil
}

// rawBinXMLStart tells whether v is plain BinXML the library misparsed, and
// where it starts: an element parsed alone, or a fragment the library
// wrapped in a stand-in template instance (a real one has its token set).
func rawBinXMLStart(v evtx.Element) (int64, bool) {
	switch e := v.(type) {
	case *evtx.ElementStart:
		return e.Offset, true
	case *evtx.Fragment:
		if ti, ok := e.BinXMLElement.(*evtx.TemplateInstance); ok && ti.Token != evtx.TokenTemplateInstance {
			return e.Offset, true
		}
	}
	return 0, false
}

// parseRaw parses plain BinXML in [start, end) into a stand-in template
// instance without values, the shape the rest of the walk expects. A
// template instance found there instead is returned as it is.
func (w *walker) parseRaw(start, end int64) (*evtx.TemplateInstance, error) {
	if start < 0 || end > int64(len(w.data)) || start >= end {
		return nil, fmt.Errorf("BinXML value [%#x, %#x) lies outside the chunk", start, end)
	}
	pos := start
	if w.data[pos] == evtx.FragmentHeaderToken {
		pos += 4 // token, major and minor version, flags
	}
	if _, err := w.reader.Seek(pos, io.SeekStart); err != nil {
		return nil, err
	}
	ti := &evtx.TemplateInstance{}
	for pos < end {
		e, err := evtx.Parse(w.reader, nil, false)
		if err != nil {
			return nil, err
		}
		if t, ok := e.(*evtx.TemplateInstance); ok && len(ti.Definition.Data.Elements) == 0 {
			return t, nil
		}
		if _, ok := e.(*evtx.BinXMLEOF); ok {
			break
		}
		ti.Definition.Data.Elements = append(ti.Definition.Data.Elements, e)
		if pos, err = w.reader.Seek(0, io.SeekCurrent); err != nil {
			return nil, err
		}
	}
	return ti, nil
}

// value adds one content item to el: text to its text, nested BinXML as
// children. null reports a NULL substitution, which drops an attribute as
// Windows does.
func (w *walker) value(ti *evtx.TemplateInstance, e evtx.Element, el *element) (null bool, err error) {
	switch v := e.(type) {
	case *evtx.ValueText:
		el.Text += v.String()
	case *evtx.CharEntityRef:
		el.Text += string(rune(uint16(v.Value)))
	case *evtx.BinXMLEntityReference:
		s := v.String()
		if s == "" {
			return false, fmt.Errorf("unknown entity reference &%s;", v.Name.String())
		}
		el.Text += s
	case *evtx.NormalSubstitution:
		return w.substitute(ti, v.SubID, el)
	case *evtx.OptionalSubstitution:
		return w.substitute(ti, v.SubID, el)
	case *evtx.Fragment:
		return false, w.fragment(v, el)
	case *evtx.TemplateInstance:
		return false, w.instance(v, el)
	case *evtx.BinXMLEOF:
	case *evtx.ValueNull:
		return true, nil
	case *evtx.UnkVal:
		s, err := w.unknownValue(v)
		if err != nil {
			return false, err
		}
		el.Text += s
	case evtx.Value:
		// Windows stops a string at its NUL; the library keeps the NULs
		// that pad ANSI strings. A GUID alone is rendered in Windows' form
		// (renderXML).
		_, isGUID := v.(*evtx.ValueGUID)
		el.guid = el.Text == "" && isGUID
		el.Text += strings.TrimRight(renderValue(v), "\x00")
	default:
		return false, fmt.Errorf("unsupported BinXML item %T", e)
	}
	return false, nil
}

func (w *walker) substitute(ti *evtx.TemplateInstance, id int16, el *element) (bool, error) {
	if id < 0 || int(id) >= len(ti.Data.Values) {
		return false, fmt.Errorf("substitution %d out of range (%d values)", id, len(ti.Data.Values))
	}
	v := ti.Data.Values[id]
	switch v := v.(type) {
	case *evtx.NormalSubstitution, *evtx.OptionalSubstitution:
		return false, fmt.Errorf("substitution %d refers to another substitution", id)
	case *evtx.UnkVal:
		if v.Token == deferredBinXML {
			if err := w.binXMLValue(v, el); err != nil {
				return false, &repairError{fmt.Errorf("substitution %d: %w", id, err)}
			}
			return false, nil
		}
	}
	return w.value(ti, v, el)
}

// binXMLValue adds to el a BinXML substitution value deferBinXML hid from
// the library: a fragment holding a template instance, parsed with the
// chunk's template cache, or plain BinXML elements.
func (w *walker) binXMLValue(v *evtx.UnkVal, el *element) error {
	start, end := v.Offset, v.Offset+int64(v.Desc.Size)
	if start == end {
		return nil
	}
	if start < 0 || end > int64(len(w.data)) {
		return fmt.Errorf("BinXML value [%#x, %#x) lies outside the chunk", start, end)
	}
	if end-start > 5 && w.data[start] == evtx.FragmentHeaderToken && w.data[start+4] == evtx.TokenTemplateInstance {
		if _, err := w.reader.Seek(start, io.SeekStart); err != nil {
			return err
		}
		w.dec.deferBinXML(start)
		parsed, err := evtx.Parse(w.reader, &w.dec.chunk, false)
		if err != nil && err != io.EOF {
			return &repairError{fmt.Errorf("BinXML value at chunk offset %#x: %w", start, explainLibraryError(err))}
		}
		frag, ok := parsed.(*evtx.Fragment)
		if !ok {
			return &repairError{fmt.Errorf("BinXML value at chunk offset %#x holds %T, want a fragment", start, parsed)}
		}
		return w.fragment(frag, el)
	}
	ti, err := w.parseRaw(start, end)
	if err != nil {
		return &repairError{fmt.Errorf("BinXML value at chunk offset %#x: %w", start, explainLibraryError(err))}
	}
	return w.instance(ti, el)
}

// unknownValue decodes the value types golang-evtx skips (it leaves their
// position in the chunk): size_t, which Windows renders in hex, and float.
func (w *walker) unknownValue(v *evtx.UnkVal) (string, error) {
	size := int64(v.Desc.Size)
	if v.Offset < 0 || v.Offset+size > int64(len(w.data)) {
		return "", fmt.Errorf("value of type %#02x lies outside the chunk", uint8(v.Token))
	}
	b := w.data[v.Offset : v.Offset+size]
	switch {
	case v.Token == evtx.SizeTType && size == 4:
		return "0x" + strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b)), 16), nil
	case v.Token == evtx.SizeTType && size == 8:
		return "0x" + strconv.FormatUint(binary.LittleEndian.Uint64(b), 16), nil
	case v.Token == evtx.Real32Type && size == 4:
		f := math.Float32frombits(binary.LittleEndian.Uint32(b))
		return strconv.FormatFloat(float64(f), 'g', -1, 32), nil
	}
	return "", fmt.Errorf("unsupported value type %#02x (%d bytes)", uint8(v.Token), size)
}

// windowsTime is how Windows renders SystemTime: FILETIME precision, UTC.
const windowsTime = "2006-01-02T15:04:05.0000000Z"

// renderValue writes a decoded value as Windows renders it in XML where the
// library's own String differs: times in UTC and hex without zero padding.
// GUIDs, SIDs and the rest keep the library's form.
func renderValue(v evtx.Value) string {
	switch t := v.(type) {
	case *evtx.ValueFileTime:
		if u, ok := t.Repr().(evtx.UTCTime); ok {
			return time.Time(u).UTC().Format(windowsTime)
		}
	case *evtx.ValueSysTime:
		if st, ok := t.Value().(evtx.SysTime); ok {
			return time.Date(int(st.Year), time.Month(st.Month), int(st.DayOfMonth),
				int(st.Hours), int(st.Minutes), int(st.Seconds),
				int(st.Milliseconds)*int(time.Millisecond), time.UTC).Format(windowsTime)
		}
	case *evtx.ValueHexInt32, *evtx.ValueHexInt64:
		s := v.String()
		if n, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64); err == nil {
			return "0x" + strconv.FormatUint(n, 16)
		}
		return s
	}
	return v.String()
}
