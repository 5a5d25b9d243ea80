package eql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// keywords cannot start a field name unless it is quoted with backticks.
var keywords = map[string]bool{
	"and": true, "any": true, "by": true, "false": true, "in": true, "join": true,
	"like": true, "maxspan": true, "not": true, "null": true, "of": true, "or": true,
	"regex": true, "sample": true, "sequence": true, "true": true, "until": true,
	"where": true, "with": true,
}

// Parse parses an EQL query. Errors are *SyntaxError with line and column.
func Parse(src string) (*Query, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	q, err := p.query()
	if err != nil {
		return nil, err
	}
	q.Source = src
	return q, nil
}

// ParseExpr parses a bare condition such as `process.name : "cmd.exe"`.
func ParseExpr(src string) (Expr, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	if err := p.expectEOF(); err != nil {
		return nil, err
	}
	return x, nil
}

type parser struct {
	src  string
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) errorf(off int, format string, args ...any) error {
	return newSyntaxError(p.src, off, fmt.Sprintf(format, args...))
}

// isKeyword reports whether t is the keyword kw, with or without a tilde.
func isKeyword(t token, kw string, tilde bool) bool {
	return t.kind == tokIdent && t.tilde == tilde && t.text == kw
}

func (p *parser) acceptKeyword(kw string) bool {
	if isKeyword(p.peek(), kw, false) {
		p.advance()
		return true
	}
	return false
}

func describe(t token) string {
	switch t.kind {
	case tokIdent:
		if t.tilde {
			return fmt.Sprintf("%q", t.text+"~")
		}
		return fmt.Sprintf("%q", t.text)
	case tokString:
		return "string " + quote(t.text)
	case tokInt, tokFloat:
		return "number " + t.text
	}
	return t.kind.String()
}

func (p *parser) expect(k tokenKind, what string) (token, error) {
	t := p.peek()
	if t.kind != k {
		return t, p.errorf(t.pos, "expected %s, found %s", what, describe(t))
	}
	return p.advance(), nil
}

func (p *parser) expectKeyword(kw string) error {
	t := p.peek()
	if !isKeyword(t, kw, false) {
		return p.errorf(t.pos, "expected %q, found %s", kw, describe(t))
	}
	p.advance()
	return nil
}

func (p *parser) expectEOF() error {
	t := p.peek()
	if t.kind == tokEOF {
		return nil
	}
	return p.errorf(t.pos, "unexpected %s after the end of the query", describe(t))
}

func (p *parser) query() (*Query, error) {
	t := p.peek()
	q := &Query{}
	var err error
	switch {
	case isKeyword(t, "sequence", false):
		q.Sequence, err = p.sequence()
	case isKeyword(t, "sample", false):
		q.Sample, err = p.sample()
	case isKeyword(t, "join", false):
		return nil, p.errorf(t.pos, "join queries are not supported by Elasticsearch EQL")
	default:
		q.Event, err = p.eventQuery()
	}
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tokPipe {
		if q.Sample != nil {
			return nil, p.errorf(p.peek().pos, "pipes are not supported for sample queries")
		}
		pipe, err := p.pipe()
		if err != nil {
			return nil, err
		}
		q.Pipes = append(q.Pipes, pipe)
	}
	return q, p.expectEOF()
}

// unsupportedPipes are the Endgame EQL pipes Elasticsearch recognises but
// does not run.
var unsupportedPipes = map[string]bool{"count": true, "filter": true, "sort": true, "unique": true, "unique_count": true}

// pipe parses "| head N" or "| tail N". N is any constant integer
// expression that is not negative, as in Elasticsearch.
func (p *parser) pipe() (Pipe, error) {
	bar := p.advance()
	name := p.peek()
	if name.kind != tokIdent || name.tilde {
		return Pipe{}, p.errorf(name.pos, "expected a pipe name (head or tail) after '|', found %s", describe(name))
	}
	p.advance()
	pipe := Pipe{Pos: bar.pos}
	switch {
	case name.text == "head":
		pipe.Kind = PipeHead
	case name.text == "tail":
		pipe.Kind = PipeTail
	case unsupportedPipes[name.text]:
		return Pipe{}, p.errorf(name.pos, "pipe %s is not supported by Elasticsearch EQL (use head or tail)", name.text)
	default:
		return Pipe{}, p.errorf(name.pos, "unrecognized pipe %q (Elasticsearch EQL has head and tail)", name.text)
	}
	if k := p.peek().kind; k == tokEOF || k == tokPipe {
		return Pipe{}, p.errorf(p.peek().pos, "pipe %s expects exactly one argument but found 0", name.text)
	}
	arg := p.peek()
	x, err := p.expr()
	if err != nil {
		return Pipe{}, err
	}
	if p.peek().kind == tokComma {
		n := 1
		for p.peek().kind == tokComma {
			p.advance()
			if _, err := p.expr(); err != nil {
				return Pipe{}, err
			}
			n++
		}
		return Pipe{}, p.errorf(arg.pos, "pipe %s expects exactly one argument but found %d", name.text, n)
	}
	ev, err := (&compiler{src: p.src}).expr(x)
	if err != nil {
		return Pipe{}, err
	}
	c, ok := ev.(constNode)
	if !ok || c.v.k != kInt || c.v.i < 0 {
		return Pipe{}, p.errorf(arg.pos, "pipe %s expects a positive integer but found %s", name.text, x)
	}
	if c.v.i > math.MaxInt32 {
		return Pipe{}, p.errorf(arg.pos, "pipe %s: %d is too large", name.text, c.v.i)
	}
	pipe.N = int(c.v.i)
	return pipe, nil
}

func (p *parser) eventQuery() (*EventQuery, error) {
	t := p.peek()
	q := &EventQuery{Pos: t.pos}
	switch {
	case isKeyword(t, "any", false):
	case t.kind == tokString:
		q.Category = t.text
	case t.kind == tokIdent && !t.tilde && !keywords[t.text]:
		q.Category = t.text
	default:
		return nil, p.errorf(t.pos, "expected an event category or \"any\", found %s", describe(t))
	}
	p.advance()
	if err := p.expectKeyword("where"); err != nil {
		return nil, err
	}
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	q.Where = x
	return q, nil
}

func (p *parser) sequence() (*SequenceQuery, error) {
	seq := &SequenceQuery{Pos: p.advance().pos}
	if p.acceptKeyword("by") {
		keys, err := p.exprList()
		if err != nil {
			return nil, err
		}
		seq.By = keys
	}
	if isKeyword(p.peek(), "with", false) {
		span, err := p.maxspan()
		if err != nil {
			return nil, err
		}
		seq.MaxSpan = span
		if t := p.peek(); isKeyword(t, "by", false) {
			return nil, p.errorf(t.pos, "write \"sequence by\" before \"with maxspan\", not after")
		}
	}
	for p.peek().kind == tokLBracket || p.peek().kind == tokMissing || p.peek().kind == tokBang {
		st, err := p.stage(roleSequence)
		if err != nil {
			return nil, err
		}
		seq.Stages = append(seq.Stages, st)
	}
	if t := p.peek(); isKeyword(t, "until", false) {
		p.advance()
		st, err := p.stage(roleUntil)
		if err != nil {
			return nil, err
		}
		seq.Until = st
	}
	if err := p.checkSequence(seq); err != nil {
		return nil, err
	}
	return seq, nil
}

func (p *parser) checkSequence(seq *SequenceQuery) error {
	n, positive := 0, 0
	for _, st := range seq.Stages {
		n += st.Runs
		if !st.Missing {
			positive += st.Runs
		}
	}
	if n < 2 {
		off := seq.Pos
		if t := p.peek(); t.kind != tokEOF {
			off = t.pos
		}
		return p.errorf(off, "a sequence needs at least two stages in [brackets]")
	}
	if positive == 0 {
		return p.errorf(seq.Pos, "a sequence needs at least one stage that is not a missing event")
	}
	if positive < n && seq.MaxSpan == 0 {
		return p.errorf(seq.Pos, "a sequence with missing events (![...]) needs \"with maxspan\"")
	}
	all := seq.Stages
	if seq.Until != nil {
		all = append(all[:len(all):len(all)], seq.Until)
	}
	return p.checkKeys(all)
}

// checkKeys requires every stage to have as many join keys as the first.
func (p *parser) checkKeys(stages []*Stage) error {
	want := len(stages[0].By)
	for _, st := range stages {
		if len(st.By) != want {
			return p.errorf(st.Pos, "inconsistent number of join keys: expected %d but found %d", want, len(st.By))
		}
	}
	return nil
}

// maxSampleFilters is the most filters a sample may have, as
// Elasticsearch documents.
const maxSampleFilters = 5

// sample parses "sample [by keys] [filter] [by keys] ...".
func (p *parser) sample() (*SampleQuery, error) {
	s := &SampleQuery{Pos: p.advance().pos}
	if p.acceptKeyword("by") {
		keys, err := p.exprList()
		if err != nil {
			return nil, err
		}
		s.By = keys
	}
	if t := p.peek(); isKeyword(t, "with", false) {
		return nil, p.errorf(t.pos, "sample queries take no \"with\": maxspan and runs apply to sequences only")
	}
	for p.peek().kind == tokLBracket || p.peek().kind == tokMissing || p.peek().kind == tokBang {
		st, err := p.stage(roleSample)
		if err != nil {
			return nil, err
		}
		s.Filters = append(s.Filters, st)
	}
	if t := p.peek(); isKeyword(t, "until", false) {
		return nil, p.errorf(t.pos, "sample queries take no \"until\": it applies to sequences only")
	}
	switch {
	case len(s.Filters) == 0:
		off := s.Pos
		if t := p.peek(); t.kind != tokEOF {
			off = t.pos
		}
		return nil, p.errorf(off, "a sample needs at least one filter in [brackets]")
	case len(s.Filters) > maxSampleFilters:
		return nil, p.errorf(s.Filters[maxSampleFilters].Pos, "a sample takes at most %d filters, found %d", maxSampleFilters, len(s.Filters))
	}
	if err := p.checkKeys(s.Filters); err != nil {
		return nil, err
	}
	if len(s.By)+len(s.Filters[0].By) == 0 {
		return nil, p.errorf(s.Pos, "a sample needs join keys: write \"sample by field\" or \"[...] by field\"")
	}
	return s, nil
}

func (p *parser) maxspan() (time.Duration, error) {
	p.advance() // with
	if err := p.expectKeyword("maxspan"); err != nil {
		return 0, err
	}
	if _, err := p.expect(tokAssign, "'='"); err != nil {
		return 0, err
	}
	num, err := p.expect(tokInt, "a whole number of time units")
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(num.text, 10, 64)
	if err != nil {
		return 0, p.errorf(num.pos, "maxspan %s is too large", num.text)
	}
	unit := p.peek()
	if unit.kind != tokIdent || unit.tilde {
		return 0, p.errorf(num.pos, "no time unit specified, did you mean [s] as in [%ss]?", num.text)
	}
	var d time.Duration
	switch strings.ToLower(unit.text) {
	case "nanos":
		d = time.Nanosecond
	case "micros":
		d = time.Microsecond
	case "ms":
		d = time.Millisecond
	case "s":
		d = time.Second
	case "m":
		d = time.Minute
	case "h":
		d = time.Hour
	case "d":
		d = 24 * time.Hour
	default:
		return 0, p.errorf(unit.pos, "unknown time unit %q (use ms, s, m, h or d)", unit.text)
	}
	p.advance()
	if n <= 0 {
		return 0, p.errorf(num.pos, "maxspan must be positive")
	}
	if n > math.MaxInt64/int64(d) {
		return 0, p.errorf(num.pos, "maxspan is too large")
	}
	return time.Duration(n) * d, nil
}

// stageRole says where a bracketed event filter stands, which decides
// what may decorate it.
type stageRole int

const (
	roleSequence stageRole = iota
	roleUntil
	roleSample
)

func (p *parser) stage(role stageRole) (*Stage, error) {
	t := p.peek()
	st := &Stage{Pos: t.pos, Runs: 1}
	switch t.kind {
	case tokBang:
		return nil, p.errorf(t.pos, "write a missing-event stage as ![...], with no space after '!'")
	case tokMissing:
		switch role {
		case roleUntil:
			return nil, p.errorf(t.pos, "an until stage cannot be a missing event")
		case roleSample:
			return nil, p.errorf(t.pos, "a sample cannot have missing-event filters")
		}
		p.advance()
		st.Missing = true
	default:
		if _, err := p.expect(tokLBracket, "'[' to open a sequence stage"); err != nil {
			return nil, err
		}
	}
	q, err := p.eventQuery()
	if err != nil {
		return nil, err
	}
	st.Query = *q
	if _, err := p.expect(tokRBracket, "']' to close the sequence stage"); err != nil {
		return nil, err
	}
	// fork=true is a stage parameter of the Python EQL; without this its
	// stage would end at "fork" and the error would be about join keys.
	if t := p.peek(); t.kind == tokIdent && t.text == "fork" {
		return nil, p.errorf(t.pos, "stage parameter fork is not supported by Elasticsearch EQL")
	}
	if p.acceptKeyword("by") {
		keys, err := p.exprList()
		if err != nil {
			return nil, err
		}
		st.By = keys
	}
	if t := p.peek(); isKeyword(t, "with", false) {
		switch role {
		case roleUntil:
			return nil, p.errorf(t.pos, "\"with\" is not allowed on an until stage")
		case roleSample:
			return nil, p.errorf(t.pos, "sample queries take no \"with\": maxspan and runs apply to sequences only")
		}
		p.advance()
		key := p.peek()
		if key.kind != tokIdent || key.text != "runs" {
			return nil, p.errorf(key.pos, "expected \"runs\" after \"with\" on a stage, found %s", describe(key))
		}
		p.advance()
		if _, err := p.expect(tokAssign, "'='"); err != nil {
			return nil, err
		}
		num, err := p.expect(tokInt, "the number of runs")
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(num.text)
		if err != nil || n < 1 || n > 100 {
			return nil, p.errorf(num.pos, "runs must be between 1 and 100, got %s", num.text)
		}
		st.Runs = n
	}
	return st, nil
}

func (p *parser) exprList() ([]Expr, error) {
	var out []Expr
	for {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		out = append(out, x)
		if p.peek().kind != tokComma {
			return out, nil
		}
		p.advance()
	}
}

func (p *parser) expr() (Expr, error) { return p.or() }

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "or", false) {
		t := p.advance()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: OpOr, L: l, R: r, Offset: t.pos}
	}
	return l, nil
}

func (p *parser) and() (Expr, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "and", false) {
		t := p.advance()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: OpAnd, L: l, R: r, Offset: t.pos}
	}
	return l, nil
}

func (p *parser) not() (Expr, error) {
	if t := p.peek(); isKeyword(t, "not", false) {
		p.advance()
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return &Not{X: x, Offset: t.pos}, nil
	}
	return p.valueExpr()
}

var comparisonOps = map[tokenKind]Op{
	tokEq: OpEq, tokNeq: OpNeq, tokLt: OpLt, tokLte: OpLte, tokGt: OpGt, tokGte: OpGte,
}

func isComparison(t token) bool {
	_, ok := comparisonOps[t.kind]
	return ok
}

// isPredicateStart reports whether t begins a comparison or predicate.
func (p *parser) isPredicateStart(t token) bool {
	if isComparison(t) || t.kind == tokColon {
		return true
	}
	if t.kind != tokIdent {
		return false
	}
	switch t.text {
	case "in", "like", "regex":
		return true
	case "not":
		n := p.peekAt(1)
		return isKeyword(n, "in", false) || isKeyword(n, "in", true)
	}
	return false
}

func (p *parser) valueExpr() (Expr, error) {
	l, err := p.arith()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	var out Expr
	switch {
	case t.kind == tokAssign:
		return nil, p.errorf(t.pos, "= is not an operator; use == (case-sensitive) or : (case-insensitive)")
	case isComparison(t):
		p.advance()
		r, err := p.arith()
		if err != nil {
			return nil, err
		}
		out = &Binary{Op: comparisonOps[t.kind], L: l, R: r, Offset: t.pos}
	case isKeyword(t, "in", false), isKeyword(t, "in", true),
		isKeyword(t, "not", false) && p.isPredicateStart(t):
		out, err = p.in(l)
	case t.kind == tokColon, t.kind == tokIdent && (t.text == "like" || t.text == "regex"):
		out, err = p.match(l)
	default:
		return l, nil
	}
	if err != nil {
		return nil, err
	}
	if n := p.peek(); p.isPredicateStart(n) {
		return nil, p.errorf(n.pos, "comparisons cannot be chained; join them with and/or")
	}
	return out, nil
}

func (p *parser) in(x Expr) (Expr, error) {
	n := &In{X: x, Offset: p.peek().pos}
	if isKeyword(p.peek(), "not", false) {
		p.advance()
		n.Negated = true
	}
	n.Insensitive = p.advance().tilde
	if _, err := p.expect(tokLParen, "'(' to open the list"); err != nil {
		return nil, err
	}
	list, err := p.exprList()
	if err != nil {
		return nil, err
	}
	n.List = list
	if _, err := p.expect(tokRParen, "')' to close the list"); err != nil {
		return nil, err
	}
	return n, nil
}

func (p *parser) match(x Expr) (Expr, error) {
	t := p.advance()
	m := &PatternMatch{X: x, Offset: t.pos}
	switch {
	case t.kind == tokColon:
		m.Kind = MatchSeq
	case t.text == "like" && !t.tilde:
		m.Kind = MatchLike
	case t.text == "like":
		m.Kind = MatchLikeI
	case t.text == "regex" && !t.tilde:
		m.Kind = MatchRegex
	default:
		m.Kind = MatchRegexI
	}
	if m.Kind == MatchSeq {
		return p.seqOperands(m)
	}
	if p.peek().kind == tokLParen {
		p.advance()
		m.List = true
		for {
			s, err := p.expect(tokString, fmt.Sprintf("a string pattern for %s", m.Kind))
			if err != nil {
				return nil, err
			}
			m.Patterns = append(m.Patterns, s.text)
			if p.peek().kind != tokComma {
				break
			}
			p.advance()
		}
		if _, err := p.expect(tokRParen, "')' to close the pattern list"); err != nil {
			return nil, err
		}
		return m, nil
	}
	s, err := p.expect(tokString, fmt.Sprintf("a string pattern for %s", m.Kind))
	if err != nil {
		return nil, err
	}
	m.Patterns = []string{s.text}
	return m, nil
}

// seqOperands reads the right side of ":", one operand or a parenthesised
// list. Elasticsearch takes any operand there; string literals are patterns,
// everything else (numbers, booleans, null, fields, calls) an operand.
func (p *parser) seqOperands(m *PatternMatch) (Expr, error) {
	var list []Expr
	if p.peek().kind == tokLParen {
		p.advance()
		m.List = true
		l, err := p.exprList()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, "')' to close the pattern list"); err != nil {
			return nil, err
		}
		list = l
	} else {
		x, err := p.arith()
		if err != nil {
			return nil, err
		}
		list = []Expr{x}
	}
	for _, x := range list {
		if l, ok := x.(*Literal); ok {
			if s, ok := l.Value.(string); ok {
				m.Patterns = append(m.Patterns, s)
				continue
			}
		}
		m.Operands = append(m.Operands, x)
	}
	return m, nil
}

func (p *parser) arith() (Expr, error) {
	l, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		var op Op
		switch t.kind {
		case tokPlus:
			op = OpAdd
		case tokMinus:
			op = OpSub
		default:
			return l, nil
		}
		p.advance()
		r, err := p.term()
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: op, L: l, R: r, Offset: t.pos}
	}
}

func (p *parser) term() (Expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		var op Op
		switch t.kind {
		case tokStar:
			op = OpMul
		case tokSlash:
			op = OpDiv
		case tokPercent:
			op = OpMod
		default:
			return l, nil
		}
		p.advance()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: op, L: l, R: r, Offset: t.pos}
	}
}

func (p *parser) unary() (Expr, error) {
	t := p.peek()
	switch t.kind {
	case tokMinus:
		p.advance()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		if lit, ok := x.(*Literal); ok {
			switch v := lit.Value.(type) {
			case int64:
				return &Literal{Value: -v, Offset: t.pos}, nil
			case float64:
				return &Literal{Value: -v, Offset: t.pos}, nil
			}
		}
		return &Neg{X: x, Offset: t.pos}, nil
	case tokPlus:
		p.advance()
		return p.unary()
	}
	return p.primary()
}

func (p *parser) primary() (Expr, error) {
	t := p.peek()
	switch t.kind {
	case tokString:
		p.advance()
		return &Literal{Value: t.text, Offset: t.pos}, nil
	case tokInt:
		p.advance()
		if n, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			return &Literal{Value: n, Offset: t.pos}, nil
		}
		f, _ := strconv.ParseFloat(t.text, 64)
		return &Literal{Value: f, Offset: t.pos}, nil
	case tokFloat:
		p.advance()
		f, _ := strconv.ParseFloat(t.text, 64)
		return &Literal{Value: f, Offset: t.pos}, nil
	case tokLParen:
		p.advance()
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		return x, nil
	case tokQuestion:
		p.advance()
		f, err := p.field()
		if err != nil {
			return nil, err
		}
		f.Optional = true
		f.Offset = t.pos
		return f, nil
	case tokEscapedIdent:
		return p.field()
	case tokIdent:
		if !t.tilde {
			switch t.text {
			case "true", "false":
				p.advance()
				return &Literal{Value: t.text == "true", Offset: t.pos}, nil
			case "null":
				p.advance()
				return &Literal{Value: nil, Offset: t.pos}, nil
			}
		}
		if p.peekAt(1).kind == tokLParen {
			return p.call()
		}
		if keywords[t.text] {
			return nil, p.errorf(t.pos, "expected an expression, found keyword %s", describe(t))
		}
		if t.tilde {
			return nil, p.errorf(t.pos, "~ after %q: only functions and in/like/regex take ~", t.text)
		}
		return p.field()
	case tokEOF:
		return nil, p.errorf(t.pos, "unexpected end of query, expected an expression")
	}
	return nil, p.errorf(t.pos, "expected an expression, found %s", describe(t))
}

func (p *parser) field() (*Field, error) {
	first := p.peek()
	f := &Field{Offset: first.pos}
	if first.kind == tokIdent && (keywords[first.text] || first.tilde) {
		return nil, p.errorf(first.pos, "expected a field name, found %s", describe(first))
	}
	if first.kind != tokIdent && first.kind != tokEscapedIdent {
		return nil, p.errorf(first.pos, "expected a field name, found %s", describe(first))
	}
	p.advance()
	f.Path = append(f.Path, first.text)
	for p.peek().kind == tokDot {
		p.advance()
		t := p.peek()
		// Keywords are fine after a dot (event.sequence): nothing else can
		// stand there.
		if (t.kind != tokIdent && t.kind != tokEscapedIdent) || t.tilde {
			return nil, p.errorf(t.pos, "expected a field name after '.', found %s", describe(t))
		}
		p.advance()
		f.Path = append(f.Path, t.text)
	}
	return f, nil
}

func (p *parser) call() (Expr, error) {
	name := p.advance()
	fn, ok := lookupFunc(name.text)
	if !ok {
		return nil, p.errorf(name.pos, "unknown function %q", name.text)
	}
	if name.tilde && !fn.insensitive {
		return nil, p.errorf(name.pos, "function %s has no case-insensitive form %s~", fn.name, fn.name)
	}
	p.advance() // (
	c := &Call{Name: fn.name, Insensitive: name.tilde, Offset: name.pos}
	if p.peek().kind != tokRParen {
		args, err := p.exprList()
		if err != nil {
			return nil, err
		}
		c.Args = args
	}
	if _, err := p.expect(tokRParen, "')' to close the function call"); err != nil {
		return nil, err
	}
	if len(c.Args) < fn.minArgs || (fn.maxArgs >= 0 && len(c.Args) > fn.maxArgs) {
		return nil, p.errorf(name.pos, "%s takes %s, got %d", fn.name, fn.arity(), len(c.Args))
	}
	return c, nil
}
