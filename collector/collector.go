package collector

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weft-dev/weft/event"
)

// DefaultMaxEventSize bounds one rendered XML event when Options.MaxEventSize
// is zero. Real events are a few KiB; an EVTX record cannot exceed 64 KiB.
const DefaultMaxEventSize = 1 << 20

// Options tunes a read. The zero value is usable.
type Options struct {
	// KeepXML puts the event's XML into event.Raw.XML: the original bytes
	// for XML input, a rendering of the decoded BinXML for EVTX input.
	KeepXML bool
	// MaxEventSize is the largest rendered XML event accepted, in bytes;
	// a larger one is reported and skipped. Zero means DefaultMaxEventSize.
	MaxEventSize int
	// Now stamps Origin.Received; nil means time.Now.
	Now func() time.Time
}

func (o Options) maxEventSize() int {
	if o.MaxEventSize > 0 {
		return o.MaxEventSize
	}
	return DefaultMaxEventSize
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// EmitFunc receives each event. Returning an error stops the read, and the
// reader returns that error wrapped; it is how a caller cancels or applies
// back-pressure failures. The event is the callee's to keep.
type EmitFunc func(*event.Raw) error

// ReportFunc receives each per-record problem, always an *Error. The read
// goes on after it. A nil ReportFunc discards reports (they are still counted).
type ReportFunc func(error)

// Stats sums up one read.
type Stats struct {
	Records int   // events emitted
	Errors  int   // problems reported
	Bytes   int64 // input bytes read, each once
}

func (s *Stats) add(o Stats) {
	s.Records += o.Records
	s.Errors += o.Errors
	s.Bytes += o.Bytes
}

// Error is one problem with the input, located as precisely as the input
// allows. Chunk and Offset are -1 when they do not apply; Record and Line
// are 0 when unknown (both count from 1).
type Error struct {
	Path   string // file path, or the name given to ReadXML ("-" for stdin)
	Chunk  int    // EVTX chunk index in the file
	Record uint64 // EVTX record id
	Offset int64  // byte offset in the file (EVTX) or in the UTF-8 stream (XML)
	Line   int    // XML line
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Chunk >= 0 {
		fmt.Fprintf(&b, ": chunk %d", e.Chunk)
	}
	if e.Record > 0 {
		fmt.Fprintf(&b, ": record %d", e.Record)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, ": offset %#x", e.Offset)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("unknown error")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// reporter counts problems and hands them to the caller's ReportFunc.
type reporter struct {
	fn     ReportFunc
	errors int
}

func (r *reporter) report(e *Error) {
	r.errors++
	if r.fn != nil {
		r.fn(e)
	}
}

// Sentinel causes, for callers that want to tell problems apart with errors.Is.
var (
	ErrNotEventLog   = errors.New("not EVTX or XML")
	ErrEventTooLarge = errors.New("event too large")
	ErrDTD           = errors.New("DOCTYPE and entity declarations are not allowed")
)
