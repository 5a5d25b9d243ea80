package correlator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/weft-dev/weft/correlator/eql"
	"github.com/weft-dev/weft/correlator/sigma"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/internal/confkey"
)

// Sigma rules load beside Elastic's TOML rules: a .yml or .yaml file is a
// Sigma file, its detection compiled by correlator/sigma onto the same EQL
// program, so that the engine runs both kinds alike.

// DefaultSigmaStatuses are the statuses of the Sigma rules loaded when
// LoadOptions.Statuses is empty: deprecated and unsupported rules are not.
var DefaultSigmaStatuses = []string{"stable", "test", "experimental"}

// sigmaLevels orders Sigma's levels.
var sigmaLevels = []string{"informational", "low", "medium", "high", "critical"}

// LoadOptions choose which Sigma rules load and how they compile.
type LoadOptions struct {
	// Statuses are the Sigma statuses to load (empty: DefaultSigmaStatuses).
	// A rule without a status counts as experimental.
	Statuses []string
	// MinLevel is the lowest Sigma level to load (empty: all).
	MinLevel string
	// Sigma tunes the compilation (log sources, placeholders).
	Sigma sigma.Options
}

// Validate checks the statuses and level, each problem with its key in
// weft.yaml's rules.sigma section (confkey).
func (o LoadOptions) Validate() error {
	var errs []error
	for i, s := range o.Statuses {
		if !slices.Contains([]string{"stable", "test", "experimental", "deprecated", "unsupported"}, s) {
			errs = append(errs, confkey.Errorf(fmt.Sprintf("status[%d]", i), "sigma status %q is not stable, test, experimental, deprecated or unsupported", s))
		}
	}
	if o.MinLevel != "" && !slices.Contains(sigmaLevels, o.MinLevel) {
		errs = append(errs, confkey.Errorf("level", "sigma level %q is not informational, low, medium, high or critical", o.MinLevel))
	}
	return errors.Join(errs...)
}

// selects reports whether the options choose the rule, and if not why.
func (o LoadOptions) selects(status, level string) (bool, string) {
	statuses := o.Statuses
	if len(statuses) == 0 {
		statuses = DefaultSigmaStatuses
	}
	if status == "" {
		status = "experimental"
	}
	if !slices.Contains(statuses, status) {
		return false, "status " + status + " is not selected"
	}
	if o.MinLevel != "" && slices.Index(sigmaLevels, level) < slices.Index(sigmaLevels, o.MinLevel) {
		return false, "level " + level + " is below " + o.MinLevel
	}
	return true, ""
}

// IsSigmaFile reports whether a rule file is read as Sigma YAML.
func IsSigmaFile(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yml" || ext == ".yaml"
}

// sigmaSet gathers the Sigma documents of several files, so that global
// filters and correlations apply across files.
type sigmaSet struct {
	rules        []sigmaEntry
	filters      []*sigma.Filter
	correlations []sigmaCorrelation
}

type sigmaEntry struct {
	path string
	rule *sigma.Rule
}

type sigmaCorrelation struct {
	path string
	c    *sigma.Correlation
}

func (s *sigmaSet) add(path string, data []byte) error {
	f, err := sigma.Parse(data)
	if err != nil {
		return sigmaError(path, err)
	}
	for _, r := range f.Rules {
		s.rules = append(s.rules, sigmaEntry{path: path, rule: r})
	}
	for _, c := range f.Correlations {
		s.correlations = append(s.correlations, sigmaCorrelation{path: path, c: c})
	}
	s.filters = append(s.filters, f.Filters...)
	return nil
}

func sigmaError(path string, err error) error {
	var se *sigma.Error
	if errors.As(err, &se) {
		return &RuleError{Path: path, Line: se.Line, Err: errors.New(se.Msg)}
	}
	return &RuleError{Path: path, Err: err}
}

// compile applies the filters, compiles the selected correlations and
// then the selected rules, except those a correlation uses without
// "generate: true"; skipped rules are reported through skip.
//
// The programs of the rules it returns are compiled with cache when it is
// not nil (see compileQuery).
func (s *sigmaSet) compile(opts LoadOptions, cache *eql.FieldCache, skip func(path string, r *sigma.Rule, why string)) ([]*Rule, []error) {
	var out []*Rule
	var errs []error
	byRef := map[string]sigma.Ref{}
	for _, e := range s.rules {
		for _, f := range s.filters {
			if f.AppliesTo(e.rule) {
				if err := f.Apply(e.rule); err != nil {
					errs = append(errs, &RuleError{Path: e.path, Line: e.rule.Line, Err: err})
				}
			}
		}
		if e.rule.ID != "" {
			byRef[e.rule.ID] = sigma.Ref{Rule: e.rule}
		}
		if e.rule.Name != "" {
			byRef[e.rule.Name] = sigma.Ref{Rule: e.rule}
		}
	}
	for _, e := range s.correlations {
		if e.c.ID != "" {
			byRef[e.c.ID] = sigma.Ref{Correlation: e.c}
		}
		if e.c.Name != "" {
			byRef[e.c.Name] = sigma.Ref{Correlation: e.c}
		}
	}
	lookup := func(ref string) sigma.Ref { return byRef[ref] }
	// The rules and correlations a correlation uses are its parts, not
	// rules of their own (whether or not the correlation itself is
	// selected): they alert on their own only when a correlation that
	// uses them says "generate: true".
	used := map[any]bool{}
	generated := map[any]bool{}
	for _, e := range s.correlations {
		for _, ref := range e.c.Rules {
			var part any
			switch r := byRef[ref]; {
			case r.Rule != nil:
				part = r.Rule
			case r.Correlation != nil:
				part = r.Correlation
			default:
				continue
			}
			if e.c.Generate {
				generated[part] = true
			} else {
				used[part] = true
			}
		}
	}
	for k := range generated {
		delete(used, k)
	}
	for _, e := range s.correlations {
		if ok, _ := opts.selects(e.c.Status, e.c.Level); !ok {
			continue
		}
		// Compiled even when used, so that what is wrong with it is said
		// where it is written.
		var own *eql.FieldCache
		if !used[e.c] {
			own = cache
		}
		r, _, err := sigmaCorrelationRule(e.c, lookup, opts.Sigma, own)
		if err != nil {
			errs = append(errs, &RuleError{Path: e.path, Line: e.c.Line, Err: err})
			continue
		}
		if !used[e.c] {
			r.Path = e.path
			out = append(out, r)
		}
	}
	for _, e := range s.rules {
		if used[e.rule] {
			continue
		}
		if ok, why := opts.selects(e.rule.Status, e.rule.Level); !ok {
			if skip != nil {
				skip(e.path, e.rule, why)
			}
			continue
		}
		r, err := sigmaRule(e.rule, opts.Sigma, cache)
		if err != nil {
			errs = append(errs, &RuleError{Path: e.path, Line: e.rule.Line, Err: err})
			continue
		}
		r.Path = e.path
		out = append(out, r)
	}
	return out, errs
}

// SigmaCorrelationRule compiles a Sigma correlation (sigma.Correlation.Plan)
// into a Rule the engine runs (sigmacorr.go) over the rules and
// correlations it refers to, which lookup finds by id or name. The rule's
// program is its filters: one stage per base rule it reads documents
// through. It returns the plan too.
func SigmaCorrelationRule(c *sigma.Correlation, lookup func(string) sigma.Ref, opts sigma.Options) (*Rule, *sigma.Plan, error) {
	return sigmaCorrelationRule(c, lookup, opts, nil)
}

func sigmaCorrelationRule(c *sigma.Correlation, lookup func(string) sigma.Ref, opts sigma.Options, cache *eql.FieldCache) (*Rule, *sigma.Plan, error) {
	if c.ID == "" {
		return nil, nil, fmt.Errorf("sigma correlation %q has no id", c.Title)
	}
	plan, err := c.Plan(lookup, opts)
	if err != nil {
		return nil, nil, err
	}
	leaves := plan.Leaves()
	if len(leaves) > eql.MaxStages {
		return nil, nil, fmt.Errorf("correlation %q reads %d rules, more than %d", c.Title, len(leaves), eql.MaxStages)
	}
	filters := &eql.SequenceQuery{}
	for _, sr := range leaves {
		where, err := sr.Where(opts)
		if err != nil {
			return nil, nil, fmt.Errorf("rule %q: %w", sr.Title, err)
		}
		filters.Stages = append(filters.Stages, &eql.Stage{Query: eql.EventQuery{Where: where}, Runs: 1})
	}
	q := &eql.Query{Source: plan.String(), Sequence: filters}
	prog, err := compileQuery(q, cache)
	if err != nil {
		return nil, nil, err
	}
	cp, err := compileCorrelation(plan, leaves)
	if err != nil {
		return nil, nil, err
	}
	level := c.Level
	if level == "" {
		level = "medium"
	}
	r := &Rule{
		ID: c.ID, Name: c.Title, Description: c.Description, References: c.References,
		Severity: level, RiskScore: sigmaRisk(level), Tags: c.Tags, Type: "sigma", Language: "sigma",
		Query: q.Source, Note: falsePositivesNote(c.FalsePositives), Threat: sigmaThreat(c.Tags),
		MaxSignals: DefaultMaxSignals, Version: DefaultVersion, Author: splitAuthors(c.Author),
		Metadata: Metadata{Maturity: c.Status},
		program:  prog,
		corr:     cp,
	}
	r.Sigma = &SigmaInfo{LogSource: "correlation " + c.Type, Level: c.Level, Status: c.Status, FalsePositives: c.FalsePositives, Correlation: c.Type}
	for _, sr := range leaves {
		srcs, err := sr.Sources(opts)
		if err != nil {
			return nil, nil, err
		}
		keys := sigmaKeys(srcs)
		if keys == nil {
			// Some rule reads every event: so does the correlation.
			r.Sigma.keys = nil
			break
		}
		r.Sigma.keys = append(r.Sigma.keys, keys...)
	}
	return r, plan, nil
}

func splitAuthors(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// SigmaRule compiles a Sigma rule into a Rule the engine runs: its
// detection becomes the rule's EQL program, its metadata the alert's.
// Sigma has no max_signals: every matching event raises an alert.
func SigmaRule(sr *sigma.Rule, opts sigma.Options) (*Rule, error) {
	return sigmaRule(sr, opts, nil)
}

// compileQuery compiles a rule's query, with cache when it is not nil: an
// engine that takes the cache (Compile) then runs the program as it is
// instead of compiling the query again, the costlier half of loading
// SigmaHQ's rules.
func compileQuery(q *eql.Query, cache *eql.FieldCache) (*eql.Program, error) {
	if cache == nil {
		return eql.Compile(q)
	}
	return eql.CompileCached(q, cache)
}

func sigmaRule(sr *sigma.Rule, opts sigma.Options, cache *eql.FieldCache) (*Rule, error) {
	if sr.ID == "" {
		return nil, fmt.Errorf("sigma rule %q has no id", sr.Title)
	}
	q, err := sr.Query(opts)
	if err != nil {
		return nil, err
	}
	prog, err := compileQuery(q, cache)
	if err != nil {
		return nil, err
	}
	level := sr.Level
	if level == "" {
		level = "medium"
	}
	r := &Rule{
		ID: sr.ID, Name: sr.Title, Description: sr.Description, References: sr.References,
		Severity: level, RiskScore: sigmaRisk(level), Tags: sr.Tags, Type: "sigma", Language: "sigma",
		Query: q.Source, Note: falsePositivesNote(sr.FalsePositives), Threat: sigmaThreat(sr.Tags),
		MaxSignals: DefaultMaxSignals, Version: DefaultVersion,
		Metadata: Metadata{CreationDate: sr.Date, UpdatedDate: sr.Modified, Maturity: sr.Status},
		program:  prog,
	}
	r.Author = splitAuthors(sr.Author)
	r.Sigma = &SigmaInfo{LogSource: sr.LogSource.String(), Level: sr.Level, Status: sr.Status, FalsePositives: sr.FalsePositives}
	srcs, err := sr.Sources(opts)
	if err != nil {
		return nil, err
	}
	r.Sigma.keys = sigmaKeys(srcs)
	return r, nil
}

// SigmaInfo is what a Rule compiled from Sigma keeps of its source.
type SigmaInfo struct {
	LogSource      string
	Level, Status  string
	FalsePositives []string
	// Correlation is a correlation's type (event_count, value_count,
	// temporal, temporal_ordered); empty for a rule.
	Correlation string
	keys        []string // channel and event ID index keys (sigmaIndex)
}

func sigmaRisk(level string) float64 {
	switch level {
	case "informational":
		return 0
	case "low":
		return 21
	case "high":
		return 73
	case "critical":
		return 99
	}
	return 47
}

func falsePositivesNote(fps []string) string {
	if len(fps) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("False positives:\n")
	for _, f := range fps {
		b.WriteString("- " + f + "\n")
	}
	return b.String()
}

// attackTactics are ATT&CK's enterprise tactics by their Sigma tag.
var attackTactics = map[string]event.ThreatRef{
	"reconnaissance":       {ID: "TA0043", Name: "Reconnaissance"},
	"resource-development": {ID: "TA0042", Name: "Resource Development"},
	"initial-access":       {ID: "TA0001", Name: "Initial Access"},
	"execution":            {ID: "TA0002", Name: "Execution"},
	"persistence":          {ID: "TA0003", Name: "Persistence"},
	"privilege-escalation": {ID: "TA0004", Name: "Privilege Escalation"},
	"defense-evasion":      {ID: "TA0005", Name: "Defense Evasion"},
	"credential-access":    {ID: "TA0006", Name: "Credential Access"},
	"discovery":            {ID: "TA0007", Name: "Discovery"},
	"lateral-movement":     {ID: "TA0008", Name: "Lateral Movement"},
	"collection":           {ID: "TA0009", Name: "Collection"},
	"exfiltration":         {ID: "TA0010", Name: "Exfiltration"},
	"command-and-control":  {ID: "TA0011", Name: "Command and Control"},
	"impact":               {ID: "TA0040", Name: "Impact"},
}

var techniqueTag = regexp.MustCompile(`^t(\d{4})(?:\.(\d{3}))?$`)

// sigmaThreat turns ATT&CK tags (attack.execution, attack.t1059.001) into
// threat.* entries: one per tactic, each with the rule's techniques, since
// Sigma does not say which technique goes with which tactic.
func sigmaThreat(tags []string) []event.Threat {
	var tactics []event.ThreatRef
	var techs []event.ThreatTechnique
	for _, tag := range tags {
		t, ok := strings.CutPrefix(strings.ToLower(tag), "attack.")
		if !ok {
			continue
		}
		if ref, ok := attackTactics[t]; ok {
			ref.Reference = "https://attack.mitre.org/tactics/" + ref.ID + "/"
			tactics = append(tactics, ref)
			continue
		}
		m := techniqueTag.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		id := "T" + m[1]
		var tech *event.ThreatTechnique
		for i := range techs {
			if techs[i].ID == id {
				tech = &techs[i]
			}
		}
		if tech == nil {
			techs = append(techs, event.ThreatTechnique{ThreatRef: event.ThreatRef{ID: id, Name: id, Reference: "https://attack.mitre.org/techniques/" + id + "/"}})
			tech = &techs[len(techs)-1]
		}
		if m[2] != "" {
			sub := id + "." + m[2]
			tech.Subtechnique = append(tech.Subtechnique, event.ThreatRef{ID: sub, Name: sub, Reference: "https://attack.mitre.org/techniques/" + id + "/" + m[2] + "/"})
		}
	}
	if len(tactics) == 0 && len(techs) == 0 {
		return nil
	}
	if len(tactics) == 0 {
		return []event.Threat{{Framework: "MITRE ATT&CK", Technique: techs}}
	}
	out := make([]event.Threat, 0, len(tactics))
	for _, t := range tactics {
		out = append(out, event.Threat{Framework: "MITRE ATT&CK", Tactic: t, Technique: techs})
	}
	return out
}

// LoadRulesWith is LoadRules with the choice of Sigma rules: folders may mix
// Elastic TOML rules and Sigma YAML files; global Sigma filters apply to
// the rules they name in any of the files.
func LoadRulesWith(ctx context.Context, opts LoadOptions, paths ...string) ([]*Rule, []error) {
	if err := opts.Validate(); err != nil {
		return nil, []error{err}
	}
	files, errs := RuleFiles(paths...)
	var rules []*Rule
	set := &sigmaSet{}
	if opts.Sigma.LogSources == nil {
		// One table for every rule, not one built per rule and call.
		opts.Sigma.LogSources = sigma.WindowsLogSources()
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("loading rules: %w", err))
			break
		}
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, &RuleError{Path: f, Err: err})
			continue
		}
		if IsSigmaFile(f) {
			if err := set.add(f, data); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		r, err := ParseRule(f, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rules = append(rules, r)
	}
	// The Sigma rules share one field cache, which the first engine given
	// exactly them takes (Compile).
	sr, serrs := set.compile(opts, eql.NewFieldCache(), nil)
	errs = append(errs, serrs...)
	rules = append(rules, sr...)
	// A rule id seen twice is an error for the later file.
	seen := map[string]string{}
	out := rules[:0]
	for _, r := range rules {
		if prev, dup := seen[r.ID]; dup {
			errs = append(errs, &RuleError{Path: r.Path, Err: fmt.Errorf("rule_id %s is also defined in %s", r.ID, prev)})
			continue
		}
		seen[r.ID] = r.Path
		out = append(out, r)
	}
	return out, errs
}

// CheckSigmaFile checks a Sigma file as LoadRulesWith loads it, one
// RuleCheck per rule (or one for the file when it does not parse). A rule
// that the options do not select loads nothing and says why in Skipped.
func CheckSigmaFile(path string, data []byte, opts LoadOptions) []RuleCheck {
	return CheckSigmaFiles([]SigmaFile{{Path: path, Data: data}}, opts)
}

// SigmaFile is a Sigma file's path and content.
type SigmaFile struct {
	Path string
	Data []byte
}

// CheckSigmaFiles checks Sigma files together, as LoadRulesWith loads
// them: a correlation may use the rules and correlations of any of them.
// The checks come file by file, in the files' order.
func CheckSigmaFiles(files []SigmaFile, opts LoadOptions) []RuleCheck {
	set := &sigmaSet{}
	if opts.Sigma.LogSources == nil {
		opts.Sigma.LogSources = sigma.WindowsLogSources()
	}
	bad := map[string]error{}
	for _, f := range files {
		if err := set.add(f.Path, f.Data); err != nil {
			bad[f.Path] = err
		}
	}
	var out []RuleCheck
	for _, f := range files {
		if err := bad[f.Path]; err != nil {
			out = append(out, RuleCheck{Path: f.Path, Err: err})
			continue
		}
		out = append(out, set.check(f.Path, opts)...)
	}
	return out
}

// check checks the rules and correlations of one file of the set.
func (s *sigmaSet) check(path string, opts LoadOptions) []RuleCheck {
	var out []RuleCheck
	for _, e := range s.rules {
		if e.path != path {
			continue
		}
		c := RuleCheck{Path: path, RuleID: e.rule.ID, Name: e.rule.Title}
		if ok, why := opts.selects(e.rule.Status, e.rule.Level); !ok {
			c.Skipped = why
		}
		r, err := SigmaRule(e.rule, opts.Sigma)
		if err != nil {
			c.Err = &RuleError{Path: path, Line: e.rule.Line, Err: err}
		} else {
			c.Rule, c.Fields = r, r.Program().Query().Fields()
		}
		out = append(out, c)
	}
	for _, e := range s.correlations {
		if e.path != path {
			continue
		}
		c := RuleCheck{Path: path, RuleID: e.c.ID, Name: e.c.Title}
		if ok, why := opts.selects(e.c.Status, e.c.Level); !ok {
			c.Skipped = why
		}
		r, _, err := SigmaCorrelationRule(e.c, s.lookup, opts.Sigma)
		if err != nil {
			c.Err = &RuleError{Path: path, Line: e.c.Line, Err: err}
		} else {
			c.Rule, c.Fields = r, r.Program().Query().Fields()
		}
		out = append(out, c)
	}
	return out
}

// lookup finds a rule or correlation of the set by id or name.
func (s *sigmaSet) lookup(ref string) sigma.Ref {
	for _, e := range s.rules {
		if e.rule.ID == ref || (e.rule.Name != "" && e.rule.Name == ref) {
			return sigma.Ref{Rule: e.rule}
		}
	}
	for _, e := range s.correlations {
		if e.c.ID == ref || (e.c.Name != "" && e.c.Name == ref) {
			return sigma.Ref{Correlation: e.c}
		}
	}
	return sigma.Ref{}
}

// HasSigma reports whether some rule was compiled from Sigma: its
// documents then need the raw fields (normalizer.Options.RawFields).
func HasSigma(rules []*Rule) bool {
	for _, r := range rules {
		if r.Sigma != nil {
			return true
		}
	}
	return false
}

// ruleset names the rule's origin in alerts (rule.ruleset): "sigma" for a
// Sigma rule, empty for Elastic's.
func (r *Rule) ruleset() string {
	if r.Sigma != nil {
		return "sigma"
	}
	return ""
}

// sigmaIndex finds the Sigma rules that can match a document by its
// channel and event ID (weft.system), so that the cost of a document does
// not grow with the Sigma rules of other channels: SigmaHQ's 2,400 Windows
// rules spread over some fifty channel and event ID pairs. Its zero value
// is empty.
type sigmaIndex struct {
	byKey            map[string][]int // "channel\x00eventID" or "channel\x00*" → rules
	channel, eventID *eql.Expression
	key              []byte
}

// add indexes the rule when it is a Sigma rule with channels; it reports
// whether it did (other rules are indexed by event category).
func (x *sigmaIndex) add(r *Rule, idx int) bool {
	if r.Sigma == nil || len(r.Sigma.keys) == 0 {
		return false
	}
	if x.byKey == nil {
		x.byKey = map[string][]int{}
		// Constant field names: these cannot fail.
		x.channel, _ = eql.CompileField(sigma.SystemPath + ".Channel")
		x.eventID, _ = eql.CompileField(sigma.SystemPath + ".EventID")
	}
	for _, k := range r.Sigma.keys {
		x.byKey[k] = append(x.byKey[k], idx)
	}
	return true
}

// candidates passes the rules indexed under the document's channel, with
// its event ID and with any, to add.
func (x *sigmaIndex) candidates(d event.Document, add func([]int)) {
	if x.byKey == nil {
		return
	}
	ch, ok := x.channel.EvalString(d)
	if !ok {
		return
	}
	id, _ := x.eventID.EvalString(d)
	x.key = appendLower(x.key[:0], ch)
	x.key = append(x.key, 0)
	n := len(x.key)
	add(x.byKey[string(append(x.key, id...))])
	add(x.byKey[string(append(x.key[:n], '*'))])
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// sigmaKeys lists the index keys of a rule's sources; nil when some source
// is not limited to channels (the rule is then tried on every document).
func sigmaKeys(srcs []sigma.Source) []string {
	var keys []string
	for _, s := range srcs {
		if len(s.Channels) == 0 {
			return nil
		}
		for _, c := range s.Channels {
			base := string(appendLower(nil, c)) + "\x00"
			if len(s.EventIDs) == 0 {
				keys = append(keys, base+"*")
				continue
			}
			for _, id := range s.EventIDs {
				keys = append(keys, base+strconv.Itoa(id))
			}
		}
	}
	return keys
}
