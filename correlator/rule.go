package correlator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/weft-dev/weft/correlator/eql"
	"github.com/weft-dev/weft/event"
)

// Defaults for rule fields the file may leave out, as Kibana applies them.
const (
	DefaultInterval   = 5 * time.Minute
	DefaultMaxSignals = 100
	DefaultVersion    = 1
)

// Rule is a detection rule in Elastic's detection-rules TOML layout, with its
// query compiled.
type Rule struct {
	ID          string // rule_id
	Name        string
	Description string
	Author      []string
	License     string
	References  []string
	Severity    string // low, medium, high or critical
	RiskScore   float64
	Tags        []string
	Type        string // eql
	Language    string // eql
	Index       []string
	From        string // look-back as Kibana's date math, e.g. now-9m
	Interval    time.Duration
	MaxSignals  int
	Version     int
	Query       string
	Note        string // investigation guide, Markdown
	Threat      []event.Threat
	Metadata    Metadata
	Path        string     // file the rule was read from; empty for in-memory rules
	Sigma       *SigmaInfo // set for a rule compiled from Sigma (sigmarules.go)

	program *eql.Program
	corr    *corrPlan // a Sigma correlation (sigmacorr.go); program is then its filters
}

// Metadata is the rule file's [metadata] table.
type Metadata struct {
	CreationDate string
	UpdatedDate  string
	Maturity     string
	Integration  []string
}

// Program returns the compiled query. LoadRulesWith compiles Sigma rules
// with a field cache the first engine of exactly those rules takes
// (Compile): such a program only matches documents in that engine; read
// the rest of it (Query, Categories, IsSequence ...) anywhere.
func (r *Rule) Program() *eql.Program { return r.program }

// EventRule is the rule's metadata in the alert's rule.* form.
func (r *Rule) EventRule() event.Rule {
	return event.Rule{
		ID:          r.ID,
		UUID:        r.ID,
		Name:        r.Name,
		Version:     strconv.Itoa(r.Version),
		Description: r.Description,
		Reference:   r.References,
		Author:      r.Author,
		License:     r.License,
		Severity:    r.Severity,
		Tags:        r.Tags,
		Note:        r.Note,
		Ruleset:     r.ruleset(),
	}
}

// RuleError is a rule file that could not be loaded, with the place of the
// problem in the file (Line and Column are 0 when unknown).
type RuleError struct {
	Path   string
	Line   int
	Column int
	Err    error
}

func (e *RuleError) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("%s:%d:%d: %v", e.Path, e.Line, e.Column, e.Err)
	case e.Path != "":
		return fmt.Sprintf("%s: %v", e.Path, e.Err)
	}
	return e.Err.Error()
}

func (e *RuleError) Unwrap() error { return e.Err }

// ruleFile mirrors the parts of the detection-rules layout weft uses; other
// tables ([transform], [rule.investigation_fields] ...) are ignored.
type ruleFile struct {
	Metadata struct {
		CreationDate string `toml:"creation_date"`
		UpdatedDate  string `toml:"updated_date"`
		Maturity     string `toml:"maturity"`
		Integration  any    `toml:"integration"`
	} `toml:"metadata"`
	Rule struct {
		Author      []string     `toml:"author"`
		Description string       `toml:"description"`
		From        string       `toml:"from"`
		Index       []string     `toml:"index"`
		Interval    string       `toml:"interval"`
		Language    string       `toml:"language"`
		License     string       `toml:"license"`
		MaxSignals  *int         `toml:"max_signals"`
		Name        string       `toml:"name"`
		Note        string       `toml:"note"`
		Query       string       `toml:"query"`
		References  []string     `toml:"references"`
		RiskScore   float64      `toml:"risk_score"`
		RuleID      string       `toml:"rule_id"`
		Severity    string       `toml:"severity"`
		Tags        []string     `toml:"tags"`
		Type        string       `toml:"type"`
		Version     *int         `toml:"version"`
		Threat      []tomlThreat `toml:"threat"`
	} `toml:"rule"`
}

type tomlThreat struct {
	Framework string          `toml:"framework"`
	Tactic    tomlRef         `toml:"tactic"`
	Technique []tomlTechnique `toml:"technique"`
}

type tomlRef struct {
	ID        string `toml:"id"`
	Name      string `toml:"name"`
	Reference string `toml:"reference"`
}

type tomlTechnique struct {
	ID           string    `toml:"id"`
	Name         string    `toml:"name"`
	Reference    string    `toml:"reference"`
	Subtechnique []tomlRef `toml:"subtechnique"`
}

func (t tomlRef) ref() event.ThreatRef {
	return event.ThreatRef{ID: t.ID, Name: t.Name, Reference: t.Reference}
}

// ParseRule reads one rule file's contents; path is used in errors only.
// The query is parsed and compiled: a rule that would not run is an error.
func ParseRule(path string, data []byte) (*Rule, error) {
	fail := func(line, col int, err error) error {
		return &RuleError{Path: path, Line: line, Column: col, Err: err}
	}
	var f ruleFile
	if err := toml.Unmarshal(data, &f); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			return nil, fail(line, col, errors.New(decodeMessage(de)))
		}
		return nil, fail(0, 0, err)
	}
	rr := f.Rule
	r := &Rule{
		ID: rr.RuleID, Name: rr.Name, Description: rr.Description, Author: rr.Author,
		License: rr.License, References: rr.References, Severity: strings.ToLower(rr.Severity),
		RiskScore: rr.RiskScore, Tags: rr.Tags, Type: rr.Type, Language: rr.Language,
		Index: rr.Index, From: rr.From, Query: rr.Query, Note: rr.Note, Path: path,
		Interval: DefaultInterval, MaxSignals: DefaultMaxSignals, Version: DefaultVersion,
		Metadata: Metadata{
			CreationDate: f.Metadata.CreationDate, UpdatedDate: f.Metadata.UpdatedDate,
			Maturity: f.Metadata.Maturity, Integration: stringList(f.Metadata.Integration),
		},
	}
	if rr.MaxSignals != nil {
		r.MaxSignals = *rr.MaxSignals
	}
	if rr.Version != nil {
		r.Version = *rr.Version
	}
	for _, t := range rr.Threat {
		th := event.Threat{Framework: t.Framework, Tactic: t.Tactic.ref()}
		for _, tech := range t.Technique {
			tt := event.ThreatTechnique{ThreatRef: event.ThreatRef{ID: tech.ID, Name: tech.Name, Reference: tech.Reference}}
			for _, s := range tech.Subtechnique {
				tt.Subtechnique = append(tt.Subtechnique, s.ref())
			}
			th.Technique = append(th.Technique, tt)
		}
		r.Threat = append(r.Threat, th)
	}
	if rr.Interval != "" {
		d, err := parseInterval(rr.Interval)
		if err != nil {
			return nil, fail(0, 0, fmt.Errorf("interval: %w", err))
		}
		r.Interval = d
	}
	if err := r.validate(); err != nil {
		return nil, fail(0, 0, err)
	}
	prog, err := eql.CompileString(r.Query)
	if err == nil {
		err = streamable(prog)
	}
	if err != nil {
		var se *eql.SyntaxError
		if errors.As(err, &se) {
			line, col := queryPosition(data, se.Offset)
			if line > 0 {
				return nil, fail(line, col, fmt.Errorf("query: %s", se.Msg))
			}
		}
		return nil, fail(0, 0, fmt.Errorf("query: %w", err))
	}
	r.program = prog
	return r, nil
}

// decodeMessage shortens go-toml's type errors, which name the Go struct,
// to the TOML key and the expected type.
func decodeMessage(de *toml.DecodeError) string {
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	i := strings.Index(msg, " into struct field ")
	j := strings.LastIndex(msg, " of type ")
	if i < 0 || j < i {
		return msg
	}
	key := strings.Join(de.Key(), ".")
	if key == "" {
		key = "this field"
	}
	return msg[:i] + " into " + key + msg[j:]
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func (r *Rule) validate() error {
	switch {
	case r.ID == "":
		return errors.New("rule.rule_id is missing")
	case r.Name == "":
		return errors.New("rule.name is missing")
	case r.Query == "":
		return errors.New("rule.query is missing")
	case r.Type != "eql":
		return fmt.Errorf("rule.type %q is not supported (only eql rules run)", r.Type)
	case r.Language != "" && r.Language != "eql":
		return fmt.Errorf("rule.language %q is not supported (only eql)", r.Language)
	case r.RiskScore < 0 || r.RiskScore > 100:
		return fmt.Errorf("rule.risk_score %v is outside 0..100", r.RiskScore)
	case r.MaxSignals < 1:
		return fmt.Errorf("rule.max_signals %d must be at least 1", r.MaxSignals)
	}
	switch r.Severity {
	case "low", "medium", "high", "critical":
	default:
		return fmt.Errorf("rule.severity %q is not low, medium, high or critical", r.Severity)
	}
	return nil
}

// parseInterval reads Kibana schedule intervals: a whole number with s, m,
// h or d.
func parseInterval(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}
	if len(s) < 2 {
		return 0, fmt.Errorf("%q is not an interval such as 5m", s)
	}
	unit, ok := units[s[len(s)-1]]
	n, err := strconv.Atoi(s[:len(s)-1])
	if !ok || err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not an interval such as 5m", s)
	}
	return time.Duration(n) * unit, nil
}

// RuleFiles lists the rule files that paths name: a file stands for
// itself, a folder for every *.toml, *.yml and *.yaml file under it (recursively), in path
// order per argument. Paths that cannot be read are returned as errors.
func RuleFiles(paths ...string) ([]string, []error) {
	var files []string
	var errs []error
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			errs = append(errs, &RuleError{Path: p, Err: err})
			continue
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, &RuleError{Path: path, Err: err})
				return nil
			}
			if !d.IsDir() && (strings.EqualFold(filepath.Ext(path), ".toml") || IsSigmaFile(path)) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, &RuleError{Path: p, Err: err})
		}
	}
	return files, errs
}

// LoadRules reads rule files and folders (recursively, every *.toml, and
// every *.yml and *.yaml as Sigma: LoadRulesWith). A rule that does not
// load is reported in the errors, with its file and the line and column of
// the problem, and the others still load. Rules come back in path order
// (Sigma rules after the TOML ones); a rule_id seen twice is an error for
// the later file.
func LoadRules(ctx context.Context, paths ...string) ([]*Rule, []error) {
	return LoadRulesWith(ctx, LoadOptions{}, paths...)
}

// RuleCheck is what CheckRule found about one rule file.
type RuleCheck struct {
	Path   string
	RuleID string // read even from a rule that does not load, when the TOML allows
	Name   string
	Rule   *Rule // nil when the rule does not load
	Err    error // why it does not load: a *RuleError with the place in the file
	// Fields are the document fields the rule's query reads (see
	// eql.Query.Fields); known whenever the query parses, even if the rule
	// does not load for another reason.
	Fields []string
	// Skipped says why a Sigma rule that compiles is not loaded (its
	// status or level is not selected); empty otherwise.
	Skipped string
}

// CheckRule loads one rule file's contents as ParseRule does and reports
// what it found, whether the rule loads or not.
func CheckRule(path string, data []byte) RuleCheck {
	c := RuleCheck{Path: path}
	var head struct {
		Rule struct {
			RuleID string `toml:"rule_id"`
			Name   string `toml:"name"`
			Query  string `toml:"query"`
		} `toml:"rule"`
	}
	// A file whose other parts do not decode may still name its rule.
	_ = toml.Unmarshal(data, &head)
	c.RuleID, c.Name = head.Rule.RuleID, head.Rule.Name
	if q, err := eql.Parse(head.Rule.Query); err == nil {
		c.Fields = q.Fields()
	}
	r, err := ParseRule(path, data)
	if err != nil {
		c.Err = err
		return c
	}
	c.Rule, c.RuleID, c.Name, c.Fields = r, r.ID, r.Name, r.Program().Query().Fields()
	return c
}

// queryPosition maps a byte offset in the decoded rule.query string to the
// line and column of that character in the TOML file; 0, 0 when the query
// cannot be located.
func queryPosition(data []byte, offset int) (line, col int) {
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = table[:0]
			for it := e.Key(); it.Next(); {
				table = append(table, string(it.Node().Data))
			}
		case unstable.KeyValue:
			var key []string
			for it := e.Key(); it.Next(); {
				key = append(key, string(it.Node().Data))
			}
			full := strings.Join(append(append([]string{}, table...), key...), ".")
			if full != "rule.query" {
				continue
			}
			v := e.Value()
			raw := int(v.Raw.Offset)
			off := rawStringOffset(data[raw:raw+int(v.Raw.Length)], offset)
			if off < 0 {
				return 0, 0
			}
			return lineCol(data, raw+off)
		}
	}
	return 0, 0
}

// rawStringOffset finds where the decoded byte at offset comes from inside
// a TOML string token (quotes included); -1 if it cannot tell.
func rawStringOffset(tok []byte, offset int) int {
	var delim string
	for _, d := range []string{"'''", `"""`, "'", `"`} {
		if strings.HasPrefix(string(tok), d) {
			delim = d
			break
		}
	}
	if delim == "" {
		return -1
	}
	i := len(delim)
	end := len(tok) - len(delim)
	if len(delim) == 3 {
		// A newline right after the opening delimiter is not part of the value.
		if strings.HasPrefix(string(tok[i:]), "\r\n") {
			i += 2
		} else if i < end && tok[i] == '\n' {
			i++
		}
	}
	literal := delim[0] == '\''
	decoded := 0
	for i < end {
		if decoded >= offset {
			return i
		}
		c := tok[i]
		if literal || c != '\\' {
			i++
			decoded++
			continue
		}
		if i+1 >= end {
			return -1
		}
		switch tok[i+1] {
		case 'u':
			decoded += utf8Len(tok, i+2, 4)
			i += 6
		case 'U':
			decoded += utf8Len(tok, i+2, 8)
			i += 10
		case ' ', '\t', '\n', '\r':
			// line-ending backslash: drop all following whitespace
			i++
			for i < end && strings.ContainsRune(" \t\r\n", rune(tok[i])) {
				i++
			}
		default:
			i += 2
			decoded++
		}
	}
	if decoded >= offset {
		return i
	}
	return -1
}

func utf8Len(tok []byte, at, n int) int {
	if at+n > len(tok) {
		return 1
	}
	v, err := strconv.ParseUint(string(tok[at:at+n]), 16, 32)
	if err != nil {
		return 1
	}
	return len(string(rune(v)))
}

func lineCol(data []byte, off int) (line, col int) {
	line, col = 1, 1
	for _, r := range string(data[:off]) {
		if r == '\n' {
			line++
			col = 1
			continue
		}
		col++
	}
	return line, col
}
