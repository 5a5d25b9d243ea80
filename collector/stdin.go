package collector

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// ReadFunc reads the events of a stream, as ReadXML does: name stands for
// it in errors and origins.
type ReadFunc func(ctx context.Context, r io.Reader, name string, opts Options, emit EmitFunc, report ReportFunc) (Stats, error)

// readStdin reads standard input in the format its first bytes say, as
// files are told apart: EVTX (spooled to a temporary file, since EVTX
// needs random access), NDJSON (Options.ReadNDJSON) or XML. Input that is
// none of these is one error.
func readStdin(ctx context.Context, stdin io.Reader, opts Options, emit EmitFunc, report ReportFunc) (Stats, error) {
	br := bufio.NewReaderSize(stdin, 64<<10)
	head, _ := br.Peek(512)
	switch SniffFormat(head) {
	case FormatEVTX:
		return ReadEVTXStream(ctx, br, Stdin, opts, emit, report)
	case FormatNDJSON:
		if opts.ReadNDJSON != nil {
			return opts.ReadNDJSON(ctx, br, Stdin, opts, emit, report)
		}
		return Stats{}, &Error{Path: Stdin, Chunk: -1, Offset: -1, Err: fmt.Errorf("%w: NDJSON is not read here", ErrNotEventLog)}
	case FormatUnknown:
		if len(bytes.TrimSpace(head)) > 0 {
			return Stats{}, &Error{Path: Stdin, Chunk: -1, Offset: 0,
				Err: fmt.Errorf("%w: starts with neither the EVTX magic, \"<\" nor \"{\"", ErrNotEventLog)}
		}
	}
	return readXMLDocument(ctx, br, Stdin, opts, emit, report)
}

// ReadEVTXStream reads an EVTX file from a stream (standard input): EVTX
// needs random access (the header, then chunks in any order), so the
// stream is copied to a temporary file first, removed once read.
func ReadEVTXStream(ctx context.Context, r io.Reader, name string, opts Options, emit EmitFunc, report ReportFunc) (Stats, error) {
	f, err := os.CreateTemp("", "weft-stdin-*.evtx")
	if err != nil {
		return Stats{}, fmt.Errorf("spooling %s to a temporary file: %w", name, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, &ctxReader{ctx: ctx, r: r})
	if err != nil {
		if ctx.Err() != nil {
			return Stats{}, ctx.Err()
		}
		var pe *os.PathError
		if errors.As(err, &pe) && pe.Path == f.Name() {
			// Writing the spool failed (a full disk): weft's problem,
			// not the input's.
			return Stats{}, fmt.Errorf("spooling %s to a temporary file: %w", name, err)
		}
		return Stats{}, &Error{Path: name, Chunk: -1, Offset: n, Err: err}
	}
	return ReadEVTX(ctx, f, n, name, opts, emit, report)
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
