package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/collector/jsonevent"
	"github.com/weft-dev/weft/event"
)

type dumpFlags struct {
	errors  bool
	xml     bool
	strict  bool
	quiet   bool
	decoder string
}

func (a *app) dumpCmd() *cobra.Command {
	var f dumpFlags
	cmd := &cobra.Command{
		Use:   "dump PATH...",
		Short: "Print raw events as JSON lines, as the collector sees them",
		Long: `dump reads EVTX files and rendered event XML (files, folders, globs, or "-"
for standard input) and prints each event as one JSON object per line: the
System block, EventData in order, and where the event was read (file, chunk,
offset). It is weft's evtxdump. Damaged records are skipped with an error on
stderr naming the file, chunk and record; with --errors only those errors are
printed, one per line on stdout, and the counts of each file with errors
on stderr. Damage read around without losing an event (a chunk's records
checksum that does not match while every record of it was read) is a
warning: logged (with --errors, printed as "warning: ..."), counted apart,
and no reason for --strict's exit 3.

EVTX files are checked as Windows writes them (header and chunk checksums),
damaged chunks and records are read around, and chunks are decoded on every
core with the events kept in record order. On a terminal a status line shows
files, bytes, events/s, errors and the time left; --quiet turns it off.

Exit codes: 0 the run reached its end, whatever it had to skip; 1 no readable
input; 2 bad command line; 3 --strict and some input was damaged or had to
be skipped.`,
		Example: `  weft dump Security.evtx | jq .event_id
  weft dump --errors backups/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.dump(cmd.Context(), f, args)
		},
	}
	cmd.Flags().BoolVar(&f.errors, "errors", false, "print only the errors (skipped chunks and records), one per line, and the warnings (damage read around, no event lost) as \"warning: ...\"")
	cmd.Flags().BoolVar(&f.xml, "xml", false, "include each event's XML")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "exit 3 when any input was damaged or had to be skipped")
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "no status line on the terminal")
	decoderFlag(cmd, &f.decoder)
	return cmd
}

// decoderFlag adds --decoder, which picks the BinXML decoder of EVTX input.
func decoderFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "decoder", collector.DecoderWeft, `EVTX BinXML decoder: "weft" (weft's own, falling back to golang-evtx for a record it cannot decode) or "golang-evtx" (the reference, slower)`)
}

func (a *app) dump(ctx context.Context, f dumpFlags, args []string) error {
	if _, set := os.LookupEnv("GOGC"); !set {
		// dump's live heap is a few chunks in flight, a few MB, while the
		// events it decodes and writes out come to about twice the input:
		// at the default GOGC of 100 the collector would run every few MB,
		// some 200 times for 180 MB of EVTX, and take a third of the time.
		// Five times the live heap keeps memory in tens of MB.
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	decoder, err := collector.ParseDecoder(f.decoder)
	if err != nil {
		return usageError("--decoder: %v", err)
	}
	w := bufio.NewWriterSize(a.stdout, 1<<16)
	defer w.Flush()
	var line []byte
	errs, warnings := 0, 0
	logSkipped := a.skipped("skipped")
	report := func(err error) {
		// A warning is damage read around without losing an event (a
		// chunk's records checksum with every record read): listed, not
		// counted among the errors, and no reason for --strict.
		warning := collector.IsWarning(err)
		if warning {
			warnings++
		} else {
			errs++
		}
		switch {
		case f.errors && warning:
			fmt.Fprintln(w, "warning:", err)
		case f.errors:
			fmt.Fprintln(w, err)
		default:
			logSkipped(err)
		}
	}
	inputs := expandArgs(args, report)
	if len(inputs) == 0 {
		return fmt.Errorf("no readable EVTX or XML input in %s", strings.Join(args, " "))
	}
	emit := func(r *event.Raw) error {
		if f.errors {
			return nil
		}
		out, err := r.AppendJSON(line[:0])
		if err != nil {
			// A time JSON cannot hold (a year past 9999): that event only.
			report(fmt.Errorf("%s: %w", r.Origin.Path, err))
			return nil
		}
		line = out
		_, err = w.Write(append(line, '\n'))
		return err
	}
	counters := &collector.Counters{}
	stopProgress := a.startProgress(f.quiet, true, inputs, counters)
	defer stopProgress()
	opts := collector.Options{KeepXML: f.xml, Counters: counters, Decoder: decoder, ReadNDJSON: jsonevent.ReadNDJSONDocument}
	var total collector.Stats
	type fileStats struct {
		path string
		collector.Stats
	}
	var files []fileStats
	for _, in := range inputs {
		st, err := collector.Read(ctx, in, a.stdin, opts, emit, report)
		if err != nil {
			if !collector.IsInputError(err) {
				return err
			}
			st.Errors++
			counters.Errors.Add(1)
			report(err)
		}
		total.Records += st.Records
		files = append(files, fileStats{in.Path, st})
	}
	stopProgress()
	if err := w.Flush(); err != nil {
		return err
	}
	if len(files) > 1 {
		for _, fs := range files {
			if fs.Errors > 0 {
				fmt.Fprintf(a.stderr, "weft dump: %s: %s, %s\n", fs.path, plural(fs.Records, "event"), plural(fs.Errors, "error"))
			}
		}
	}
	summary := fmt.Sprintf("weft dump: %s, %s, %s", plural(len(inputs), "file"), plural(total.Records, "event"), plural(errs, "error"))
	if warnings > 0 {
		summary += fmt.Sprintf(", %s (damage read around, no event lost)", plural(warnings, "warning"))
	}
	fmt.Fprintln(a.stderr, summary)
	if f.strict && errs > 0 {
		return &exitError{code: exitStrict, err: fmt.Errorf("--strict: %s", plural(errs, "error"))}
	}
	return nil
}
