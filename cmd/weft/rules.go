package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/correlator"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/normalizer"
)

type rulesFlags struct {
	rules  []string
	noSeed bool
	json   bool
	strict bool
}

func (a *app) rulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List, check and try detection rules",
		Long: `rules works with Elastic detection-rules TOML files: list the rules weft
would run, check rule files (does each parse, which fields does it read that
weft never produces), and try one rule over event files.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.rulesListCmd(), a.rulesCheckCmd(), a.rulesTestCmd())
	return cmd
}

func (a *app) rulesListCmd() *cobra.Command {
	var f rulesFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the rules weft would run: the built-in seed rule and --rules files",
		Long: `list prints the rules weft would run with the same --rules and --no-seed:
id, severity, type (eql), query kind (event, sequence or sample) and name; with
--json one object per rule per line. Rule files that do not load are logged
on stderr and left out, as hunt and run leave them out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rules, err := a.loadRules(cmd.Context(), !f.noSeed, f.rules)
			if err != nil {
				return err
			}
			return printRuleList(a.stdout, rules, f.json)
		},
	}
	cmd.Flags().StringSliceVar(&f.rules, "rules", nil, "rule files or folders (Elastic detection-rules TOML, Sigma YAML); repeatable")
	cmd.Flags().BoolVar(&f.noSeed, "no-seed", false, "leave out the built-in seed rule")
	a.sigmaFlags(cmd.Flags())
	cmd.Flags().BoolVar(&f.json, "json", false, "one JSON object per rule per line")
	return cmd
}

func queryKind(r *correlator.Rule) string {
	switch p := r.Program(); {
	case r.Sigma != nil && r.Sigma.Correlation != "":
		// A Sigma correlation: its type (event_count, value_count,
		// temporal, temporal_ordered).
		return r.Sigma.Correlation
	case p.IsSequence():
		return "sequence"
	case p.IsSample():
		return "sample"
	}
	return "event"
}

func printRuleList(w io.Writer, rules []*correlator.Rule, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, r := range rules {
			if err := enc.Encode(map[string]string{
				"id": r.ID, "name": r.Name, "severity": r.Severity, "type": r.Type, "query_type": queryKind(r), "file": r.Path,
			}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tTYPE\tQUERY\tNAME")
	for _, r := range rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Severity, r.Type, queryKind(r), cell(r.Name))
	}
	return tw.Flush()
}

func (a *app) rulesCheckCmd() *cobra.Command {
	var f rulesFlags
	cmd := &cobra.Command{
		Use:   "check PATH...",
		Short: "Check rule files: whether each parses, and whether it can fire on weft's documents",
		Long: `check reads every rule file named (a folder stands for its *.toml files,
recursively) and reports, per rule, whether it parses and why not — with the
file, line and column — and whether it can fire on the documents weft
produces:

  yes        every stage can match, reading only fields weft sets;
  partially  it can match, but an or-branch or an exclusion reads a field weft
             never sets there (that branch never matches, the exclusion never
             applies);
  no         some stage can never match: its event category, an event.action
             or a field it needs is not in any document it can see.

A rule sees the channels its index patterns name (winlogbeat-* and
logs-windows.forwarded* every channel, logs-windows.sysmon_operational*
Sysmon, logs-system.security* Security, logs-system.system* System,
logs-windows.powershell* the PowerShell logs); a rule whose index names only
other products' data (Elastic Defend's logs-endpoint.events.*, endgame-*...)
is judged against every channel, since weft runs every rule over every
document. What each channel's documents hold comes from the normalizer.

With --json, one object per rule per line: file, rule_id, parses, error,
unproduced_fields (fields no document of weft's ever holds), can_fire, reason,
channels (where some stage can match). A summary goes to stderr.

Exit codes: 0 the check ran, whatever it found; 1 no rule file; 2 bad command
line; 3 --strict and some rule does not parse.`,
		Example: `  weft rules check my-rules/
  weft rules check --json ../detection-rules/rules/windows/ | jq 'select(.parses | not)'
  weft rules check --json ../detection-rules/rules/windows/ | jq -r 'select(.can_fire == "no") | .reason'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.rulesCheck(cmd.Context(), f, args)
		},
	}
	cmd.Flags().BoolVar(&f.json, "json", false, "one JSON object per rule per line")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "exit 3 when a rule does not parse")
	a.sigmaFlags(cmd.Flags())
	return cmd
}

// ruleReport is one line of rules check --json.
type ruleReport struct {
	File             string   `json:"file"`
	RuleID           string   `json:"rule_id"`
	Parses           bool     `json:"parses"`
	Error            string   `json:"error"`
	UnproducedFields []string `json:"unproduced_fields"`
	// Lacks names the log source or modifier a Sigma rule needs that weft
	// does not support; Skipped why a Sigma rule that compiles is not run
	// (its status or level).
	Lacks   string `json:"lacks,omitempty"`
	Skipped string `json:"skipped,omitempty"`
	// CanFire is yes, partially or no (rulereach.go), for a rule that
	// loads; Reason why not or only partially; Channels where some stage
	// can match.
	CanFire  string   `json:"can_fire,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Channels []string `json:"channels,omitempty"`
}

func (a *app) rulesCheck(ctx context.Context, f rulesFlags, paths []string) error {
	files, errs := correlator.RuleFiles(paths...)
	for _, err := range errs {
		a.log.Warn().Err(err).Msg("skipped")
	}
	if len(files) == 0 {
		return fmt.Errorf("no rule file in %s", strings.Join(paths, " "))
	}
	produced := producedFields(append(slices.Clone(normalizer.Fields()), "weft.event_data.*", "weft.system.*"))
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	var parsed, failed, blind int
	reach, fires := newReachChecker(), map[string]int{}
	for _, c := range a.ruleChecks(files) {
		if err := ctx.Err(); err != nil {
			return err
		}
		file := c.Path
		rep := ruleReport{File: file, UnproducedFields: []string{}, Lacks: sigmaLacks(c.Err), Skipped: c.Skipped}
		rep.RuleID, rep.Parses = c.RuleID, c.Err == nil
		if c.Err != nil {
			rep.Error = c.Err.Error()
			failed++
		} else {
			parsed++
		}
		for _, field := range c.Fields {
			if !produced.has(field) {
				rep.UnproducedFields = append(rep.UnproducedFields, field)
			}
		}
		if len(rep.UnproducedFields) > 0 {
			blind++
		}
		if c.Rule != nil {
			r := reach.judge(c.Rule)
			rep.CanFire, rep.Reason, rep.Channels = r.CanFire, r.Reason, r.Channels
			fires[r.CanFire]++
		}
		if f.json {
			if err := enc.Encode(rep); err != nil {
				return err
			}
			continue
		}
		switch {
		case rep.Parses:
			fmt.Fprintf(a.stdout, "ok    %s  %s\n", file, cell(c.Name))
		default:
			fmt.Fprintf(a.stdout, "FAIL  %s\n", cell(rep.Error))
		}
		if len(rep.UnproducedFields) > 0 {
			fmt.Fprintf(a.stdout, "      reads fields weft never produces: %s\n", strings.Join(rep.UnproducedFields, ", "))
		}
		switch rep.CanFire {
		case reachNo:
			fmt.Fprintf(a.stdout, "      cannot fire: %s\n", cell(rep.Reason))
		case reachPartial:
			fmt.Fprintf(a.stdout, "      fires only partially: %s\n", cell(rep.Reason))
		}
	}
	total := parsed + failed
	fmt.Fprintf(a.stderr, "weft rules check: %s, %d parse (%.1f%%), %d do not; %d can fire (%d fully, %d partially), %d cannot; %s read fields weft never produces\n",
		plural(total, "rule"), parsed, 100*float64(parsed)/float64(total), failed, fires[reachYes]+fires[reachPartial],
		fires[reachYes], fires[reachPartial], fires[reachNo], plural(blind, "rule"))
	if f.strict && failed > 0 {
		return &exitError{code: exitStrict, err: fmt.Errorf("--strict: %s do not parse", plural(failed, "rule"))}
	}
	return nil
}

// fieldSet is the normalizer's fields; a name ending in ".*" covers every
// field under it.
type fieldSet struct {
	exact    map[string]bool
	prefixes []string
}

func producedFields(fields []string) fieldSet {
	s := fieldSet{exact: map[string]bool{}}
	for _, f := range fields {
		if p, ok := strings.CutSuffix(f, "*"); ok {
			s.prefixes = append(s.prefixes, p)
			continue
		}
		s.exact[f] = true
	}
	return s
}

func (s fieldSet) has(field string) bool {
	if s.exact[field] {
		return true
	}
	for _, p := range s.prefixes {
		if strings.HasPrefix(field, p) {
			return true
		}
	}
	return false
}

func (a *app) rulesTestCmd() *cobra.Command {
	var f rulesFlags
	cmd := &cobra.Command{
		Use:   "test RULE PATH...",
		Short: "Run one rule over EVTX, XML or NDJSON files and print its alerts",
		Long: `test runs a single rule — named by its rule_id, its name, or the path of its
rule file — over EVTX files, rendered XML or NDJSON documents (as weft eql
reads them), exactly as hunt would run it, and prints its alerts: a table, or
with --json one alert per line. The rule is looked up among the built-in seed
rule and --rules files. A summary goes to stderr.

Exit codes: 0 the run reached its end, with or without alerts; 1 the rule does
not load or no input is readable; 2 bad command line or no such rule; 3
--strict and some input had to be skipped.`,
		Example: `  weft rules test 51ce96fb-9e52-4dad-b0ba-99b54440fc9a testdata/xml/mmc-positive.xml
  weft rules test --json my-rules/new_rule.toml docs.ndjson`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.rulesTest(cmd.Context(), f, args[0], args[1:])
		},
	}
	cmd.Flags().StringSliceVar(&f.rules, "rules", nil, "rule files or folders to look the rule up in; repeatable")
	a.sigmaFlags(cmd.Flags())
	cmd.Flags().BoolVar(&f.json, "json", false, "one alert JSON object per line on stdout, nothing else")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "exit 3 when any input had to be skipped")
	return cmd
}

// findRule resolves RULE: a rule file, else a rule_id or a name (case
// does not matter for names) among the seed rule and --rules.
func (a *app) findRule(ctx context.Context, name string, paths []string) (*correlator.Rule, error) {
	if info, err := os.Stat(name); err == nil && !info.IsDir() {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if correlator.IsSigmaFile(name) {
			return a.sigmaFileRule(ctx, name)
		}
		return correlator.ParseRule(name, data)
	}
	rules, err := a.loadRules(ctx, true, paths)
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(rules, func(r *correlator.Rule) bool { return r.ID == name }); i >= 0 {
		return rules[i], nil
	}
	if i := slices.IndexFunc(rules, func(r *correlator.Rule) bool { return strings.EqualFold(r.Name, name) }); i >= 0 {
		return rules[i], nil
	}
	return nil, usageError("no rule file, rule_id or rule name %q (see weft rules list)", name)
}

func (a *app) rulesTest(ctx context.Context, f rulesFlags, name string, paths []string) error {
	rule, err := a.findRule(ctx, name, f.rules)
	if err != nil {
		return err
	}
	engine, err := correlator.Compile([]*correlator.Rule{rule}, correlator.Options{Lateness: correlator.Batch, Log: a.log})
	if err != nil {
		return err
	}
	src := &docSource{stdin: a.stdin, report: a.skipped("skipped input")}
	src.rawFields = rule.Sigma != nil
	var alerts []event.Alert
	if err := src.read(ctx, paths, func(d event.Document) error {
		alerts = append(alerts, engine.Process(d)...)
		return nil
	}); err != nil {
		return err
	}
	alerts = append(alerts, engine.Flush()...)
	if f.json {
		enc := json.NewEncoder(a.stdout)
		enc.SetEscapeHTML(false)
		for i := range alerts {
			if err := enc.Encode(&alerts[i]); err != nil {
				return err
			}
		}
	} else {
		p := &alertPrinter{alerts: alerts}
		if err := p.print(a.stdout, isTerminal(a.stdout)); err != nil {
			return err
		}
	}
	st := engine.Stats()
	fmt.Fprintf(a.stderr, "weft rules test: %s: %s, %s, %s, %s\n", rule.Name, plural(src.files, "file"),
		plural(src.events, "event"), plural(len(alerts), "alert"), plural(src.errors, "error"))
	if st.Suppressed > 0 {
		fmt.Fprintf(a.stderr, "weft rules test: %s suppressed by max_signals (%d per host and %s)\n",
			plural(int(st.Suppressed), "alert"), rule.MaxSignals, rule.Interval)
	}
	if f.strict && src.errors > 0 {
		return &exitError{code: exitStrict, err: errors.New("--strict: some input had to be skipped")}
	}
	return nil
}
