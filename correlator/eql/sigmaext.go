package eql

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/weft-dev/weft/event"
)

// This file holds what Sigma rules need beyond EQL's syntax, so that they
// compile onto the same Program (and run on the same streaming engine) as
// EQL queries: an unanchored RE2 match (MatchRE2, Sigma's "re" modifier)
// and the values of every field of an object (Values, Sigma's keywords).
// Neither has a text form the EQL parser reads: they are built as AST
// nodes by the Sigma compiler.

// re2 is a MatchRE2 pattern: Go's RE2 syntax, unanchored, as Sigma's "re"
// modifier searches a value.
type re2 struct{ re *regexp.Regexp }

func (r *re2) matchString(s string) bool { return r.re.MatchString(s) }

func newRE2(p string) (*re2, error) {
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("regular expression %q: %w", p, err)
	}
	return &re2{re: re}, nil
}

// Values stands for the string values of every field of the object at
// Field (nested objects and lists included), as one multi-value: a pattern
// match against it holds when any value matches. Sigma's keyword searches
// compile to it.
type Values struct {
	Field  *Field
	Offset int
}

// Pos implements Expr.
func (e *Values) Pos() int { return e.Offset }

// String prints the node as a call; the EQL parser does not read it back.
func (e *Values) String() string { return "values(" + e.Field.String() + ")" }

func (c *compiler) values(x *Values) (evaluator, error) {
	return &valuesNode{fp: newFieldPath(x.Field.Path)}, nil
}

type valuesNode struct{ fp *fieldPath }

func (n *valuesNode) eval(d event.Document) value {
	var out []value
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			// Sorted, so that which value matches first does not depend
			// on map order.
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k])
			}
		case event.Document:
			walk(map[string]any(x))
		case []any:
			for _, e := range x {
				walk(e)
			}
		case nil:
		default:
			out = append(out, fromAny(x))
		}
	}
	walk(n.fp.lookup(d))
	if len(out) == 0 {
		return nullValue
	}
	return value{k: kMulti, m: out}
}
