package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/correlator/eql"
	"github.com/weft-dev/weft/event"
)

type eqlFlags struct {
	tiebreaker string
	strict     bool
}

func (a *app) eqlCmd() *cobra.Command {
	var f eqlFlags
	cmd := &cobra.Command{
		Use:   "eql QUERY [PATH...]",
		Short: "Run any EQL query over EVTX, XML or NDJSON files, as Elasticsearch's EQL search would",
		Long: `eql runs one Elasticsearch EQL query — an event query, a sequence or a sample,
with head and tail pipes — over EVTX files, rendered event XML (both read and
normalized to ECS in this process) or NDJSON files whose lines are ECS
documents used as they are. PATH may be a file, a folder (read recursively) or
a glob; with no PATH, or "-", standard input is read (NDJSON when it starts
with '{', else EVTX or XML). Files are told by their content, not their names;
one that is none of these (any other XML or JSON) is skipped with one warning.

Results go to stdout as NDJSON, in Elasticsearch's order (by time, then the
tiebreaker): for an event query each matching document; for a sequence one
line {"sequence": {"join_keys": [...], "events": [...]}}, a missing-event
stage standing as {"missing": true}; for a sample {"sample": {...}} alike,
ordered by join keys. All results are returned: add "| head N" or "| tail N"
to the query for fewer. A summary goes to stderr.

A query that does not parse is reported with its line and column, and weft
exits 2. A query that reads a field or an event category weft never produces
from EVTX or XML (process.nmae, proces) gets a warning on stderr naming it and
the closest one weft produces, and runs anyway (NDJSON input may hold it). Exit codes: 0 the run reached its end, with or without results; 1 no
readable input; 2 bad command line or query; 3 --strict and some input had to
be skipped.`,
		Example: `  weft eql 'process where process.name : "mmc.exe"' Sysmon.evtx
  weft eql 'authentication where event.action == "logged-in" and winlog.logon.type == "Network"' Security.evtx
  weft eql 'process where event.code == "4688" and process.parent.name : "cmd.exe"' Security.evtx
  weft eql 'sequence by host.id with maxspan=1m [network where true] [process where true] | head 5' backups/
  weft eql 'sample by host.id [process where true] [network where true]' docs.ndjson
  cat docs.ndjson | weft eql 'authentication where event.code == "4624" | tail 10'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.eql(cmd.Context(), f, args[0], args[1:])
		},
	}
	cmd.Flags().StringVar(&f.tiebreaker, "tiebreaker", "event.sequence", "field that orders events with the same @timestamp (Elasticsearch's tiebreaker_field); events without it come first")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "exit 3 when any input had to be skipped")
	return cmd
}

func (a *app) eql(ctx context.Context, f eqlFlags, query string, paths []string) error {
	prog, err := eql.CompileString(query)
	if err != nil {
		return usageError("%s", describeQueryError(query, err))
	}
	search, err := prog.NewSearch(eql.SearchOptions{Tiebreaker: f.tiebreaker})
	if err != nil {
		return usageError("--tiebreaker: %w", err)
	}
	// A mistyped field or category finds nothing; say so before the run.
	for _, w := range newReachChecker().queryWarnings(prog.Query()) {
		fmt.Fprintf(a.stderr, "weft eql: warning: %s\n", w)
	}
	src := &docSource{stdin: a.stdin, report: a.skipped("skipped input")}
	if err := src.read(ctx, paths, func(d event.Document) error {
		search.Add(d)
		return nil
	}); err != nil {
		return err
	}
	results, err := search.Run()
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(a.stdout, 1<<16)
	if err := writeResults(w, prog, results); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	line := fmt.Sprintf("weft eql: %s, %s, %s, %s", plural(src.files, "file"), plural(src.events, "event"),
		plural(len(results), "result"), plural(src.errors, "error"))
	if n := search.Invalid(); n > 0 {
		line += fmt.Sprintf(" (%s without a usable @timestamp skipped)", plural(n, "matching event"))
	}
	fmt.Fprintln(a.stderr, line)
	if f.strict && src.errors > 0 {
		return &exitError{code: exitStrict, err: fmt.Errorf("--strict: %s had to be skipped", plural(src.errors, "input error"))}
	}
	return nil
}

// describeQueryError shows where a query went wrong: the message with its
// line and column, the line of the query and a caret under the column.
func describeQueryError(query string, err error) string {
	var se *eql.SyntaxError
	if !errors.As(err, &se) {
		return "query: " + err.Error()
	}
	lines := strings.Split(query, "\n")
	msg := "query: " + se.Error()
	if se.Line >= 1 && se.Line <= len(lines) {
		text := strings.ReplaceAll(lines[se.Line-1], "\t", " ")
		msg += "\n  " + text + "\n  " + strings.Repeat(" ", max(se.Column-1, 0)) + "^"
	}
	return msg
}

// missingEvent stands for a missing-event stage in a sequence's events, as
// Elasticsearch shows it.
var missingEvent = map[string]any{"missing": true}

type joined struct {
	JoinKeys []any            `json:"join_keys"`
	Events   []map[string]any `json:"events"`
}

// writeResults writes one JSON object per line.
func writeResults(w io.Writer, prog *eql.Program, results []eql.Match) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	missing := prog.MissingStages()
	for _, m := range results {
		var v any
		switch {
		case prog.IsSequence() || prog.IsSample():
			j := joined{JoinKeys: m.JoinKeys, Events: make([]map[string]any, 0, len(m.Events)+len(missing))}
			if j.JoinKeys == nil {
				j.JoinKeys = []any{}
			}
			next := 0
			for i := 0; i < max(len(missing), len(m.Events)); i++ {
				if i < len(missing) && missing[i] {
					j.Events = append(j.Events, missingEvent)
					continue
				}
				if next < len(m.Events) {
					j.Events = append(j.Events, m.Events[next])
					next++
				}
			}
			if prog.IsSample() {
				v = map[string]joined{"sample": j}
			} else {
				v = map[string]joined{"sequence": j}
			}
		default:
			v = m.Events[0]
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return nil
}
