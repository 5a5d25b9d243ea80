package sigma

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Filter is a Sigma global filter: a detection that, added to the rules it
// names, removes their matches ("rule and not filter").
type Filter struct {
	Title     string
	ID        string
	LogSource LogSource
	Rules     []string // ids or names of the rules it applies to
	Detection Detection
	Line      int
}

func parseFilter(root *yaml.Node) (*Filter, error) {
	f := &Filter{Line: root.Line}
	var err error
	if f.Title, err = str(root, "title"); err != nil {
		return nil, err
	}
	if f.ID, err = str(root, "id"); err != nil {
		return nil, err
	}
	if f.Title == "" {
		return nil, errorf(root, "filter: title is missing")
	}
	if ls := lookup(root, "logsource"); ls != nil {
		for _, x := range []struct {
			key string
			dst *string
		}{{"category", &f.LogSource.Category}, {"product", &f.LogSource.Product}, {"service", &f.LogSource.Service}} {
			if *x.dst, err = str(ls, x.key); err != nil {
				return nil, err
			}
		}
	}
	body := lookup(root, "filter")
	if body == nil || body.Kind != yaml.MappingNode {
		return nil, errorf(root, "filter must be a mapping with rules, searches and a condition")
	}
	if f.Rules, err = strList(body, "rules"); err != nil {
		return nil, err
	}
	if len(f.Rules) == 0 {
		return nil, errorf(body, "filter.rules is missing")
	}
	// The rest of the mapping is a detection.
	det := &yaml.Node{Kind: yaml.MappingNode, Line: body.Line}
	for i := 0; i+1 < len(body.Content); i += 2 {
		if body.Content[i].Value == "rules" {
			continue
		}
		det.Content = append(det.Content, body.Content[i], body.Content[i+1])
	}
	d, err := parseDetection(det)
	if err != nil {
		return nil, fmt.Errorf("filter %s: %w", f.Title, err)
	}
	f.Detection = *d
	return f, nil
}

// AppliesTo reports whether the filter names the rule (by id or name).
func (f *Filter) AppliesTo(r *Rule) bool {
	for _, x := range f.Rules {
		if x == r.ID || (r.Name != "" && x == r.Name) {
			return true
		}
	}
	return false
}

// Apply adds the filter to the rule: the rule then matches only events
// the filter does not. The filter's log source must be the rule's, as
// pySigma requires, since the filter's field names are those of that log
// source.
func (f *Filter) Apply(r *Rule) error {
	if f.LogSource.Category != "" && f.LogSource.Category != r.LogSource.Category ||
		f.LogSource.Service != "" && f.LogSource.Service != r.LogSource.Service ||
		f.LogSource.Product != "" && f.LogSource.Product != r.LogSource.Product {
		return fmt.Errorf("filter %q (log source %s) does not apply to rule %q (log source %s)", f.Title, f.LogSource, r.Title, r.LogSource)
	}
	r.filters = append(r.filters, f)
	return nil
}
