package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Rule is one Sigma detection rule.
type Rule struct {
	Title          string
	ID             string
	Name           string // the rule's name, by which correlations may refer to it
	Status         string // stable, test, experimental, deprecated, unsupported
	Description    string
	Author         string
	Date           string
	Modified       string
	Level          string // informational, low, medium, high, critical
	References     []string
	FalsePositives []string
	Tags           []string
	Fields         []string
	LogSource      LogSource
	Detection      Detection
	Line           int // where the rule's document starts in its file

	filters []*Filter // global filters applied (Filter.Apply)
}

// LogSource is a rule's logsource.
type LogSource struct {
	Category, Product, Service, Definition string
}

// String names the log source as product/category/service.
func (l LogSource) String() string {
	var parts []string
	for _, s := range []string{l.Product, l.Category, l.Service} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "/")
}

// Detection is a rule's detection: named searches and a condition.
type Detection struct {
	Searches  []*Search // in file order
	Condition []string  // several conditions are joined with or
	Timeframe string
}

// search returns the search of that name.
func (d *Detection) search(name string) *Search {
	for _, s := range d.Searches {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Search is one named search of a detection. A search is either a list of
// keywords, or maps of field matches: it holds when one of Maps (or) has
// every one of its matches (and).
type Search struct {
	Name     string
	Keywords []any // a list of values searched for in every field
	Maps     [][]*FieldMatch
	Line     int
}

// FieldMatch is "Field|modifier|modifier: values".
type FieldMatch struct {
	Field     string
	Modifiers []string
	Values    []any // string, int64, float64, bool or nil
	Line      int
}

// Error is a problem in a Sigma file, with its place.
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

func errorf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// File is what one Sigma YAML file holds: rules, correlations and filters,
// in file order (a file may hold several YAML documents).
type File struct {
	Rules        []*Rule
	Correlations []*Correlation
	Filters      []*Filter
}

// maxFileSize bounds what Parse reads: SigmaHQ's largest rule is a few
// tens of KiB.
const maxFileSize = 4 << 20

// Parse reads the YAML documents of a Sigma file. A document that is not a
// rule, a correlation or a filter is an error.
func Parse(data []byte) (*File, error) {
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("file of %d bytes is larger than %d", len(data), maxFileSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	f := &File{}
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("yaml: %w", err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode {
			return nil, errorf(root, "a Sigma document is a mapping")
		}
		switch {
		case lookup(root, "correlation") != nil:
			c, err := parseCorrelation(root)
			if err != nil {
				return nil, err
			}
			f.Correlations = append(f.Correlations, c)
		case lookup(root, "filter") != nil:
			fl, err := parseFilter(root)
			if err != nil {
				return nil, err
			}
			f.Filters = append(f.Filters, fl)
		default:
			r, err := parseRule(root)
			if err != nil {
				return nil, err
			}
			f.Rules = append(f.Rules, r)
		}
	}
	if len(f.Rules)+len(f.Correlations)+len(f.Filters) == 0 {
		return nil, errors.New("no Sigma rule in the file")
	}
	return f, nil
}

// lookup returns the value node of key in a mapping, nil when absent.
func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// str reads a scalar; a missing key is "".
func str(m *yaml.Node, key string) (string, error) {
	n := lookup(m, key)
	if n == nil || isNull(n) {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", errorf(n, "%s must be a string", key)
	}
	return n.Value, nil
}

// strList reads a list of strings, or a single string as a list of one.
func strList(m *yaml.Node, key string) ([]string, error) {
	n := lookup(m, key)
	if n == nil || isNull(n) {
		return nil, nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode {
				return nil, errorf(e, "%s must be a list of strings", key)
			}
			out = append(out, e.Value)
		}
		return out, nil
	}
	return nil, errorf(n, "%s must be a list of strings", key)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func parseRule(root *yaml.Node) (*Rule, error) {
	r := &Rule{Line: root.Line}
	var err error
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"title", &r.Title}, {"id", &r.ID}, {"name", &r.Name}, {"status", &r.Status},
		{"description", &r.Description}, {"author", &r.Author}, {"date", &r.Date},
		{"modified", &r.Modified}, {"level", &r.Level},
	} {
		if *f.dst, err = str(root, f.key); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		key string
		dst *[]string
	}{{"references", &r.References}, {"falsepositives", &r.FalsePositives}, {"tags", &r.Tags}, {"fields", &r.Fields}} {
		if *f.dst, err = strList(root, f.key); err != nil {
			return nil, err
		}
	}
	if r.Title == "" {
		return nil, errorf(root, "title is missing")
	}
	r.Level = strings.ToLower(r.Level)
	r.Status = strings.ToLower(r.Status)
	ls := lookup(root, "logsource")
	if ls == nil || ls.Kind != yaml.MappingNode {
		return nil, errorf(root, "logsource is missing")
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"category", &r.LogSource.Category}, {"product", &r.LogSource.Product}, {"service", &r.LogSource.Service}, {"definition", &r.LogSource.Definition}} {
		if *f.dst, err = str(ls, f.key); err != nil {
			return nil, err
		}
	}
	det := lookup(root, "detection")
	if det == nil {
		return nil, errorf(root, "detection is missing")
	}
	d, err := parseDetection(det)
	if err != nil {
		return nil, err
	}
	r.Detection = *d
	return r, nil
}

func parseDetection(det *yaml.Node) (*Detection, error) {
	if det.Kind != yaml.MappingNode {
		return nil, errorf(det, "detection must be a mapping")
	}
	d := &Detection{}
	for i := 0; i+1 < len(det.Content); i += 2 {
		k, v := det.Content[i], det.Content[i+1]
		switch k.Value {
		case "condition":
			switch v.Kind {
			case yaml.ScalarNode:
				d.Condition = []string{v.Value}
			case yaml.SequenceNode:
				for _, c := range v.Content {
					if c.Kind != yaml.ScalarNode {
						return nil, errorf(c, "condition must be a string or a list of strings")
					}
					d.Condition = append(d.Condition, c.Value)
				}
			default:
				return nil, errorf(v, "condition must be a string or a list of strings")
			}
		case "timeframe":
			d.Timeframe = v.Value
		default:
			s, err := parseSearch(k.Value, v)
			if err != nil {
				return nil, err
			}
			d.Searches = append(d.Searches, s)
		}
	}
	if len(d.Condition) == 0 {
		return nil, errorf(det, "detection has no condition")
	}
	return d, nil
}

func parseSearch(name string, v *yaml.Node) (*Search, error) {
	s := &Search{Name: name, Line: v.Line}
	switch v.Kind {
	case yaml.MappingNode:
		m, err := parseMap(v)
		if err != nil {
			return nil, err
		}
		s.Maps = [][]*FieldMatch{m}
	case yaml.SequenceNode:
		for _, e := range v.Content {
			switch e.Kind {
			case yaml.MappingNode:
				m, err := parseMap(e)
				if err != nil {
					return nil, err
				}
				s.Maps = append(s.Maps, m)
			case yaml.ScalarNode:
				val, err := scalar(e)
				if err != nil {
					return nil, err
				}
				s.Keywords = append(s.Keywords, val)
			default:
				return nil, errorf(e, "search %s: an entry must be a map or a value", name)
			}
		}
		if len(s.Maps) > 0 && len(s.Keywords) > 0 {
			return nil, errorf(v, "search %s mixes maps and keywords", name)
		}
	case yaml.ScalarNode:
		val, err := scalar(v)
		if err != nil {
			return nil, err
		}
		s.Keywords = []any{val}
	default:
		return nil, errorf(v, "search %s must be a map or a list", name)
	}
	return s, nil
}

func parseMap(m *yaml.Node) ([]*FieldMatch, error) {
	var out []*FieldMatch
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		parts := strings.Split(k.Value, "|")
		fm := &FieldMatch{Field: parts[0], Line: k.Line}
		for _, mod := range parts[1:] {
			fm.Modifiers = append(fm.Modifiers, strings.ToLower(mod))
		}
		switch v.Kind {
		case yaml.ScalarNode:
			val, err := scalar(v)
			if err != nil {
				return nil, err
			}
			fm.Values = []any{val}
		case yaml.SequenceNode:
			for _, e := range v.Content {
				if e.Kind != yaml.ScalarNode {
					return nil, errorf(e, "%s: values must be scalars", k.Value)
				}
				val, err := scalar(e)
				if err != nil {
					return nil, err
				}
				fm.Values = append(fm.Values, val)
			}
			if len(v.Content) == 0 {
				return nil, errorf(v, "%s: empty list of values", k.Value)
			}
		default:
			return nil, errorf(v, "%s: values must be a value or a list of values", k.Value)
		}
		out = append(out, fm)
	}
	return out, nil
}

// scalar reads a YAML scalar as Sigma types it: a string, an integer, a
// boolean or null. Quoted scalars are strings.
func scalar(n *yaml.Node) (any, error) {
	switch n.Tag {
	case "!!null":
		return nil, nil
	case "!!bool":
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil {
			return n.Value, nil
		}
		return b, nil
	case "!!int":
		// 0x40810000 and 0o17 stay as written: events hold them as text.
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return n.Value, nil
		}
		return i, nil
	case "!!float":
		// Kept as written too (1.0 is "1.0" in an event), but a number to
		// the comparison modifiers.
		return n.Value, nil
	}
	return n.Value, nil
}
