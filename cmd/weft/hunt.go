package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/collector/jsonevent"
	"github.com/weft-dev/weft/correlator"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks"
	"github.com/weft-dev/weft/sinks/jsonl"
)

type huntFlags struct {
	json bool
	sort bool
	// lateness is how far behind its host's latest event an event may come
	// and still be evaluated in order; it is also how much event time must
	// pass after an alert before it is printed.
	lateness time.Duration
	rules    []string
	noSeed   bool
	strict   bool
	quiet    bool
	decoder  string
}

func (a *app) huntCmd() *cobra.Command {
	var f huntFlags
	cmd := &cobra.Command{
		Use:   "hunt PATH...",
		Short: "Run the detection rules over EVTX and XML files and print the alerts",
		Long: `hunt runs the whole pipeline — collector, normalizer, correlator — over EVTX
files and rendered event XML, on a NATS server embedded in this process, and
prints every alert. PATH may be a file, a folder (read recursively) or a glob;
"-" reads standard input. EVTX, XML and Winlogbeat NDJSON are recognised by
their first bytes, not by their names; a file that is none of them (a
scheduled task's XML, a package.json) is skipped with one warning.

Alerts go to stdout as soon as they are final — their sequence complete and
--lateness of event time passed after it on their host — each written and
flushed on its own: a table for people, or with --json exactly one alert
JSON object per line and nothing else. Events of a host are evaluated in
event time order within --lateness; one that comes later than that (a second
file of the same host covering earlier hours, say) is evaluated as it comes
and counted in the summary. Memory stays bounded whatever the size of the
input. --sort holds every event to the end instead: all are evaluated in
time order across files and the alerts printed sorted by time, at the cost
of memory that grows with the input.

SIGINT or SIGTERM (Ctrl-C) stops the reading: what was read goes through the
rules, the alerts found are printed, the summary says "interrupted", and
hunt exits 130.

A summary (files, events, alerts, errors,
how many rules ran and from where) goes to stderr. Damaged input is skipped with an error naming the file, chunk
and record, and the run goes on. On a terminal a status line shows files,
bytes, events/s, errors and the time left while the files are read; --quiet
turns it off.

A --rules path that does not exist or holds no rule file (*.toml, *.yml,
*.yaml) stops hunt before it starts. A rule file that does not load is logged
and counted among the summary's errors; the other rules run.

Exit codes: 0 the run reached its end, with or without alerts; 1 weft could not
run (no readable input, no rule, a --rules path missing or without rule files,
bus failure); 2 bad command line; 3 --strict and some input was damaged or had
to be skipped, or a rule did not load; 130 interrupted by SIGINT or SIGTERM.

--cpuprofile and --memprofile write pprof profiles of the run.`,
		Example: `  weft hunt testdata/xml/mmc-positive.xml
  weft hunt --json 'backups/**/*.evtx' > alerts.ndjson
  weft hunt --rules my-rules/ C:/cases/host17/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.hunt(cmd.Context(), f, args)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.json, "json", false, "print one alert JSON object per line on stdout, nothing else")
	fl.BoolVar(&f.sort, "sort", false, "hold every event to the end: evaluate all in time order across files and print the alerts sorted by time (memory grows with the input)")
	fl.DurationVar(&f.lateness, "lateness", defaultHuntLateness, "how far in event time an event may come after a later one of its host and still be evaluated in order; alerts are printed once this much event time has passed after them (not with --sort)")
	fl.StringSliceVar(&f.rules, "rules", nil, "more rule files or folders (Elastic detection-rules TOML, Sigma YAML); repeatable")
	a.sigmaFlags(fl)
	fl.BoolVar(&f.noSeed, "no-seed", false, "do not run the built-in seed rule")
	fl.BoolVar(&f.strict, "strict", false, "exit 3 when any input was damaged or had to be skipped, or a rule did not load")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no status line on the terminal")
	decoderFlag(cmd, &f.decoder)
	return profiled(cmd)
}

// Hunt's streaming settings (without --sort).
const (
	// defaultHuntLateness covers the disorder inside one log: Sysmon's
	// UtcTime against the order records were written in.
	defaultHuntLateness = time.Minute
	// huntIdle releases the held events of a host that has sent nothing
	// for this long (processing time): the last events of a host whose
	// logs are done, or of an input that stalls, are not held to the end.
	huntIdle = time.Second
	// huntTick is how often idle hosts are looked for.
	huntTick = 250 * time.Millisecond
	// huntMaxBuffered bounds the events held for ordering, whatever the
	// lateness and the rate of events in event time: past it the oldest
	// is evaluated early (counted).
	huntMaxBuffered = 50_000
	// huntMemoryLimit is the Go runtime's soft memory limit during a
	// hunt (GOMEMLIMIT overrides it).
	huntMemoryLimit = 160 << 20
)

// exitInterrupted is hunt's exit code after SIGINT or SIGTERM, the
// shell's 128 + SIGINT.
const exitInterrupted = 130

// huntSummary is what hunt reports on stderr.
type huntSummary struct {
	files, events, alerts, inputErrors, normProblems int
	// rules ran; ruleErrors are the rule files or rules that did not load,
	// counted among the errors.
	rules, ruleErrors int
	ruleOrigins       string // where the rules came from, when not all built in
	elapsed           time.Duration
	// suppressed are the alerts over max_signals, per rule that had any.
	suppressed []correlator.RuleStats
	// refused counts the events (or alerts) too big for a NATS message,
	// dead-lettered and logged instead.
	refused uint64
	// duplicates counts the files skipped because a file of the same
	// content was read before (logged with both paths).
	duplicates int
	// warnings counts the damage read around without losing an event,
	// which is not among the errors.
	warnings int
	// late counts the events that came later than the lateness allows and
	// were evaluated out of order; forced those evaluated early because
	// too many were held.
	late, forced uint64
	interrupted  bool
}

func (s huntSummary) String() string {
	line := fmt.Sprintf("weft hunt: %s, %s, %s, %s, %s in %.2fs",
		plural(s.files, "file"), plural(s.events, "event"), plural(s.alerts, "alert"),
		plural(s.inputErrors+s.ruleErrors, "error"), plural(s.rules, "rule")+s.ruleOrigins, s.elapsed.Seconds())
	if s.ruleErrors > 0 {
		line += fmt.Sprintf(" (%s did not load)", plural(s.ruleErrors, "rule"))
	}
	if s.warnings > 0 {
		line += fmt.Sprintf(", %s (damage read around, no event lost)", plural(s.warnings, "warning"))
	}
	if s.normProblems > 0 {
		line += fmt.Sprintf(" (%s with normalization problems: --log-level debug logs each, weft normalize shows them in error.message)", plural(s.normProblems, "event"))
	}
	if len(s.suppressed) > 0 {
		var total uint64
		per := make([]string, len(s.suppressed))
		for i, r := range s.suppressed {
			total += r.Suppressed
			per[i] = fmt.Sprintf("%s: %d", r.Name, r.Suppressed)
		}
		line += fmt.Sprintf(", %s suppressed by max_signals (%s)", plural(int(total), "alert"), strings.Join(per, ", "))
	}
	if s.duplicates > 0 {
		line += fmt.Sprintf(", %s skipped (the same content as another file read)", plural(s.duplicates, "duplicate file"))
	}
	if s.refused > 0 {
		line += fmt.Sprintf(", %s too big for the bus (logged, not evaluated)", plural(int(s.refused), "item"))
	}
	if s.late+s.forced > 0 {
		line += fmt.Sprintf(", %s evaluated out of time order (later than --lateness behind their host, or too many held; --sort orders all)",
			plural(int(s.late+s.forced), "event"))
	}
	if s.interrupted {
		line += ", interrupted"
	}
	return line
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func (a *app) hunt(ctx context.Context, f huntFlags, args []string) error {
	decoder, err := collector.ParseDecoder(f.decoder)
	if err != nil {
		return usageError("--decoder: %v", err)
	}
	if f.lateness < 0 {
		return usageError("--lateness must not be negative")
	}
	start := time.Now()
	var sum huntSummary
	var mu sync.Mutex
	logSkipped := a.skipped("skipped input")
	report := func(err error) {
		mu.Lock()
		if collector.IsWarning(err) {
			sum.warnings++ // damage read around: no event lost
		} else {
			sum.inputErrors++
		}
		mu.Unlock()
		logSkipped(err)
	}
	inputs := expandArgs(args, report)
	if len(inputs) == 0 {
		return fmt.Errorf("no readable EVTX or XML input in %s", strings.Join(args, " "))
	}
	sum.files = len(inputs)
	rules, ruleErrs, err := a.loadRulesCounted(ctx, !f.noSeed, f.rules)
	if err != nil {
		return err
	}
	sum.rules, sum.ruleErrors, sum.ruleOrigins = len(rules), ruleErrs, ruleOrigins(rules, f.rules)

	// Alerts are printed as they come, unless --sort holds them to the
	// end to print them in time order.
	sorted := &alertPrinter{}
	var sink sinks.Sink = sorted
	switch {
	case f.json:
		sink = jsonl.NewWriter(a.stdout, "stdout")
	case !f.sort:
		sink = newTablePrinter(a.stdout, rules)
	}
	engine := correlator.Options{Lateness: correlator.Batch, Tiebreaker: "winlog.record_id"}
	var tick time.Duration
	if !f.sort {
		// Documents are held only within the lateness, so memory does not
		// grow with the input and alerts come out as they are final.
		engine.Lateness, engine.IdleTimeout, engine.MaxBuffered = f.lateness, huntIdle, huntMaxBuffered
		tick = huntTick
	}
	if !f.sort && os.Getenv("GOMEMLIMIT") == "" {
		// What a hunt holds is bounded (the streams, the documents within
		// the lateness, the pending sequences), but the garbage collector
		// would let the heap grow to twice it between collections. A soft
		// limit makes it collect sooner instead.
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(huntMemoryLimit))
	}
	// The pipeline runs on when ctx ends (SIGINT): what was read still
	// goes through.
	work := context.WithoutCancel(ctx)
	p, err := startPipeline(work, pipelineConfig{
		bus:    a.busConfig(bus.Config{}),
		rules:  rules,
		engine: engine,
		tick:   tick,
		sinks:  map[string]sinks.Sink{"hunt": &countingSink{Sink: sink}},
		onOpen: a.busReady,
	}, a.log)
	if err != nil {
		return err
	}
	defer p.stop()

	counters := &collector.Counters{}
	stopProgress := a.startProgress(f.quiet, f.json, inputs, counters)
	defer stopProgress()
	// The inputs are read in a goroutine, so that an interrupt ends the
	// wait even while a read blocks (standard input that sends nothing).
	// Once interrupted, the reading is not waited for: its context is
	// done, so it publishes nothing more and ends with its input.
	type published struct {
		st  collector.Stats
		err error
	}
	done := make(chan published, 1)
	go func() {
		st, err := collector.Publish(ctx, p.bus, inputs, a.stdin, collector.Options{Counters: counters, Decoder: decoder, ReadNDJSON: jsonevent.ReadNDJSONDocument, Duplicate: a.logDuplicate}, report)
		done <- published{st, err}
	}()
	select {
	case r := <-done:
		switch {
		case r.err != nil && ctx.Err() != nil:
			sum.interrupted = true
		case r.err != nil:
			return fmt.Errorf("publishing events: %w", r.err)
		}
		sum.events = r.st.Records
	case <-ctx.Done():
		sum.interrupted = true
	}
	if sum.interrupted {
		sum.events = int(counters.Records.Load())
	}
	if err := p.drain(work); err != nil {
		return err
	}
	if err := profilesOf(ctx).writeHeap(); err != nil {
		a.log.Error().Err(err).Msg("heap profile")
	}
	stopProgress()
	sum.alerts = int(p.sinks["hunt"].(*countingSink).n.Load())
	sum.normProblems = int(p.norm.Errors.Load())
	sum.refused = p.bus.Rejected()
	sum.duplicates = int(counters.Duplicates.Load())
	if st, _ := p.stage.Stats(); st.Suppressed > 0 || st.Late > 0 || st.Forced > 0 {
		sum.late, sum.forced = st.Late, st.Forced
		for _, r := range st.Rules {
			if r.Suppressed > 0 {
				sum.suppressed = append(sum.suppressed, r)
			}
		}
	}
	sum.elapsed = time.Since(start)
	switch {
	case f.json:
	case f.sort:
		if err := sorted.print(a.stdout, isTerminal(a.stdout)); err != nil {
			return err
		}
	case sum.alerts == 0 && isTerminal(a.stdout):
		fmt.Fprintln(a.stdout, "no alerts")
	}
	a.flushLog() // the counts of repeated warnings come before the summary
	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintln(a.stderr, sum)
	if f.strict && sum.ruleErrors > 0 {
		return &exitError{code: exitStrict, err: fmt.Errorf("--strict: %s did not load", plural(sum.ruleErrors, "rule"))}
	}
	if sum.interrupted {
		return &exitError{code: exitInterrupted, err: errors.New("interrupted")}
	}
	if f.strict && sum.inputErrors > 0 {
		return &exitError{code: exitStrict, err: fmt.Errorf("--strict: %s had to be skipped", plural(sum.inputErrors, "input error"))}
	}
	return nil
}

// expandArgs turns command-line paths into inputs; "-" is standard input.
func expandArgs(args []string, report collector.ReportFunc) []collector.Input {
	var paths []string
	var inputs []collector.Input
	for _, arg := range args {
		if arg == collector.Stdin {
			inputs = append(inputs, collector.Input{Path: collector.Stdin, Format: collector.FormatXML})
			continue
		}
		paths = append(paths, arg)
	}
	if len(paths) > 0 {
		inputs = append(inputs, collector.Expand(paths, report)...)
	}
	return inputs
}

// ruleOrigins says where rules came from, " (1 built-in, 391 from
// rules/)", or nothing when all are built in.
func ruleOrigins(rules []*correlator.Rule, paths []string) string {
	counts := make([]int, len(paths))
	builtin := 0
next:
	for _, r := range rules {
		for i, p := range paths {
			if rel, err := filepath.Rel(p, r.Path); err == nil && (rel == "." || filepath.IsLocal(rel)) {
				counts[i]++
				continue next
			}
		}
		builtin++
	}
	if builtin == len(rules) {
		return ""
	}
	var parts []string
	if builtin > 0 {
		parts = append(parts, fmt.Sprintf("%d built-in", builtin))
	}
	for i, p := range paths {
		if counts[i] > 0 {
			parts = append(parts, fmt.Sprintf("%d from %s", counts[i], p))
		}
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// loadRules gathers the seed rule and the rules in paths. A rule that does
// not load is logged and skipped; having no rule at all is an error, and so
// is a path that does not exist or holds no rule file (a mistyped --rules
// would otherwise run the seed rule alone without a word).
func (a *app) loadRules(ctx context.Context, seed bool, paths []string) ([]*correlator.Rule, error) {
	rules, _, err := a.loadRulesCounted(ctx, seed, paths)
	return rules, err
}

// checkRulePath says what is wrong with a rules path that loads nothing:
// it does not exist, or it is a folder without a rule file. weft config
// check asks the same of rules.paths.
func checkRulePath(p string) error {
	if _, err := os.Stat(p); err != nil {
		return err
	}
	if files, _ := correlator.RuleFiles(p); len(files) == 0 {
		return fmt.Errorf("%s holds no rule file (*.toml, *.yml, *.yaml)", p)
	}
	return nil
}

// loadRulesCounted is loadRules that also says how many rule files or rules
// did not load, for the summaries that count them as errors.
func (a *app) loadRulesCounted(ctx context.Context, seed bool, paths []string) ([]*correlator.Rule, int, error) {
	for _, p := range paths {
		if err := checkRulePath(p); err != nil {
			return nil, 0, fmt.Errorf("rules: %w", err)
		}
	}
	var rules []*correlator.Rule
	var failed int
	if seed {
		r, err := correlator.SeedRules()
		if err != nil {
			return nil, 0, fmt.Errorf("built-in rules: %w", err)
		}
		rules = append(rules, r...)
	}
	if len(paths) > 0 {
		loaded, errs := correlator.LoadRulesWith(ctx, a.sigma, paths...)
		for _, err := range errs {
			a.log.Error().Err(err).Msg("rule skipped")
		}
		failed = len(errs)
		// A rule file with the seed rule's id (Elastic's own copy, say)
		// replaces the built-in one rather than running beside it.
		byID := map[string]int{}
		for i, r := range rules {
			byID[r.ID] = i
		}
		for _, r := range loaded {
			if i, ok := byID[r.ID]; ok {
				a.log.Debug().Str("rule", r.ID).Str("file", r.Path).Msg("rule file replaces the built-in rule with the same id")
				rules[i] = r
				continue
			}
			rules = append(rules, r)
		}
	}
	if len(rules) == 0 {
		return nil, failed, fmt.Errorf("no rule to run")
	}
	return rules, failed, nil
}

// countingSink counts what it delivered.
type countingSink struct {
	sinks.Sink
	n atomic.Int64
}

func (c *countingSink) Send(ctx context.Context, a *event.Alert) error {
	if err := c.Sink.Send(ctx, a); err != nil {
		return err
	}
	c.n.Add(1)
	return nil
}

// tablePrinter prints each alert as a table row as it comes, the header
// before the first. Columns have fixed widths (the rule column as wide as
// the longest rule name, within reason), so rows line up without waiting
// for the last alert; a longer value pushes the rest of its row along.
type tablePrinter struct {
	mu     sync.Mutex
	w      io.Writer
	widths []int
	header bool
}

func newTablePrinter(w io.Writer, rules []*correlator.Rule) *tablePrinter {
	rule := len("RULE")
	for _, r := range rules {
		rule = max(rule, len(r.Name))
	}
	// TIME, SEVERITY, RULE, HOST, REMOTE PEER, PARENT, PARENT ENTITY ID;
	// the command line takes the rest.
	return &tablePrinter{w: w, widths: []int{24, 8, min(rule, 48), 24, 21, 12, 38}}
}

func (p *tablePrinter) Name() string { return "table" }
func (p *tablePrinter) Close() error { return nil }
func (p *tablePrinter) Send(_ context.Context, a *event.Alert) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	if !p.header {
		p.row(&b, tableHeader)
	}
	p.row(&b, alertRow(a))
	// One write per alert: stdout is not buffered, so the row is out now.
	if _, err := io.WriteString(p.w, b.String()); err != nil {
		return err
	}
	p.header = true
	return nil
}

func (p *tablePrinter) row(b *strings.Builder, cols []string) {
	for i, c := range cols {
		b.WriteString(c)
		if i == len(cols)-1 {
			break
		}
		for n := utf8.RuneCountInString(c); n < p.widths[i]; n++ {
			b.WriteByte(' ')
		}
		b.WriteString("  ")
	}
	b.WriteByte('\n')
}

var tableHeader = []string{"TIME", "SEVERITY", "RULE", "HOST", "REMOTE PEER", "PARENT", "PARENT ENTITY ID", "COMMAND LINE"}

// alertRow is an alert's cells in the table, in tableHeader's order.
func alertRow(a *event.Alert) []string {
	s := sinks.Summarize(a)
	return []string{a.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"), a.Rule.Severity, cell(a.Rule.Name), cell(s.Host),
		cell(s.Remote.String()), cell(s.Parent.Name), cell(s.Parent.EntityID), cell(s.Process.CommandLine)}
}

// alertPrinter gathers alerts and prints them as a table once all are in,
// sorted by time (--sort), so the columns line up.
type alertPrinter struct {
	mu     sync.Mutex
	alerts []event.Alert
}

func (p *alertPrinter) Name() string { return "table" }
func (p *alertPrinter) Close() error { return nil }
func (p *alertPrinter) Send(_ context.Context, a *event.Alert) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.alerts = append(p.alerts, *a)
	return nil
}

func (p *alertPrinter) print(w io.Writer, terminal bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.alerts) == 0 {
		if terminal {
			_, err := fmt.Fprintln(w, "no alerts")
			return err
		}
		return nil
	}
	sort.SliceStable(p.alerts, func(i, j int) bool {
		if !p.alerts[i].Timestamp.Equal(p.alerts[j].Timestamp) {
			return p.alerts[i].Timestamp.Before(p.alerts[j].Timestamp)
		}
		return p.alerts[i].Event.ID < p.alerts[j].Event.ID
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(tableHeader, "\t"))
	for i := range p.alerts {
		fmt.Fprintln(tw, strings.Join(alertRow(&p.alerts[i]), "\t"))
	}
	return tw.Flush()
}

// cell keeps a value on one table row: event data may hold tabs and
// newlines, and control characters must not reach a terminal. C1 and bidi
// controls and the line separators (a CSI, U+0085, U+202E) are shown by
// their code points, as the sinks show them.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		case event.Invisible(r):
			b.WriteString(sinks.ShowInvisible(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
