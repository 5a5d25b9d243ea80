package collector

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"sync/atomic"
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
	// ReadNDJSON reads NDJSON input (FormatNDJSON: a file, or standard
	// input starting with "{"): jsonevent.ReadNDJSONDocument for
	// Winlogbeat and OpenWEC documents (jsonevent builds on this package,
	// which therefore cannot call it). Without it, NDJSON input is
	// reported as not an event log.
	ReadNDJSON ReadFunc
	// MaxEventSize is the largest rendered XML event accepted, in bytes;
	// a larger one is reported and skipped. Zero means DefaultMaxEventSize.
	MaxEventSize int
	// Now stamps Origin.Received; nil means time.Now.
	Now func() time.Time
	// Workers is how many goroutines decode EVTX chunks at once; zero
	// means one per CPU (GOMAXPROCS). Events come out in record order
	// whatever the number.
	Workers int
	// Counters, when set, is kept up to date as the read goes, for a
	// progress display or metrics to sample from another goroutine.
	Counters *Counters
	// Resume, when set, continues an earlier read of the same file (a
	// checkpoint): the records up to and including the one at
	// Resume.Offset, in the order the reader emits them, are skipped, and
	// the problems among them are not reported again. (Problems of the
	// file as a whole, such as a damaged header, are.)
	Resume *Position
	// Decoder names the BinXML decoder of EVTX records: DecoderWeft (the
	// default) or DecoderGolangEVTX, the reference weft's own is checked
	// against. With weft's, a record it cannot decode is tried once more
	// with golang-evtx before it is reported.
	Decoder string
	// Duplicate, when set, hears of each file a Publisher skips because a
	// file of the same content (FileID and size) at another path was
	// read to its end before: path is the skipped file, of the other.
	Duplicate func(path, of string)
}

// The BinXML decoders.
const (
	DecoderWeft       = "weft"
	DecoderGolangEVTX = "golang-evtx"
	// decoderWeftOnly is weft's decoder without the fallback, for the
	// differential tests.
	decoderWeftOnly = "weft-only"
)

// ParseDecoder checks a decoder name; "" is the default.
func ParseDecoder(s string) (string, error) {
	switch s {
	case "", DecoderWeft:
		return DecoderWeft, nil
	case DecoderGolangEVTX:
		return s, nil
	}
	return "", fmt.Errorf("unknown decoder %q: want %q or %q", s, DecoderWeft, DecoderGolangEVTX)
}

// Position names a record of a file by its Origin.Offset.
type Position struct {
	Offset int64
}

// Counters are running totals of reads, safe for concurrent use: readers
// add to them as they go, and anyone may load them at any time.
type Counters struct {
	Files   atomic.Int64 // files read to their end (or given up)
	Bytes   atomic.Int64 // input bytes consumed
	Records atomic.Int64 // events emitted
	Errors  atomic.Int64 // problems reported
	// Duplicates counts the files skipped because a file of the same
	// content was read before (Publisher only).
	Duplicates atomic.Int64
	// Warnings counts the problems that cost no event (Error.Warning),
	// which Errors does not count.
	Warnings atomic.Int64
}

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// addBytes counts n input bytes in s and in the shared counters.
func (o Options) addBytes(s *Stats, n int64) {
	s.Bytes += n
	if o.Counters != nil {
		o.Counters.Bytes.Add(n)
	}
}

// countRecord counts one emitted event in s and in the shared counters.
func (o Options) countRecord(s *Stats) {
	s.Records++
	if o.Counters != nil {
		o.Counters.Records.Add(1)
	}
}

// skips tells whether a resumed read passes over the record at offset.
func (o Options) skips(offset int64) bool {
	return o.Resume != nil && offset <= o.Resume.Offset
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
	Records  int   // events emitted
	Errors   int   // problems reported that cost events
	Warnings int   // problems reported that cost none (Error.Warning)
	Bytes    int64 // input bytes consumed, each once: the file's size once it is read to its end
	// Delivered counts the records a checkpoint says an earlier read
	// delivered, which this one skipped (Publisher only).
	Delivered int
	// Duplicates counts the files skipped because a file of the same
	// content at another path was read to its end before (Publisher only).
	Duplicates int
}

func (s *Stats) add(o Stats) {
	s.Records += o.Records
	s.Errors += o.Errors
	s.Warnings += o.Warnings
	s.Bytes += o.Bytes
	s.Delivered += o.Delivered
	s.Duplicates += o.Duplicates
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
	// Warning marks a problem that cost nothing: damage the reader found
	// but read around in full (a chunk's records checksum that does not
	// match, while every record of the chunk was read). It is reported
	// and counted in Stats.Warnings, not among the errors.
	Warning bool
}

// IsWarning reports whether err is an *Error that cost no event.
func IsWarning(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.Warning
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

// fileError is a problem with a whole file. A *fs.PathError about the same
// path gives its cause only, so that the path is not said twice.
func fileError(path string, err error) *Error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		err = pe.Err
	}
	return &Error{Path: path, Chunk: -1, Offset: -1, Err: err}
}

// reporter counts problems and hands them to the caller's ReportFunc.
type reporter struct {
	fn       ReportFunc
	counters *Counters
	errors   int
	warnings int
}

func (r *reporter) report(e *Error) {
	switch {
	case e.Warning:
		r.warnings++
		if r.counters != nil {
			r.counters.Warnings.Add(1)
		}
	default:
		r.errors++
		if r.counters != nil {
			r.counters.Errors.Add(1)
		}
	}
	if r.fn != nil {
		r.fn(e)
	}
}

// Sentinel causes, for callers that want to tell problems apart with errors.Is.
var (
	ErrNotEventLog   = errors.New("not an event log")
	ErrEventTooLarge = errors.New("event too large")
	ErrDTD           = errors.New("DOCTYPE and entity declarations are not allowed")
)
