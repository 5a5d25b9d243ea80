package sigma

import (
	"fmt"
	"path"
	"strings"
	"unicode"
)

// cond is a parsed condition.
type cond interface{ isCond() }

type condAnd struct{ l, r cond }
type condOr struct{ l, r cond }
type condNot struct{ x cond }
type condRef struct{ name string }

// condOf is "1 of X" (all false) or "all of X" (all true); pattern is a
// search name, a name with '*' wildcards, or "them".
type condOf struct {
	all     bool
	pattern string
}

func (condAnd) isCond() {}
func (condOr) isCond()  {}
func (condNot) isCond() {}
func (condRef) isCond() {}
func (condOf) isCond()  {}

// maxConditionDepth bounds nesting, so that a hostile condition cannot
// exhaust the stack.
const maxConditionDepth = 100

type condParser struct {
	toks  []string
	i     int
	depth int
	src   string
}

// parseCondition parses a condition: or binds loosest, then and, then not.
func parseCondition(src string) (cond, error) {
	toks, err := lexCondition(src)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("condition is empty")
	}
	p := &condParser{toks: toks, src: src}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		if p.toks[p.i] == "|" {
			return nil, fmt.Errorf("condition %q: aggregations (| count() ...) are Sigma 1 syntax; write a correlation rule", src)
		}
		return nil, fmt.Errorf("condition %q: unexpected %q", src, p.toks[p.i])
	}
	return c, nil
}

func lexCondition(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')' || c == '|':
			toks = append(toks, string(c))
			i++
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && s[j] != '(' && s[j] != ')' && s[j] != '|' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

func (p *condParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *condParser) or() (cond, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "or") {
		p.i++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = condOr{l, r}
	}
	return l, nil
}

func (p *condParser) and() (cond, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "and") {
		p.i++
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = condAnd{l, r}
	}
	return l, nil
}

func (p *condParser) not() (cond, error) {
	if strings.EqualFold(p.peek(), "not") {
		p.i++
		p.depth++
		if p.depth > maxConditionDepth {
			return nil, fmt.Errorf("condition %q nests too deep", p.src)
		}
		x, err := p.not()
		p.depth--
		if err != nil {
			return nil, err
		}
		return condNot{x}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (cond, error) {
	t := p.peek()
	switch {
	case t == "":
		return nil, fmt.Errorf("condition %q ends too early", p.src)
	case t == "(":
		p.i++
		p.depth++
		if p.depth > maxConditionDepth {
			return nil, fmt.Errorf("condition %q nests too deep", p.src)
		}
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		p.depth--
		if p.peek() != ")" {
			return nil, fmt.Errorf("condition %q: missing )", p.src)
		}
		p.i++
		return c, nil
	case t == ")" || t == "|" || isKeyword(t):
		return nil, fmt.Errorf("condition %q: unexpected %q", p.src, t)
	}
	p.i++
	if p.i < len(p.toks) && strings.EqualFold(p.toks[p.i], "of") {
		var all bool
		switch strings.ToLower(t) {
		case "1", "any":
		case "all":
			all = true
		default:
			return nil, fmt.Errorf("condition %q: %q of is not supported (1 of, any of or all of)", p.src, t)
		}
		p.i++
		target := p.peek()
		if target == "" || target == "(" || target == ")" || isKeyword(target) {
			return nil, fmt.Errorf("condition %q: %s of what?", p.src, t)
		}
		p.i++
		return condOf{all: all, pattern: target}, nil
	}
	return condRef{name: t}, nil
}

func isKeyword(t string) bool {
	switch strings.ToLower(t) {
	case "and", "or", "not", "of":
		return true
	}
	return false
}

// searchesOf lists the searches "X of pattern" covers, in file order.
func (d *Detection) searchesOf(pattern string) ([]*Search, error) {
	var out []*Search
	for _, s := range d.Searches {
		if pattern == "them" {
			if !strings.HasPrefix(s.Name, "_") {
				out = append(out, s)
			}
			continue
		}
		if ok, err := path.Match(pattern, s.Name); err != nil {
			return nil, fmt.Errorf("condition: bad pattern %q: %w", pattern, err)
		} else if ok {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("condition: no search matches %q", pattern)
	}
	return out, nil
}
