package sigma

import (
	"strings"
	"testing"

	"github.com/weft-dev/weft/correlator/eql"
)

// FuzzParse: no input makes the parser or the compiler panic or hang, and
// whatever compiles gives a program that evaluates.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		head + "detection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n    CommandLine|contains|all|windash: [' -a', ' /b']\n  condition: sel\n",
		head + "detection:\n  keywords: ['a*b', 'c\\*']\n  sel:\n    - A|re|i: 'x.+'\n    - B|base64offset|contains: 'http'\n    - C|cidr: 10.0.0.0/8\n  condition: 1 of them and not (all of sel*)\n",
		"title: c\nid: x\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [U]\n  timespan: 1h\n  condition:\n    gte: 3\n",
		"title: f\nlogsource: {category: process_creation}\nfilter:\n  rules: [a]\n  sel:\n    User: x\n  condition: sel\n",
		head + "detection:\n  sel:\n    A|expand: '%p%'\n    B|gt: 5\n    C|fieldref|startswith: D\n    E|exists: true\n    F: null\n  condition: sel\n",
		"title: o\nid: o\ncorrelation:\n  type: temporal_ordered\n  rules: [c, b]\n  group-by: [U]\n  timespan: 10m\n---\n" +
			"title: c\nid: c\nname: c\ncorrelation:\n  type: value_count\n  rules: [a]\n  group-by: [U]\n  aliases:\n    U: {a: V}\n  timespan: 1h\n  condition:\n    field: W\n    gt: 2\n    lte: 5\n---\n" +
			head + "name: a\ndetection:\n  sel:\n    A: 1\n  condition: sel\n---\n" + strings.Replace(head, "id: ", "id: b", 1) + "name: b\ndetection:\n  sel:\n    A: 2\n  condition: sel\n",
	} {
		f.Add([]byte(s))
	}
	opts := Options{Placeholders: map[string][]string{"p": {"1", "2"}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		for _, r := range file.Rules {
			q, err := r.Query(opts)
			if err != nil {
				continue
			}
			p, err := eql.Compile(q)
			if err != nil {
				continue
			}
			p.Match(sysmon1("A", "1", "Image", `C:\cmd.exe`))
		}
		// Correlations plan over the file's rules and correlations,
		// chains and loops included.
		lookup := func(ref string) Ref {
			for _, r := range file.Rules {
				if r.ID == ref || (r.Name != "" && r.Name == ref) {
					return Ref{Rule: r}
				}
			}
			for _, c := range file.Correlations {
				if c.ID == ref || (c.Name != "" && c.Name == ref) {
					return Ref{Correlation: c}
				}
			}
			return Ref{}
		}
		for _, c := range file.Correlations {
			p, err := c.Plan(lookup, opts)
			if err != nil {
				continue
			}
			if p.Span() < p.Timespan || p.String() == "" || len(p.Leaves()) == 0 {
				t.Errorf("plan of %q: span %v, %q, %d leaves", c.Title, p.Span(), p.String(), len(p.Leaves()))
			}
		}
	})
}
