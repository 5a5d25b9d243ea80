package eql

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/weft-dev/weft/event"
)

// evaluator is a compiled expression.
type evaluator interface {
	eval(d event.Document) value
}

type compiler struct {
	src string
	// plain leaves conditions as written (no optimize), for tests that
	// compare the two.
	plain bool
	// cache, when set, shares the field lookups of conditions (not of
	// join keys: inKeys) with the other programs compiled with it.
	cache  *FieldCache
	inKeys bool
}

func (c *compiler) errorf(off int, format string, args ...any) error {
	return newSyntaxError(c.src, off, fmt.Sprintf(format, args...))
}

// condition compiles an expression that must be boolean: a where clause or
// an operand of and/or/not.
func (c *compiler) condition(e Expr) (evaluator, error) {
	if !isBoolExpr(e) {
		return nil, c.errorf(e.Pos(), "condition %s is not a boolean expression", e)
	}
	return c.expr(e)
}

func isBoolExpr(e Expr) bool {
	switch x := e.(type) {
	case *Binary:
		switch x.Op {
		case OpAdd, OpSub, OpMul, OpDiv, OpMod:
			return false
		}
		return true
	case *Not, *In, *PatternMatch, *Field:
		return true
	case *Literal:
		_, ok := x.Value.(bool)
		return ok
	case *Call:
		f, _ := lookupFunc(x.Name)
		return f != nil && f.predicate
	}
	return false
}

func (c *compiler) expr(e Expr) (evaluator, error) {
	switch x := e.(type) {
	case *Literal:
		return constNode{literalValue(x.Value)}, nil
	case *Field:
		fp := newFieldPath(x.Path)
		if c.cache != nil && !c.inKeys {
			fp.cache, fp.slot = c.cache, c.cache.slot(fp.name)
		}
		return &fieldNode{fp: fp}, nil
	case *Not:
		inner, err := c.condition(x.X)
		if err != nil {
			return nil, err
		}
		return fold(&notNode{x: inner}), nil
	case *Neg:
		inner, err := c.expr(x.X)
		if err != nil {
			return nil, err
		}
		return fold(&arithNode{op: OpSub, l: constNode{intValue(0)}, r: inner}), nil
	case *Binary:
		return c.binary(x)
	case *In:
		return c.in(x)
	case *PatternMatch:
		return c.match(x)
	case *Call:
		return c.call(x)
	case *Values:
		return c.values(x)
	}
	return nil, c.errorf(e.Pos(), "unsupported expression %s", e)
}

func literalValue(v any) value {
	switch x := v.(type) {
	case bool:
		return boolValue(x)
	case int64:
		return intValue(x)
	case float64:
		return floatValue(x)
	case string:
		return strValue(x)
	}
	return nullValue
}

func (c *compiler) binary(x *Binary) (evaluator, error) {
	switch x.Op {
	case OpAnd, OpOr:
		l, err := c.condition(x.L)
		if err != nil {
			return nil, err
		}
		r, err := c.condition(x.R)
		if err != nil {
			return nil, err
		}
		return foldLogic(x.Op, l, r), nil
	case OpAdd, OpSub, OpMul, OpDiv, OpMod:
		l, err := c.expr(x.L)
		if err != nil {
			return nil, err
		}
		r, err := c.expr(x.R)
		if err != nil {
			return nil, err
		}
		return fold(&arithNode{op: x.Op, l: l, r: r}), nil
	}
	// Comparisons against the null literal test for presence.
	if isNullLiteral(x.R) || isNullLiteral(x.L) {
		other := x.L
		if isNullLiteral(x.L) {
			other = x.R
		}
		switch x.Op {
		case OpEq, OpNeq:
			inner, err := c.expr(other)
			if err != nil {
				return nil, err
			}
			return fold(&isNullNode{x: inner, negate: x.Op == OpNeq}), nil
		}
		return constNode{falseValue}, nil
	}
	l, err := c.expr(x.L)
	if err != nil {
		return nil, err
	}
	r, err := c.expr(x.R)
	if err != nil {
		return nil, err
	}
	if x.Op == OpEq || x.Op == OpNeq {
		if n := ipComparison(x.L, x.R, x.Op == OpNeq); n != nil {
			return n, nil
		}
	}
	return fold(&cmpNode{op: x.Op, l: l, r: r}), nil
}

func isNullLiteral(e Expr) bool {
	l, ok := e.(*Literal)
	return ok && l.Value == nil
}

// isIPField reports whether an ECS field has the ip type (source.ip,
// destination.ip, host.ip, related.ip, *.nat.ip, dns.resolved_ip ...).
// Elasticsearch compares such fields as addresses, so "::1" equals
// "0:0:0:0:0:0:0:1" and a CIDR literal matches every address in the block.
func isIPField(e Expr) (*Field, bool) {
	f, ok := e.(*Field)
	if !ok || len(f.Path) == 0 {
		return nil, false
	}
	last := f.Path[len(f.Path)-1]
	return f, last == "ip" || last == "resolved_ip"
}

// ipComparison builds an address comparison for ip_field ==/!= "literal"
// when every literal is an address or CIDR block; nil otherwise.
func ipComparison(l, r Expr, negate bool) evaluator {
	f, ok := isIPField(l)
	other := r
	if !ok {
		if f, ok = isIPField(r); !ok {
			return nil
		}
		other = l
	}
	lit, ok := other.(*Literal)
	if !ok {
		return nil
	}
	n := newIPMatch(f, []*Literal{lit}, negate)
	if n == nil {
		return nil
	}
	return n
}

func newIPMatch(f *Field, lits []*Literal, negate bool) *ipMatchNode {
	n := &ipMatchNode{x: &fieldNode{fp: newFieldPath(f.Path)}, negate: negate}
	for _, l := range lits {
		s, ok := l.Value.(string)
		if !ok {
			return nil
		}
		p, ok := parsePrefix(s)
		if !ok {
			return nil
		}
		n.prefixes = append(n.prefixes, p)
		n.literals = append(n.literals, s)
	}
	return n
}

func (c *compiler) in(x *In) (evaluator, error) {
	if f, ok := isIPField(x.X); ok && !x.Insensitive {
		lits := make([]*Literal, 0, len(x.List))
		for _, e := range x.List {
			if l, ok := e.(*Literal); ok {
				lits = append(lits, l)
			}
		}
		if len(lits) == len(x.List) {
			if n := newIPMatch(f, lits, x.Negated); n != nil {
				return n, nil
			}
		}
	}
	xe, err := c.expr(x.X)
	if err != nil {
		return nil, err
	}
	n := &inNode{x: xe, fold: x.Insensitive, negate: x.Negated}
	for _, e := range x.List {
		ev, err := c.expr(e)
		if err != nil {
			return nil, err
		}
		if k, ok := ev.(constNode); ok {
			n.consts = append(n.consts, k.v)
			continue
		}
		n.dynamic = append(n.dynamic, ev)
	}
	n.index()
	return fold(n), nil
}

func (c *compiler) match(x *PatternMatch) (evaluator, error) {
	if len(x.Operands) > 0 {
		return c.seqOperands(x)
	}
	xe, err := c.expr(x.X)
	if err != nil {
		return nil, err
	}
	n := &matchNode{x: xe}
	for _, p := range x.Patterns {
		switch x.Kind {
		case MatchSeq, MatchLikeI:
			n.matchers = append(n.matchers, newFoldWildcard(p))
		case MatchLike:
			n.matchers = append(n.matchers, newWildcard(p, false))
		case MatchRegex, MatchRegexI:
			re, err := newLuceneRegexp(p, x.Kind == MatchRegexI)
			if err != nil {
				return nil, c.errorf(x.Offset, "%v", err)
			}
			n.matchers = append(n.matchers, re)
		case MatchRE2:
			re, err := newRE2(p)
			if err != nil {
				return nil, c.errorf(x.Offset, "%v", err)
			}
			n.matchers = append(n.matchers, re)
		}
	}
	return fold(n), nil
}

// seqOperands compiles ":" with operands that are not string literals. As
// in Elasticsearch such an operand compares as == does (numbers with
// numbers, "5" with 5, booleans with booleans), except that two strings
// compare case-insensitively: a : other_field is a in~ (other_field). The
// string literals of the same list stay wildcard patterns. A lone null
// operand tests for absence, as == null does.
func (c *compiler) seqOperands(x *PatternMatch) (evaluator, error) {
	if len(x.Patterns) == 0 && len(x.Operands) == 1 && isNullLiteral(x.Operands[0]) {
		return c.binary(&Binary{Op: OpEq, L: x.X, R: x.Operands[0], Offset: x.Offset})
	}
	in, err := c.in(&In{X: x.X, List: x.Operands, Insensitive: true, Offset: x.Offset})
	if err != nil {
		return nil, err
	}
	if len(x.Patterns) == 0 {
		return in, nil
	}
	m, err := c.match(&PatternMatch{X: x.X, Kind: x.Kind, Patterns: x.Patterns, Offset: x.Offset})
	if err != nil {
		return nil, err
	}
	return foldLogic(OpOr, m, in), nil
}

func (c *compiler) call(x *Call) (evaluator, error) {
	fn, ok := lookupFunc(x.Name)
	if !ok {
		return nil, c.errorf(x.Offset, "unknown function %q", x.Name)
	}
	n := &callNode{fn: fn, fold: x.Insensitive}
	for _, a := range x.Args {
		ev, err := c.expr(a)
		if err != nil {
			return nil, err
		}
		n.args = append(n.args, ev)
	}
	if fn.name == "cidrMatch" {
		for i, a := range x.Args[1:] {
			if l, ok := a.(*Literal); ok {
				if s, ok := l.Value.(string); ok {
					if _, ok := parsePrefix(s); !ok {
						return nil, c.errorf(a.Pos(), "cidrMatch argument %d: %q is not a CIDR block", i+2, s)
					}
				}
			}
		}
	}
	return fold(n), nil
}

// fold evaluates a node whose inputs are all constants once, now.
func fold(n evaluator) evaluator {
	var inputs []evaluator
	switch x := n.(type) {
	case *notNode:
		inputs = []evaluator{x.x}
	case *isNullNode:
		inputs = []evaluator{x.x}
	case *cmpNode:
		inputs = []evaluator{x.l, x.r}
	case *arithNode:
		inputs = []evaluator{x.l, x.r}
	case *inNode:
		if len(x.dynamic) > 0 {
			return n
		}
		inputs = []evaluator{x.x}
	case *matchNode:
		inputs = []evaluator{x.x}
	case *callNode:
		inputs = x.args
	default:
		return n
	}
	for _, in := range inputs {
		if _, ok := in.(constNode); !ok {
			return n
		}
	}
	return constNode{n.eval(nil)}
}

// foldLogic short-circuits and/or with a constant side.
func foldLogic(op Op, l, r evaluator) evaluator {
	lc, lok := l.(constNode)
	rc, rok := r.(constNode)
	switch {
	case lok && rok:
		if op == OpAnd {
			return constNode{boolValue(truthy(lc.v) && truthy(rc.v))}
		}
		return constNode{boolValue(truthy(lc.v) || truthy(rc.v))}
	case lok:
		return foldOneSide(op, truthy(lc.v), r)
	case rok:
		return foldOneSide(op, truthy(rc.v), l)
	}
	if op == OpAnd {
		return &andNode{l: l, r: r}
	}
	return &orNode{l: l, r: r}
}

func foldOneSide(op Op, k bool, other evaluator) evaluator {
	switch {
	case op == OpAnd && !k:
		return constNode{falseValue}
	case op == OpOr && k:
		return constNode{trueValue}
	}
	return &boolNode{x: other}
}

type constNode struct{ v value }

func (n constNode) eval(event.Document) value { return n.v }
func (n constNode) test(event.Document) bool  { return truthy(n.v) }

type fieldNode struct{ fp *fieldPath }

func (n *fieldNode) eval(d event.Document) value { return fromAny(n.fp.lookup(d)) }

type andNode struct{ l, r evaluator }

func (n *andNode) eval(d event.Document) value {
	return boolValue(truthy(n.l.eval(d)) && truthy(n.r.eval(d)))
}

type orNode struct{ l, r evaluator }

func (n *orNode) eval(d event.Document) value {
	return boolValue(truthy(n.l.eval(d)) || truthy(n.r.eval(d)))
}

type notNode struct{ x evaluator }

func (n *notNode) eval(d event.Document) value { return boolValue(!truthy(n.x.eval(d))) }

// boolNode reads a condition as strictly true or false.
type boolNode struct{ x evaluator }

func (n *boolNode) eval(d event.Document) value { return boolValue(truthy(n.x.eval(d))) }

type isNullNode struct {
	x      evaluator
	negate bool
}

func (n *isNullNode) eval(d event.Document) value {
	return boolValue((n.x.eval(d).k == kNull) != n.negate)
}

// cmpNode is == != < <= > >=. A null side makes it false. A multi-valued
// side matches when any value does, except != which holds only when no value
// is equal (Elasticsearch runs != as "must not" of the term query).
type cmpNode struct {
	op   Op
	l, r evaluator
}

func (n *cmpNode) eval(d event.Document) value {
	lv := n.l.eval(d)
	if lv.k == kNull {
		return falseValue
	}
	rv := n.r.eval(d)
	if rv.k == kNull {
		return falseValue
	}
	if n.op == OpNeq {
		return boolValue(!anyPair(lv, rv, func(a, b value) bool { return equalValues(a, b, false) }))
	}
	op := n.op
	return boolValue(anyPair(lv, rv, func(a, b value) bool {
		if op == OpEq {
			return equalValues(a, b, false)
		}
		c, ok := compareValues(a, b)
		if !ok {
			return false
		}
		switch op {
		case OpLt:
			return c < 0
		case OpLte:
			return c <= 0
		case OpGt:
			return c > 0
		}
		return c >= 0
	}))
}

func anyPair(a, b value, fn func(a, b value) bool) bool {
	if a.k != kMulti && b.k != kMulti {
		return fn(a, b)
	}
	return each(a, func(x value) bool {
		return each(b, func(y value) bool { return fn(x, y) })
	})
}

// ipMatchNode compares an ip-typed field with address or CIDR literals.
// Document values that are not addresses fall back to string equality.
type ipMatchNode struct {
	x        *fieldNode
	prefixes []netip.Prefix
	literals []string
	negate   bool
}

func (n *ipMatchNode) eval(d event.Document) value {
	v := n.x.eval(d)
	if v.k == kNull {
		return falseValue
	}
	found := each(v, func(e value) bool {
		s, ok := asString(e)
		if !ok {
			return false
		}
		addr, err := netip.ParseAddr(s)
		if err != nil {
			for _, l := range n.literals {
				if l == s {
					return true
				}
			}
			return false
		}
		addr = addr.Unmap()
		for _, p := range n.prefixes {
			if p.Contains(addr) {
				return true
			}
		}
		return false
	})
	return boolValue(found != n.negate)
}

// inNode is [not] in[~]. Constant string lists of some length are indexed.
type inNode struct {
	x       evaluator
	consts  []value
	dynamic []evaluator
	fold    bool
	negate  bool
	set     map[string]struct{}
}

const inIndexThreshold = 8

func (n *inNode) index() {
	if len(n.consts) < inIndexThreshold {
		return
	}
	for _, c := range n.consts {
		if c.k != kString {
			return
		}
	}
	n.set = make(map[string]struct{}, len(n.consts))
	for _, c := range n.consts {
		s := c.s
		if n.fold {
			s = strings.ToLower(s)
		}
		n.set[s] = struct{}{}
	}
}

func (n *inNode) eval(d event.Document) value {
	xv := n.x.eval(d)
	if xv.k == kNull {
		return falseValue
	}
	var dyn []value
	if len(n.dynamic) > 0 {
		dyn = make([]value, len(n.dynamic))
		for i, e := range n.dynamic {
			dyn[i] = e.eval(d)
		}
	}
	found := each(xv, func(a value) bool {
		if n.set != nil && a.k == kString {
			s := a.s
			if n.fold {
				s = strings.ToLower(s)
			}
			if _, ok := n.set[s]; ok {
				return true
			}
		} else {
			for _, c := range n.consts {
				if equalValues(a, c, n.fold) {
					return true
				}
			}
		}
		for _, v := range dyn {
			if each(v, func(b value) bool { return equalValues(a, b, n.fold) }) {
				return true
			}
		}
		return false
	})
	return boolValue(found != n.negate)
}

// matchNode is ':', like, like~, regex, regex~ against one or more patterns.
// Numbers and booleans are matched in their string form.
type matchNode struct {
	x        evaluator
	matchers []stringMatcher
}

func (n *matchNode) eval(d event.Document) value {
	v := n.x.eval(d)
	if v.k == kNull {
		return falseValue
	}
	return boolValue(each(v, func(e value) bool {
		s, ok := asString(e)
		if !ok {
			return false
		}
		for _, m := range n.matchers {
			if m.matchString(s) {
				return true
			}
		}
		return false
	}))
}

type arithNode struct {
	op   Op
	l, r evaluator
}

func (n *arithNode) eval(d event.Document) value {
	args := [2]value{n.l.eval(d), n.r.eval(d)}
	op := n.op
	return fanOut(args[:], func(a []value) value { return arithmetic(op, a[0], a[1]) })
}

type callNode struct {
	fn   *funcSpec
	fold bool
	args []evaluator
}

func (n *callNode) eval(d event.Document) value {
	var buf [4]value
	args := buf[:0]
	for _, a := range n.args {
		args = append(args, a.eval(d))
	}
	return fanOut(args, func(a []value) value { return n.fn.impl(a, n.fold) })
}

// maxFanOut bounds the combinations a call over several multi-valued
// arguments may expand to.
const maxFanOut = 1024

// fanOut applies fn to scalar arguments. A multi-valued argument applies fn
// once per value and yields a multi-valued result, so a condition on it
// holds when it holds for any value.
func fanOut(args []value, fn func([]value) value) value {
	multi := -1
	for i, a := range args {
		if a.k == kMulti {
			multi = i
			break
		}
	}
	if multi < 0 {
		return fn(args)
	}
	var out []value
	scratch := make([]value, len(args))
	copy(scratch, args)
	each(args[multi], func(e value) bool {
		scratch[multi] = e
		r := fanOut(scratch, fn)
		if r.k == kMulti {
			out = append(out, r.m...)
		} else {
			out = append(out, r)
		}
		return len(out) >= maxFanOut
	})
	switch len(out) {
	case 0:
		return nullValue
	case 1:
		return out[0]
	}
	return value{k: kMulti, m: out}
}
