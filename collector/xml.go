package collector

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/weft-dev/weft/event"
)

// ReadXML reads rendered event XML from r: one <Event>, several back to
// back (with or without whitespace between them), or events inside an
// <Events> wrapper, in UTF-8 or UTF-16 (with a byte order mark, as
// PowerShell's redirection writes it). name stands for the input in errors
// and origins; "-" is the convention for standard input.
//
// An event that is malformed, too large or of an unusable shape is reported
// with its line and skipped: reading resumes at the next "<Event". DOCTYPE
// and entity declarations are reported and skipped, never applied, so an
// event that uses a declared entity fails on it.
//
// Text XML does not allow costs no event: bytes that are not UTF-8,
// control characters and references to them (&#0;) become U+FFFD, and the
// event is emitted and reported (ErrInvalidText, with the line of the
// first). A carriage return in text survives, as &#13; does, where XML
// would turn CR LF into LF: the command line of an event read from XML is
// the one its EVTX record holds.
//
// Offsets count bytes of the UTF-8 text the decoder reads, which differs
// from file offsets for UTF-16 input and where text was replaced.
//
// The returned error is ctx's, emit's, or a failure to read r.
func ReadXML(ctx context.Context, r io.Reader, name string, opts Options, emit EmitFunc, report ReportFunc) (Stats, error) {
	return readXML(ctx, r, name, opts, emit, report, false)
}

// readXMLDocument is ReadXML for a file or standard input, which is one
// document: one whose root element is neither <Event> nor <Events> (a
// scheduled task's definition, any other XML file) is not an event log,
// and is skipped with one error wrapping ErrNotEventLog rather than a
// report for every element and line of it.
func readXMLDocument(ctx context.Context, r io.Reader, name string, opts Options, emit EmitFunc, report ReportFunc) (Stats, error) {
	return readXML(ctx, r, name, opts, emit, report, true)
}

func readXML(ctx context.Context, r io.Reader, name string, opts Options, emit EmitFunc, report ReportFunc, document bool) (Stats, error) {
	counted := &countingReader{r: r, counters: opts.Counters}
	src, err := newXMLSource(counted, opts.maxEventSize())
	x := &xmlReader{src: src, name: name, opts: opts, rep: reporter{fn: report, counters: opts.Counters}, document: document}
	if err == nil {
		err = x.run(ctx, emit)
	}
	return Stats{Records: x.records, Errors: x.rep.errors, Bytes: counted.n}, err
}

type xmlReader struct {
	src     *xmlSource
	name    string
	opts    Options
	rep     reporter
	records int
	// document: the input is one document (a file, standard input), whose
	// root element says whether it is an event log at all.
	document bool
	// rooted is set once the document's root element was seen; dtd holds
	// a DOCTYPE met before it, reported only if the root is an event's.
	rooted bool
	dtd    *Error

	d        *xml.Decoder
	base     int64 // source offset where d started
	baseLine int   // source line where d started
}

// pos is where the decoder stands: offset in the source and line.
func (x *xmlReader) pos() (int64, int) {
	line, _ := x.d.InputPos()
	return x.base + x.d.InputOffset(), x.baseLine + line - 1
}

// errorLine is the line an error from the decoder points at.
func (x *xmlReader) errorLine(err error) int {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return x.baseLine + se.Line - 1
	}
	_, line := x.pos()
	return line
}

func (x *xmlReader) report(offset int64, line int, err error) {
	if offset >= 0 && x.opts.skips(offset) {
		return // reported by the read that the checkpoint resumes
	}
	x.rep.report(&Error{Path: x.name, Chunk: -1, Offset: offset, Line: line, Err: err})
}

func (x *xmlReader) newDecoder() {
	d := xml.NewDecoder(x.src)
	d.Strict = true
	d.CharsetReader = func(label string, input io.Reader) (io.Reader, error) {
		// The source is UTF-8 by now: UTF-16 was converted when sniffed.
		if x.src.utf16 && isUTF16Label(label) {
			return input, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q (want UTF-8 or UTF-16)", label)
	}
	x.d = d
	x.base = x.src.off
	x.baseLine = x.src.line
}

func isUTF16Label(label string) bool {
	switch strings.ToLower(label) {
	case "utf-16", "utf-16le", "utf-16be", "unicode", "ucs-2":
		return true
	}
	return false
}

// markCapture starts capturing raw bytes at the decoder's position, so that
// a token that follows can be kept verbatim.
func (x *xmlReader) markCapture() {
	off, _ := x.pos()
	x.src.keepFrom(off)
}

func (x *xmlReader) run(ctx context.Context, emit EmitFunc) error {
	x.newDecoder()
	var wrappers []string
	foreign := 0 // open wrappers other than <Events>, whose content is not reported again
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		x.markCapture()
		off, line := x.pos()
		tok, err := x.d.RawToken()
		if err != nil {
			if err == io.EOF {
				if len(wrappers) > 0 {
					x.report(off, line, fmt.Errorf("input ends inside <%s>", wrappers[len(wrappers)-1]))
				}
				return nil
			}
			if fatal := x.recover(err, -1, 0); fatal != nil {
				return fatal
			}
			if x.d == nil {
				return nil
			}
			wrappers, foreign = wrappers[:0], 0
			continue
		}
		if x.document && !x.rooted {
			if t, ok := tok.(xml.StartElement); ok {
				x.rooted = true
				if t.Name.Local != "Event" && t.Name.Local != "Events" {
					return &Error{Path: x.name, Chunk: -1, Offset: off, Line: line,
						Err: fmt.Errorf("%w: an XML document of <%s>, not <Event> or <Events>", ErrNotEventLog, t.Name.Local)}
				}
				if x.dtd != nil {
					x.report(x.dtd.Offset, x.dtd.Line, x.dtd.Err)
				}
			}
			if _, ok := tok.(xml.Directive); ok {
				x.dtd = &Error{Path: x.name, Chunk: -1, Offset: off, Line: line, Err: ErrDTD}
				continue
			}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "Event" {
				// What was replaced before the event is not the event's.
				x.src.takeFixes()
				if err := x.events(ctx, t, off, line, emit); err != nil {
					return err
				}
				if x.d == nil {
					return nil
				}
				continue
			}
			if t.Name.Local != "Events" {
				if foreign == 0 {
					x.report(off, line, fmt.Errorf("unexpected <%s>, want <Event> or <Events>", t.Name.Local))
				}
				foreign++
			}
			wrappers = append(wrappers, t.Name.Local)
		case xml.EndElement:
			// A closing tag with no opening one is what remains of a
			// wrapper after resynchronising inside it.
			if n := len(wrappers); n > 0 && wrappers[n-1] == t.Name.Local {
				wrappers = wrappers[:n-1]
				if t.Name.Local != "Events" {
					foreign--
				}
			}
		case xml.CharData:
			// Text inside a foreign element is its content, not reported
			// again line by line.
			if len(bytes.TrimSpace(t)) > 0 && foreign == 0 {
				x.report(off, line, errors.New("text outside any <Event>"))
			}
		case xml.Directive:
			x.report(off, line, ErrDTD)
		}
	}
}

// recover handles an error from the decoder: it reports it, then moves to
// the next "<Event" with a fresh decoder, or leaves x.d nil when the input
// ends first. eventOff and eventLine locate the event being read (-1 and 0
// outside events). The returned error is fatal: reading the input failed.
func (x *xmlReader) recover(err error, eventOff int64, eventLine int) error {
	if x.src.err != nil {
		return &Error{Path: x.name, Chunk: -1, Offset: x.src.off, Line: x.src.line, Err: x.src.err}
	}
	line := x.errorLine(err)
	off := eventOff
	switch {
	case eventOff < 0:
		off, _ = x.pos()
		if errors.Is(err, ErrEventTooLarge) {
			err = fmt.Errorf("more than %d bytes outside any <Event>", x.src.limit)
		}
	case errors.Is(err, ErrEventTooLarge):
		err = fmt.Errorf("event at line %d: %w: more than %d bytes", eventLine, ErrEventTooLarge, x.src.limit)
	default:
		err = fmt.Errorf("event at line %d: %w", eventLine, err)
	}
	x.report(off, line, err)
	x.src.takeFixes() // the event is lost anyway
	return x.resync()
}

// resyncBackup is how far back from where the decoder stopped a resync
// starts scanning; the decoder reads at most a few bytes past a fault.
const resyncBackup = 16

// resync skips to the next "<Event" start tag and starts a new decoder
// there; at the end of input it leaves x.d nil.
func (x *xmlReader) resync() error {
	// The decoder may have read a little past the fault, maybe into the
	// next "<Event": scan again from a few bytes back, but never from the
	// start of what it was reading, so that every resync makes progress.
	x.src.unreadCaptured(min(resyncBackup, len(x.src.capture)-1))
	found, err := x.src.skipToEvent()
	if err != nil {
		return &Error{Path: x.name, Chunk: -1, Offset: x.src.off, Line: x.src.line, Err: err}
	}
	x.d = nil
	if found {
		x.newDecoder()
	}
	return nil
}

// events reads the event that start opened, and the next ones when an
// event is cut short by another <Event> (a truncated event followed by a
// complete one decodes as nested; only the outer one is lost).
func (x *xmlReader) events(ctx context.Context, start xml.StartElement, off int64, line int, emit EmitFunc) error {
	for {
		next, nextOff, nextLine, err := x.event(start, off, line, emit)
		if err != nil || next == nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		start, off, line = *next, nextOff, nextLine
	}
}

// event reads one event up to its end tag. It returns the start of another
// event found inside it, or an error that must stop the read.
func (x *xmlReader) event(start xml.StartElement, off int64, line int, emit EmitFunc) (*xml.StartElement, int64, int, error) {
	stack := []*element{newElement(start)}
	root := stack[0]
	for len(stack) > 0 {
		tokOff, tokLine := x.pos()
		tok, err := x.d.RawToken()
		if err != nil {
			if err == io.EOF {
				err = errors.New("input ends inside the event")
			}
			return nil, 0, 0, x.recover(err, off, line)
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "Event" {
				x.report(off, line, fmt.Errorf("event not closed before the next <Event> at line %d", tokLine))
				x.src.keepFrom(tokOff)
				return &t, tokOff, tokLine, nil
			}
			el := newElement(t)
			top.Children = append(top.Children, el)
			stack = append(stack, el)
		case xml.EndElement:
			if t.Name.Local != top.Name {
				return nil, 0, 0, x.recover(fmt.Errorf("</%s> closes <%s>", t.Name.Local, top.Name), off, line)
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.Text += string(t)
		case xml.Directive:
			return nil, 0, 0, x.recover(ErrDTD, off, line)
		}
	}
	end, _ := x.pos()
	fixes, fixLine := x.src.takeFixes()
	if x.opts.skips(off) {
		return nil, 0, 0, nil
	}
	raw, err := toRaw(root)
	if err != nil {
		x.report(off, line, err)
		return nil, 0, 0, nil
	}
	if fixes > 0 {
		// Reported before the event is emitted, so that a caller that
		// stops at the event has seen the problem.
		x.report(off, fixLine, fmt.Errorf("event at line %d: %w: %d character(s), the first at line %d; the event is kept", line, ErrInvalidText, fixes, fixLine))
	}
	raw.Origin = event.Origin{Kind: event.SourceXML, Path: x.name, Offset: off, Received: x.opts.now()}
	if x.opts.KeepXML {
		raw.XML = string(x.src.captured(off, end))
	}
	if err := emit(raw); err != nil {
		return nil, 0, 0, fmt.Errorf("%s:%d: %w", x.name, line, err)
	}
	x.records++
	if x.opts.Counters != nil {
		x.opts.Counters.Records.Add(1)
	}
	return nil, 0, 0, nil
}

func newElement(t xml.StartElement) *element {
	el := &element{Name: t.Name.Local}
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		el.Attrs = append(el.Attrs, attr{Name: a.Name.Local, Value: a.Value})
	}
	return el
}

// xmlSource feeds the decoder one byte at a time (as an io.ByteReader the
// decoder does no buffering of its own), so it knows exactly how far the
// decoder got: that is what lets a reader resume after malformed input,
// keep an event's original bytes, and bound an event's size.
type xmlSource struct {
	br      *bufio.Reader
	pending []byte // bytes given back, read before br
	off     int64  // bytes consumed
	line    int    // line at off, from 1
	utf16   bool   // the input was UTF-16, converted to UTF-8

	capture  []byte // consumed bytes from capStart on
	capStart int64
	limit    int
	err      error // a read error other than EOF

	// What fix changed since takeFixes: how many characters, and the line
	// of the first.
	fixes, fixLine int
	mode           byte    // where the last byte read from br stands: text, tag, comment, cdata or pi
	quote          byte    // in tag mode, the quote of the attribute value it is in
	last           [2]byte // the two bytes before it, to see "-->", "]]>" and "?>"
}

// Where in the markup the filter of xmlSource stands.
const (
	modeText = iota
	modeTag
	modeComment
	modeCDATA
	modePI
)

// ErrInvalidText says that an event held text XML does not allow: bytes
// that are not UTF-8, a control character, or a character reference to
// one (&#0;). The reader replaces such text by U+FFFD and keeps the event,
// reporting it with this cause: one hostile byte does not hide an event
// from the rules (an EVTX record's lone surrogate becomes U+FFFD too).
var ErrInvalidText = errors.New("invalid UTF-8 or a character XML does not allow, replaced by U+FFFD")

func newXMLSource(r io.Reader, limit int) (*xmlSource, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	s := &xmlSource{line: 1, limit: limit}
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return s, &Error{Chunk: -1, Offset: 0, Err: err}
	}
	switch enc := sniffEncoding(head); enc {
	case encUTF8BOM:
		_, _ = br.Discard(3)
	case encUTF16LE, encUTF16BE:
		s.utf16 = true
		if bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}) {
			_, _ = br.Discard(2)
		}
		br = bufio.NewReaderSize(&utf16Reader{r: br, bigEndian: enc == encUTF16BE}, 64<<10)
	}
	s.br = br
	return s, nil
}

func (s *xmlSource) next() (byte, error) {
	var b byte
	if len(s.pending) > 0 {
		b, s.pending = s.pending[0], s.pending[1:]
	} else {
		c, err := s.br.ReadByte()
		if err != nil {
			if err != io.EOF {
				s.err = err
			}
			return 0, err
		}
		b = s.fix(c)
	}
	s.off++
	if b == '\n' {
		s.line++
	}
	return b, nil
}

// fix looks at c, just read from br, and returns the byte to give the
// decoder in its place, queueing the rest of a replacement in pending
// (empty whenever br is read). It makes the input what encoding/xml
// accepts without losing an event to one hostile byte, and keeps carriage
// returns that XML's end-of-line handling would drop:
//
//   - bytes that are not UTF-8, control characters other than tab, line
//     feed and carriage return, and U+FFFE/U+FFFF become U+FFFD;
//   - a character reference to anything XML does not allow (&#0;, &#x1B;,
//     &#99999999;) becomes &#xFFFD;, outside comments, CDATA sections and
//     processing instructions, where it is not a reference;
//   - a carriage return in text content becomes &#13;: XML would turn CR LF
//     into LF, and an EVTX record of the same event keeps the CR, so a
//     command line read from XML and from EVTX is the same. In markup,
//     comments and CDATA sections it is left to XML.
//
// Each replacement is counted for takeFixes.
func (s *xmlSource) fix(c byte) byte {
	out := c
	switch {
	case c >= utf8.RuneSelf:
		out = s.fixRune(c)
	case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
		out = s.replace("\uFFFD")
	case c == '\r' && s.mode == modeText:
		out = s.queue("&#13;")
	case c == '&' && (s.mode == modeText || s.mode == modeTag):
		out = s.fixReference()
	case c == '<' && s.mode == modeText:
		s.mode = modeTag
		switch head, _ := s.br.Peek(8); {
		case bytes.HasPrefix(head, []byte("!--")):
			s.mode = modeComment
			_, _ = s.br.Discard(3)
			s.queue("<!--")
		case bytes.HasPrefix(head, []byte("![CDATA[")):
			s.mode = modeCDATA
			_, _ = s.br.Discard(8)
			s.queue("<![CDATA[")
		case bytes.HasPrefix(head, []byte("?")):
			s.mode = modePI
		}
	case c == '>':
		switch s.mode {
		case modeTag:
			if s.quote == 0 {
				s.mode = modeText
			}
		case modeComment:
			if s.last == [2]byte{'-', '-'} {
				s.mode = modeText
			}
		case modeCDATA:
			if s.last == [2]byte{']', ']'} {
				s.mode = modeText
			}
		case modePI:
			if s.last[1] == '?' {
				s.mode = modeText
			}
		}
	case (c == '"' || c == '\'') && s.mode == modeTag:
		switch s.quote {
		case 0:
			s.quote = c
		case c:
			s.quote = 0
		}
	}
	s.last = [2]byte{s.last[1], c}
	return out
}

// queue gives the decoder text instead of the byte just read: its first
// byte now, the rest from pending.
func (s *xmlSource) queue(text string) byte {
	s.pending = append(s.pending, text[1:]...)
	return text[0]
}

// replace is queue for a replacement, counted.
func (s *xmlSource) replace(text string) byte {
	if s.fixes == 0 {
		s.fixLine = s.line
	}
	s.fixes++
	return s.queue(text)
}

// fixRune reads the rest of the UTF-8 sequence c starts.
func (s *xmlSource) fixRune(c byte) byte {
	head, _ := s.br.Peek(utf8.UTFMax - 1)
	var seq [utf8.UTFMax]byte
	seq[0] = c
	n := 1 + copy(seq[1:], head)
	r, size := utf8.DecodeRune(seq[:n])
	if r == utf8.RuneError && size <= 1 {
		return s.replace("\uFFFD")
	}
	_, _ = s.br.Discard(size - 1)
	if r == 0xFFFE || r == 0xFFFF {
		return s.replace("\uFFFD")
	}
	return s.queue(string(seq[:size]))
}

// fixReference reads what follows an '&'. A character reference is given
// on as &#xHEX; (leading zeros dropped, so no run of them can make the
// reference too long to look at), or as &#xFFFD; when XML does not allow
// the character. A malformed one is given on as far as it was read, for
// the decoder to report.
func (s *xmlSource) fixReference() byte {
	if head, _ := s.br.Peek(1); len(head) == 0 || head[0] != '#' {
		return '&'
	}
	_, _ = s.br.Discard(1)
	base, prefix := uint64(10), "&#"
	if head, _ := s.br.Peek(1); len(head) == 1 && (head[0] == 'x' || head[0] == 'X') {
		_, _ = s.br.Discard(1)
		base, prefix = 16, "&#x"
	}
	var v uint64
	digits, significant := 0, 0
	for {
		head, _ := s.br.Peek(1)
		if len(head) == 0 {
			break
		}
		d := digitValue(head[0])
		if d < 0 || uint64(d) >= base {
			break
		}
		_, _ = s.br.Discard(1)
		digits++
		if v == 0 && d == 0 {
			continue // a leading zero
		}
		significant++
		if significant <= 8 {
			v = v*base + uint64(d)
		}
	}
	head, _ := s.br.Peek(1)
	if digits == 0 || len(head) == 0 || head[0] != ';' {
		// Not a character reference: the decoder reports it.
		if digits > 0 {
			prefix += "0"
		}
		return s.queue(prefix)
	}
	_, _ = s.br.Discard(1)
	if significant > 8 || !xmlChar(rune(v)) {
		return s.replace("&#xFFFD;")
	}
	return s.queue("&#x" + strconv.FormatUint(v, 16) + ";")
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// xmlChar reports whether XML 1.0 allows r (its Char production).
func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= utf8.MaxRune
}

// takeFixes returns how many characters fix replaced since the last call,
// and the line of the first.
func (s *xmlSource) takeFixes() (n, line int) {
	n, line = s.fixes, s.fixLine
	s.fixes = 0
	return n, line
}

// ReadByte implements io.ByteReader for the decoder. It refuses to go
// further than limit bytes past the capture mark.
func (s *xmlSource) ReadByte() (byte, error) {
	if len(s.capture) >= s.limit {
		return 0, ErrEventTooLarge
	}
	b, err := s.next()
	if err != nil {
		return 0, err
	}
	s.capture = append(s.capture, b)
	return b, nil
}

// Read makes the source an io.Reader; the decoder uses ReadByte.
func (s *xmlSource) Read(p []byte) (int, error) {
	for i := range p {
		b, err := s.ReadByte()
		if err != nil {
			if i > 0 {
				return i, nil
			}
			return 0, err
		}
		p[i] = b
	}
	return len(p), nil
}

// keepFrom drops captured bytes before off.
func (s *xmlSource) keepFrom(off int64) {
	if off < s.capStart || off > s.off {
		s.capture, s.capStart = s.capture[:0], s.off
		return
	}
	n := copy(s.capture, s.capture[off-s.capStart:])
	s.capture, s.capStart = s.capture[:n], off
}

// captured returns the bytes in [from, to).
func (s *xmlSource) captured(from, to int64) []byte {
	if from < s.capStart || to > s.capStart+int64(len(s.capture)) || from > to {
		return nil
	}
	return s.capture[from-s.capStart : to-s.capStart]
}

// unreadCaptured gives back the last n captured bytes.
func (s *xmlSource) unreadCaptured(n int) {
	n = min(n, len(s.capture))
	if n <= 0 {
		return
	}
	s.unread(s.capture[len(s.capture)-n:])
	s.capture = s.capture[:len(s.capture)-n]
}

func (s *xmlSource) unread(b []byte) {
	s.pending = append(append([]byte(nil), b...), s.pending...)
	s.off -= int64(len(b))
	s.line -= bytes.Count(b, []byte{'\n'})
}

// skipToEvent consumes input up to the next "<Event" start tag and gives
// that back, so that a new decoder begins with it. found is false at the
// end of input.
func (s *xmlSource) skipToEvent() (found bool, err error) {
	const tag = "<Event"
	matched := 0
	for {
		b, err := s.next()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		switch {
		case matched == len(tag):
			if b == ' ' || b == '\t' || b == '\r' || b == '\n' || b == '>' || b == '/' {
				s.unread(append([]byte(tag), b))
				s.capture, s.capStart = s.capture[:0], s.off
				return true, nil
			}
			matched = 0
			if b == '<' {
				matched = 1
			}
		case b == tag[matched]:
			matched++
		case b == '<':
			matched = 1
		default:
			matched = 0
		}
	}
}

// Input encodings told apart by their first bytes.
const (
	encUTF8 = iota
	encUTF8BOM
	encUTF16LE
	encUTF16BE
)

func sniffEncoding(head []byte) int {
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return encUTF8BOM
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return encUTF16LE
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return encUTF16BE
	case len(head) >= 2 && head[0] != 0 && head[1] == 0:
		return encUTF16LE
	case len(head) >= 2 && head[0] == 0 && head[1] != 0:
		return encUTF16BE
	}
	return encUTF8
}

type countingReader struct {
	r        io.Reader
	n        int64
	counters *Counters
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.counters != nil {
		c.counters.Bytes.Add(int64(n))
	}
	return n, err
}
