package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/normalizer"
)

// maxNDJSONLine bounds one NDJSON document; a longer line is reported and
// skipped.
const maxNDJSONLine = 16 << 20

// docSource reads ECS documents for the commands that work without a bus
// (eql, rules test): EVTX and rendered XML go through the collector and
// the normalizer in this process; NDJSON lines are documents used as they
// are. Standard input is read when there is no path, or for "-".
type docSource struct {
	stdin  io.Reader
	report func(error)
	// norm is kept across events: a Normalizer caches what it works out
	// per kind of event.
	norm *normalizer.Normalizer
	// rawFields keeps the raw Windows fields Sigma rules read.
	rawFields bool

	files, events, errors, normProblems int
}

// read sends every document of the inputs named by args to emit, in input
// order. Problems with an input are reported and the others are read; an
// error from emit or ctx stops the read and is returned.
func (s *docSource) read(ctx context.Context, args []string, emit func(event.Document) error) error {
	if len(args) == 0 {
		args = []string{collector.Stdin}
	}
	inputs := s.expand(args)
	if len(inputs) == 0 {
		return fmt.Errorf("no readable EVTX, XML or NDJSON input in %v", args)
	}
	s.files = len(inputs)
	for _, in := range inputs {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		switch {
		case in.Path == collector.Stdin:
			err = s.readStdin(ctx, emit)
		case in.Format == collector.FormatNDJSON:
			err = s.readNDJSONFile(ctx, in.Path, emit)
		default:
			err = s.readEvents(ctx, in, nil, emit)
		}
		if err != nil {
			if isEmitError(err) || ctx.Err() != nil {
				return err
			}
			s.fail(err)
		}
	}
	return nil
}

func (s *docSource) fail(err error) {
	s.errors++
	if s.report != nil {
		s.report(err)
	}
}

// expand finds the inputs as every command does (collector.Expand): EVTX,
// XML and NDJSON files told by their content, named, under folders or
// matched by patterns; "-" is standard input.
func (s *docSource) expand(args []string) []collector.Input {
	var out []collector.Input
	var paths []string
	flush := func() {
		out = append(out, collector.Expand(paths, s.fail)...)
		paths = nil
	}
	for _, arg := range args {
		if arg == collector.Stdin {
			flush()
			out = append(out, collector.Input{Path: arg})
			continue
		}
		paths = append(paths, arg)
	}
	flush()
	return out
}

// isNDJSON tells an NDJSON file by its first character that is not blank
// or a UTF-8 byte order mark.
func isNDJSON(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	return firstChar(head[:n]) == '{'
}

func firstChar(b []byte) byte {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func (s *docSource) readStdin(ctx context.Context, emit func(event.Document) error) error {
	br := bufio.NewReaderSize(s.stdin, 64<<10)
	head, _ := br.Peek(512)
	if collector.SniffFormat(head) == collector.FormatNDJSON {
		return s.readNDJSON(ctx, br, collector.Stdin, emit)
	}
	// EVTX or XML, which the collector tells apart (and spools EVTX, which
	// needs random access, to a temporary file).
	return s.readEvents(ctx, collector.Input{Path: collector.Stdin}, br, emit)
}

// readEvents reads EVTX or XML with the collector and normalizes each
// event.
func (s *docSource) readEvents(ctx context.Context, in collector.Input, stdin io.Reader, emit func(event.Document) error) error {
	_, err := collector.Read(ctx, in, stdin, collector.Options{}, func(r *event.Raw) error {
		if s.norm == nil {
			s.norm = normalizer.New()
			s.norm.SetRawFields(s.rawFields)
			// Alerts (rules test) name the file each event came from.
			s.norm.SetOrigin(true)
		}
		doc, err := s.norm.Normalize(r)
		if err != nil {
			s.normProblems++
		}
		s.events++
		if err := emit(doc); err != nil {
			return emitError{err}
		}
		return nil
	}, s.fail)
	if err != nil {
		var ee emitError
		if errors.As(err, &ee) {
			return ee
		}
	}
	return err
}

func (s *docSource) readNDJSONFile(ctx context.Context, path string, emit func(event.Document) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.readNDJSON(ctx, f, path, emit)
}

// readNDJSON reads one JSON object per line. A line that is not one is
// reported with its number and skipped — except the first, which says
// whether the input holds events at all: when it is not an event's
// document, the whole input is skipped with one error.
func (s *docSource) readNDJSON(ctx context.Context, r io.Reader, name string, emit func(event.Document) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxNDJSONLine)
	line := 0
	seen := false
	for sc.Scan() {
		line++
		if line%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		if len(b) == 0 {
			continue
		}
		doc, err := decodeDocument(b)
		if err == nil && !seen && !isEventDocument(doc) {
			err = errors.New("a JSON object without @timestamp, event or winlog")
		}
		if err != nil && !seen {
			return &collector.Error{Path: name, Line: line, Chunk: -1, Offset: -1,
				Err: fmt.Errorf("%w: its first line is no event's document (%w)", collector.ErrNotEventLog, err)}
		}
		seen = true
		if err != nil {
			s.fail(fmt.Errorf("%s:%d: %w", name, line, err))
			continue
		}
		s.events++
		if err := emit(doc); err != nil {
			return emitError{err}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return nil
}

// isEventDocument tells an event's ECS document (Winlogbeat's, Elastic
// Agent's, weft normalize's) from JSON of another kind by the fields every
// one of them has.
func isEventDocument(d event.Document) bool {
	for k := range d {
		if k == "@timestamp" || k == "event" || k == "winlog" || strings.HasPrefix(k, "event.") || strings.HasPrefix(k, "winlog.") {
			return true
		}
	}
	return false
}

// decodeDocument reads one JSON object. Whole numbers become int64 and
// others float64, so that large integers keep every digit.
func decodeDocument(b []byte) (event.Document, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value on the line")
	}
	return event.Document(numbers(m).(map[string]any)), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

// emitError marks an error of the caller's emit function, which stops the
// read rather than counting as a problem of the input.
type emitError struct{ err error }

func (e emitError) Error() string { return e.err.Error() }
func (e emitError) Unwrap() error { return e.err }

func isEmitError(err error) bool {
	var ee emitError
	return errors.As(err, &ee)
}
