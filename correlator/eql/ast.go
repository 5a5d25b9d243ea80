package eql

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Query is a parsed EQL query: an event query, a sequence or a sample,
// with the pipes that follow it.
type Query struct {
	Source   string
	Event    *EventQuery    // set for "category where condition"
	Sequence *SequenceQuery // set for "sequence ..."
	Sample   *SampleQuery   // set for "sample ..."
	Pipes    []Pipe         // "| head 5 | tail 2", in order
}

// SampleQuery is "sample [by keys] [filter] [by keys] ...": events that
// share join keys, in any order.
type SampleQuery struct {
	By      []Expr
	Filters []*Stage // Runs is 1 and Missing false for every filter
	Pos     int
}

// PipeKind names a pipe.
type PipeKind int

// The pipes Elasticsearch supports.
const (
	PipeHead PipeKind = iota // the first N results
	PipeTail                 // the last N results
)

func (k PipeKind) String() string {
	if k == PipeTail {
		return "tail"
	}
	return "head"
}

// Pipe is "| head N" or "| tail N".
type Pipe struct {
	Kind PipeKind
	N    int
	Pos  int
}

func (p Pipe) String() string { return "| " + p.Kind.String() + " " + strconv.Itoa(p.N) }

// EventQuery is "category where condition". Category is empty for "any".
type EventQuery struct {
	Category string
	Where    Expr
	Pos      int
}

// SequenceQuery is "sequence [by keys] [with maxspan=d] stages [until stage]".
type SequenceQuery struct {
	By      []Expr
	MaxSpan time.Duration // 0 when not given
	Stages  []*Stage      // as written; a stage with Runs > 1 stands for Runs stages
	Until   *Stage
	Pos     int
}

// Stage is one bracketed event filter of a sequence with its own join keys.
type Stage struct {
	Query   EventQuery
	By      []Expr
	Runs    int  // "with runs=N"; 1 when not given
	Missing bool // "![...]": no such event may occur there
	Pos     int
}

// Expr is an expression node.
type Expr interface {
	// Pos is the byte offset of the node in the query.
	Pos() int
	String() string
}

// Literal is a constant: nil (null), bool, int64, float64 or string.
type Literal struct {
	Value  any
	Offset int
}

// Field is a field reference such as process.parent.name or ?user.id.
type Field struct {
	Path     []string // dotted parts
	Optional bool     // written with a leading '?'
	Offset   int
}

// Name is the dotted field path.
func (f *Field) Name() string { return strings.Join(f.Path, ".") }

// Op is a binary operator.
type Op int

// Binary operators.
const (
	OpAnd Op = iota
	OpOr
	OpEq
	OpNeq
	OpLt
	OpLte
	OpGt
	OpGte
	OpAdd
	OpSub
	OpMul
	OpDiv
	OpMod
)

var opText = [...]string{
	OpAnd: "and", OpOr: "or", OpEq: "==", OpNeq: "!=", OpLt: "<", OpLte: "<=",
	OpGt: ">", OpGte: ">=", OpAdd: "+", OpSub: "-", OpMul: "*", OpDiv: "/", OpMod: "%",
}

func (o Op) String() string { return opText[o] }

// Binary is a boolean connective, comparison or arithmetic operation.
type Binary struct {
	Op     Op
	L, R   Expr
	Offset int
}

// Not is "not X".
type Not struct {
	X      Expr
	Offset int
}

// Neg is unary minus.
type Neg struct {
	X      Expr
	Offset int
}

// In is "X [not] in[~] (list)".
type In struct {
	X           Expr
	List        []Expr
	Insensitive bool
	Negated     bool
	Offset      int
}

// MatchKind says how a Match compares.
type MatchKind int

// Pattern match kinds.
const (
	MatchSeq    MatchKind = iota // ":" case-insensitive wildcard equality
	MatchLike                    // like
	MatchLikeI                   // like~
	MatchRegex                   // regex
	MatchRegexI                  // regex~
	// MatchRE2 is not EQL syntax: Sigma's "re" modifier compiles to it. The
	// pattern is Go's RE2 syntax, unanchored, flags written inline ((?i)).
	MatchRE2
)

var matchText = [...]string{MatchSeq: ":", MatchLike: "like", MatchLikeI: "like~", MatchRegex: "regex", MatchRegexI: "regex~", MatchRE2: "re2"}

func (k MatchKind) String() string { return matchText[k] }

// PatternMatch is "X : pattern", "X like (patterns)", "X regex~ pattern" and so on.
//
// Elasticsearch accepts any operand after ":" (serial_event_id : 1,
// x : number("5"), a : other_field). Only string literals are wildcard
// patterns; the other operands are kept in Operands and compared as == is,
// strings case-insensitively.
type PatternMatch struct {
	X        Expr
	Kind     MatchKind
	Patterns []string
	Operands []Expr // ":" only: operands that are not string literals
	List     bool   // written with parentheses
	Offset   int
}

// Call is a function call; Name is the canonical function name.
type Call struct {
	Name        string
	Insensitive bool // name~
	Args        []Expr
	Offset      int
}

func (e *Literal) Pos() int      { return e.Offset }
func (e *Field) Pos() int        { return e.Offset }
func (e *Binary) Pos() int       { return e.Offset }
func (e *Not) Pos() int          { return e.Offset }
func (e *Neg) Pos() int          { return e.Offset }
func (e *In) Pos() int           { return e.Offset }
func (e *PatternMatch) Pos() int { return e.Offset }
func (e *Call) Pos() int         { return e.Offset }

func (e *Literal) String() string {
	switch v := e.Value.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		return s
	case string:
		return quote(v)
	}
	return "?"
}

// quote writes s as an EQL string literal.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u{%02x}`, r)
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (e *Field) String() string {
	var b strings.Builder
	if e.Optional {
		b.WriteByte('?')
	}
	for i, p := range e.Path {
		if i > 0 {
			b.WriteByte('.')
		}
		// Keywords need quoting only where a field name starts.
		if plainIdent(p) || (i > 0 && keywords[p] && plainIdent("x"+p)) {
			b.WriteString(p)
		} else {
			b.WriteString("`" + strings.ReplaceAll(p, "`", "``") + "`")
		}
	}
	return b.String()
}

func plainIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) || keywords[s] {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentPart(s[i]) {
			return false
		}
	}
	return true
}

func (e *Binary) String() string {
	if e.Op == OpAnd || e.Op == OpOr {
		return "(" + e.L.String() + " " + e.Op.String() + " " + e.R.String() + ")"
	}
	return "(" + operand(e.L) + " " + e.Op.String() + " " + operand(e.R) + ")"
}

// operand prints an operand of a comparison, arithmetic or predicate: "not"
// stands there only in parentheses.
func operand(e Expr) string {
	if _, ok := e.(*Not); ok {
		return "(" + e.String() + ")"
	}
	return e.String()
}

func (e *Not) String() string { return "not " + e.X.String() }
func (e *Neg) String() string { return "-" + operand(e.X) }

func (e *In) String() string {
	op := " in"
	if e.Negated {
		op = " not in"
	}
	if e.Insensitive {
		op += "~"
	}
	return operand(e.X) + op + " (" + joinExprs(e.List) + ")"
}

func (e *PatternMatch) String() string {
	ps := make([]string, 0, len(e.Patterns)+len(e.Operands))
	for _, p := range e.Patterns {
		ps = append(ps, quote(p))
	}
	for _, o := range e.Operands {
		ps = append(ps, o.String())
	}
	rhs := strings.Join(ps, ", ")
	if e.List {
		rhs = "(" + rhs + ")"
	}
	return operand(e.X) + " " + e.Kind.String() + " " + rhs
}

func (e *Call) String() string {
	name := e.Name
	if e.Insensitive {
		name += "~"
	}
	return name + "(" + joinExprs(e.Args) + ")"
}

func joinExprs(es []Expr) string {
	parts := make([]string, len(es))
	for i, x := range es {
		parts[i] = x.String()
	}
	return strings.Join(parts, ", ")
}

func (q *EventQuery) String() string {
	cat := "any"
	if q.Category != "" {
		cat = q.Category
		if !plainIdent(cat) {
			cat = quote(cat)
		}
	}
	return cat + " where " + q.Where.String()
}

func (s *Stage) String() string {
	var b strings.Builder
	if s.Missing {
		b.WriteString("![")
	} else {
		b.WriteByte('[')
	}
	b.WriteString(s.Query.String() + "]")
	if len(s.By) > 0 {
		b.WriteString(" by " + joinExprs(s.By))
	}
	if s.Runs > 1 {
		b.WriteString(" with runs=" + strconv.Itoa(s.Runs))
	}
	return b.String()
}

func (q *SequenceQuery) String() string {
	var b strings.Builder
	b.WriteString("sequence")
	if len(q.By) > 0 {
		b.WriteString(" by " + joinExprs(q.By))
	}
	if q.MaxSpan > 0 {
		b.WriteString(" with maxspan=" + formatSpan(q.MaxSpan))
	}
	for _, s := range q.Stages {
		b.WriteString(" " + s.String())
	}
	if q.Until != nil {
		b.WriteString(" until " + q.Until.String())
	}
	return b.String()
}

func (q *SampleQuery) String() string {
	var b strings.Builder
	b.WriteString("sample")
	if len(q.By) > 0 {
		b.WriteString(" by " + joinExprs(q.By))
	}
	for _, f := range q.Filters {
		b.WriteString(" " + f.String())
	}
	return b.String()
}

// String prints the query in canonical form: fully parenthesised binary
// operations, one line. Parsing the output gives the same tree.
func (q *Query) String() string {
	var s string
	switch {
	case q.Sequence != nil:
		s = q.Sequence.String()
	case q.Sample != nil:
		s = q.Sample.String()
	default:
		s = q.Event.String()
	}
	for _, p := range q.Pipes {
		s += " " + p.String()
	}
	return s
}

func formatSpan(d time.Duration) string {
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "micros"}}
	for _, u := range units {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "nanos"
}
