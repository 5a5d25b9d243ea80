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
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/normalizer"
)

func (a *app) normalizeCmd() *cobra.Command {
	var strict, serve bool
	cmd := &cobra.Command{
		Use:   "normalize [PATH...]",
		Short: "Print the ECS documents rules match against, as JSON lines",
		Long: `normalize reads EVTX files, rendered event XML and Winlogbeat JSON (one
document per line) — files, folders, globs, or standard input when no path or
"-" is given — and prints each event's ECS document as one JSON object per
line: the fields and values Elastic's Sysmon pipeline would give, which are
what weft's rules match against. Files are told by their content, not their
names: EVTX by its magic, XML by "<", JSON by "{"; in folders too. A file that
is none of these, or XML or JSON of another kind, is skipped with one warning.

Events with problems (a missing field, a value that does not parse) are still
printed, with the problems in error.message; unreadable records and lines are
skipped with an error on stderr naming the file and the record or line.

Exit codes: 0 the run reached its end, whatever it had to skip; 1 no readable
input; 2 bad command line; 3 --strict and some input had to be skipped.`,
		Example: `  weft normalize Sysmon.evtx | jq 'select(.event.code == "3") | .destination'
  wevtutil qe Microsoft-Windows-Sysmon/Operational /f:xml | weft normalize
  weft normalize winlogbeat.ndjson`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if serve {
				if len(args) > 0 {
					return usageError("--serve reads the bus, not paths")
				}
				return a.serveNormalizer(cmd.Context())
			}
			return a.normalize(cmd.Context(), strict, args)
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "exit 3 when any input had to be skipped")
	cmd.Flags().BoolVar(&serve, "serve", false, "run as the normalizer stage: raw events from an external NATS (--nats) to ECS documents, until SIGINT or SIGTERM")
	cmd.Flags().StringVarP(&a.stageConfig, "config", "c", "", "with --serve: the weft.yaml whose bus section to use")
	a.telemetryFlags(cmd.Flags())
	return cmd
}

// normalizeRun is the state of one weft normalize.
type normalizeRun struct {
	a      *app
	norm   *normalizer.Normalizer
	enc    *json.Encoder
	inputs int
	events int
	flawed int // events normalized with problems
	errs   int // input skipped
	// first is set while the first line of an NDJSON input is read.
	first bool
}

func (a *app) normalize(ctx context.Context, strict bool, args []string) error {
	w := bufio.NewWriterSize(a.stdout, 1<<16)
	defer w.Flush()
	run := &normalizeRun{a: a, norm: normalizer.New(), enc: json.NewEncoder(w)}
	run.enc.SetEscapeHTML(false)
	if len(args) == 0 {
		args = []string{collector.Stdin}
	}
	for _, arg := range args {
		if err := run.arg(ctx, arg); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "weft normalize: %s, %s (%d with problems), %s\n",
		plural(run.inputs, "input"), plural(run.events, "event"), run.flawed, plural(run.errs, "error"))
	if run.inputs == 0 {
		return fmt.Errorf("no readable EVTX, XML or JSON input in %s", strings.Join(args, " "))
	}
	if strict && run.errs > 0 {
		return &exitError{code: exitStrict, err: fmt.Errorf("--strict: %s", plural(run.errs, "error"))}
	}
	return nil
}

func (run *normalizeRun) report(err error) {
	run.errs++
	run.a.log.Warn().Err(err).Msg("skipped")
}

func (run *normalizeRun) emit(r *event.Raw) error {
	doc, err := run.norm.Normalize(r)
	if err != nil {
		run.flawed++
		run.a.log.Debug().Err(err).Msg("normalized with problems")
	}
	run.events++
	return run.enc.Encode(doc)
}

// arg reads one command-line argument. Only a failure to write the output
// (or ctx ending) is returned; input problems are reported.
func (run *normalizeRun) arg(ctx context.Context, arg string) error {
	if arg == collector.Stdin {
		return run.stdin(ctx)
	}
	paths := []string{arg}
	if strings.ContainsAny(arg, "*?[") && !strings.Contains(arg, "**") {
		matches, err := filepath.Glob(arg)
		if err == nil && len(matches) == 0 {
			err = errors.New("pattern matches no file")
		}
		if err != nil {
			run.report(&collector.Error{Path: arg, Chunk: -1, Offset: -1, Err: err})
			return nil
		}
		paths = matches
	}
	for _, p := range paths {
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() && isNDJSON(p) {
			if err := run.jsonFile(ctx, p); err != nil {
				return err
			}
			continue
		}
		// Folders, "**" patterns, EVTX and XML: the collector finds and
		// reports what it cannot read.
		for _, in := range collector.Expand([]string{p}, run.report) {
			if in.Format == collector.FormatNDJSON {
				if err := run.jsonFile(ctx, in.Path); err != nil {
					return err
				}
				continue
			}
			run.inputs++
			if _, err := collector.ReadInput(ctx, in, collector.Options{}, run.emit, run.report); err != nil {
				if !collector.IsInputError(err) {
					return err
				}
				run.report(err)
			}
		}
	}
	return nil
}

func (run *normalizeRun) jsonFile(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		run.report(&collector.Error{Path: path, Chunk: -1, Offset: -1, Err: err})
		return nil
	}
	defer f.Close()
	run.inputs++
	return run.ndjson(ctx, f, path)
}

// stdin reads standard input as Winlogbeat JSON when it starts with "{",
// else as EVTX or rendered XML, told by the collector.
func (run *normalizeRun) stdin(ctx context.Context) error {
	br := bufio.NewReaderSize(run.a.stdin, 1<<16)
	run.inputs++
	if head, _ := br.Peek(4096); collector.SniffFormat(head) == collector.FormatNDJSON {
		return run.ndjson(ctx, br, collector.Stdin)
	}
	if _, err := collector.Read(ctx, collector.Input{Path: collector.Stdin}, br, collector.Options{}, run.emit, run.report); err != nil {
		if !collector.IsInputError(err) {
			return err
		}
		run.report(err)
	}
	return nil
}

// ndjson reads Winlogbeat documents, one per line. A line that is not one
// is reported with its number and skipped — except the first, which says
// whether the input holds events at all: when it is not one, the input is
// skipped with one error.
func (run *normalizeRun) ndjson(ctx context.Context, r io.Reader, name string) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var offset int64
	run.first = true
	defer func() { run.first = false }()
	for line := 1; ; line++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		text, n, err := readLine(br, collector.DefaultMaxEventSize)
		start := offset
		offset += n
		switch {
		case errors.Is(err, errLineTooLong):
			run.report(&collector.Error{Path: name, Line: line, Chunk: -1, Offset: start,
				Err: fmt.Errorf("line longer than %d bytes", collector.DefaultMaxEventSize)})
			continue
		case err != nil && !errors.Is(err, io.EOF):
			run.report(&collector.Error{Path: name, Line: line, Chunk: -1, Offset: offset, Err: err})
			return nil
		}
		if t := bytes.TrimSpace(text); len(t) > 0 {
			if err := run.jsonLine(t, name, line, start); err != nil {
				if errors.Is(err, errNotEvents) {
					return nil
				}
				return err
			}
			run.first = false
		}
		if err != nil {
			return nil // io.EOF
		}
	}
}

func (run *normalizeRun) jsonLine(text []byte, name string, line int, offset int64) error {
	fail := func(err error) error {
		if run.first {
			run.report(&collector.Error{Path: name, Line: line, Chunk: -1, Offset: -1,
				Err: fmt.Errorf("%w: its first line is no Windows event (%w)", collector.ErrNotEventLog, err)})
			return errNotEvents
		}
		run.report(&collector.Error{Path: name, Line: line, Chunk: -1, Offset: -1, Err: err})
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return fail(fmt.Errorf("not a JSON object: %w", err))
	}
	if dec.More() {
		return fail(errors.New("more than one JSON value on the line"))
	}
	r, err := normalizer.FromWinlogbeat(doc)
	if err != nil {
		return fail(err)
	}
	r.Origin.Path, r.Origin.Offset = name, offset
	return run.emit(r)
}

var (
	errLineTooLong = errors.New("line too long")
	// errNotEvents ends the read of an input whose first line is no event.
	errNotEvents = errors.New("not events")
)

// readLine reads the next line, its newline included, and says how many
// bytes it took. A line longer than limit is consumed whole and answered
// with errLineTooLong.
func readLine(br *bufio.Reader, limit int) (line []byte, n int64, err error) {
	long := false
	for {
		chunk, err := br.ReadSlice('\n')
		n += int64(len(chunk))
		if long || len(line)+len(chunk) > limit {
			long, line = true, nil
		} else {
			line = append(line, chunk...)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if long {
				return nil, n, errLineTooLong
			}
			return line, n, err
		}
	}
}
