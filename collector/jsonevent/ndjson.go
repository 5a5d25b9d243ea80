package jsonevent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/weft-dev/weft/collector"
)

// ReadNDJSON reads JSON documents from r, one per line (NDJSON, as
// OpenWEC's TCP output and Winlogbeat's file and HTTP outputs write them),
// and emits the event each holds. name stands for the input in errors and
// origins; each event's Origin.Offset is where its line starts.
//
// A line that is not an event, malformed or longer than
// opts.MaxEventSize is reported with its line number and skipped; a long
// line is skipped without being held in memory, however long it gets. A
// line with bytes that are not UTF-8 is reported too (an
// *InvalidUTF8Error), but its event is kept with U+FFFD in their place.
// Blank lines are ignored. The returned error is ctx's, emit's, or a
// failure to read r.
func ReadNDJSON(ctx context.Context, r io.Reader, name string, opts collector.Options, emit collector.EmitFunc, report collector.ReportFunc) (collector.Stats, error) {
	return readNDJSON(ctx, r, name, opts, emit, report, false)
}

// ReadNDJSONDocument is ReadNDJSON for a file or standard input, whose
// first line says whether it holds events at all: when that line is not
// one (JSON of another kind, or not JSON), the input is skipped with one
// error wrapping collector.ErrNotEventLog, not one per line. It is the
// collector's Options.ReadNDJSON.
func ReadNDJSONDocument(ctx context.Context, r io.Reader, name string, opts collector.Options, emit collector.EmitFunc, report collector.ReportFunc) (collector.Stats, error) {
	return readNDJSON(ctx, r, name, opts, emit, report, true)
}

func readNDJSON(ctx context.Context, r io.Reader, name string, opts collector.Options, emit collector.EmitFunc, report collector.ReportFunc, document bool) (collector.Stats, error) {
	seen := false // a line that is not blank
	lr := &lineReader{br: bufio.NewReaderSize(r, 64<<10), limit: maxEventSize(opts)}
	var st collector.Stats
	fail := func(line int, off int64, err error) {
		st.Errors++
		if report != nil {
			report(&collector.Error{Path: name, Chunk: -1, Line: line, Offset: off, Err: err})
		}
	}
	for lineNo := 1; ; lineNo++ {
		if err := ctx.Err(); err != nil {
			st.Bytes = lr.off
			return st, err
		}
		off := lr.off
		line, err := lr.next()
		st.Bytes = lr.off
		if errors.Is(err, errLineTooLong) {
			fail(lineNo, off, fmt.Errorf("%w: line longer than %d bytes", collector.ErrEventTooLarge, lr.limit))
			continue
		}
		if err != nil && err != io.EOF {
			return st, &collector.Error{Path: name, Chunk: -1, Line: lineNo, Offset: lr.off, Err: err}
		}
		if off == 0 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(bytes.TrimSpace(line)) > 0 {
			ev, _, replaced, derr := DecodeText(line, opts)
			first := !seen
			seen = true
			switch {
			case derr != nil && document && first && !errors.Is(derr, ErrInvalidUTF8):
				return st, &collector.Error{Path: name, Chunk: -1, Line: lineNo, Offset: off,
					Err: fmt.Errorf("%w: its first line is no Windows event (%w)", collector.ErrNotEventLog, derr)}
			case derr != nil:
				fail(lineNo, off, derr)
			default:
				if replaced != nil {
					// Reported before the event goes on, so that a caller
					// that stops at the event has seen the problem.
					fail(lineNo, off, replaced)
				}
				ev.Origin.Path, ev.Origin.Offset = name, off
				if eerr := emit(ev); eerr != nil {
					return st, fmt.Errorf("%s:%d: %w", name, lineNo, eerr)
				}
				st.Records++
			}
		}
		if err == io.EOF {
			return st, nil
		}
	}
}

var errLineTooLong = errors.New("line too long")

// lineReader returns lines of at most limit bytes; a longer line is
// consumed to its end without being kept and reported as errLineTooLong.
type lineReader struct {
	br    *bufio.Reader
	limit int
	off   int64 // bytes consumed
	buf   []byte
}

// next returns the next line without its end of line. At the end of the
// input it returns the last, unterminated line (maybe empty) with io.EOF.
func (l *lineReader) next() ([]byte, error) {
	l.buf = l.buf[:0]
	tooLong := false
	for {
		chunk, err := l.br.ReadSlice('\n')
		l.off += int64(len(chunk))
		if !tooLong {
			if len(l.buf)+len(chunk) > l.limit+2 { // +2: the line's own "\r\n"
				tooLong = true
				l.buf = l.buf[:0]
			} else {
				l.buf = append(l.buf, chunk...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err != nil && err != io.EOF:
			return nil, err
		}
		if tooLong {
			return nil, errLineTooLong
		}
		line := bytes.TrimSuffix(bytes.TrimSuffix(l.buf, []byte("\n")), []byte("\r"))
		if len(line) > l.limit {
			return nil, errLineTooLong
		}
		return line, err
	}
}
