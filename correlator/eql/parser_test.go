package eql

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLexer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want string // kind:text pairs
	}{
		{`a.b == "x"`, `identifier:a '.' identifier:b '==' string:x end`},
		{`x in~ ("a")`, `identifier:x identifier:in~ '(' string:a ')' end`},
		{`startsWith~(a, "b")`, `identifier:startsWith~ '(' identifier:a ',' string:b ')' end`},
		{"1 2.5 .5 1e3 7m", `integer:1 number:2.5 number:.5 number:1e3 integer:7 identifier:m end`},
		{`"a\"b\\c\n\t\u{41}\u{1F600}"`, "string:a\"b\\c\n\tA\U0001F600 end"},
		{`"""raw \ "quoted" \n"""`, `string:raw \ "quoted" \n end`},
		{"`my-field`.`a``b`", "quoted field:my-field '.' quoted field:a`b end"},
		{"a // comment\n/* block\ncomment */ b", `identifier:a identifier:b end`},
		{"?x != null", `'?' identifier:x '!=' identifier:null end`},
		{"@timestamp <= 1 >= 2 < > !", `identifier:@timestamp '<=' integer:1 '>=' integer:2 '<' '>' '!' end`},
		{"![ ! [ !=", `'![' '!' '[' '!=' end`},
		{"a:b|c=d+e-f*g/h%i", `identifier:a ':' identifier:b '|' identifier:c '=' identifier:d '+' identifier:e '-' identifier:f '*' identifier:g '/' identifier:h '%' identifier:i end`},
	}
	for _, tt := range tests {
		toks, err := tokenize(tt.src)
		if err != nil {
			t.Errorf("tokenize(%q): %v", tt.src, err)
			continue
		}
		var parts []string
		for _, tok := range toks {
			switch tok.kind {
			case tokEOF:
				parts = append(parts, "end")
			case tokIdent, tokEscapedIdent, tokString, tokInt, tokFloat:
				text := tok.text
				if tok.tilde {
					text += "~"
				}
				parts = append(parts, tok.kind.String()+":"+text)
			default:
				parts = append(parts, tok.kind.String())
			}
		}
		if got := strings.Join(parts, " "); got != tt.want {
			t.Errorf("tokenize(%q)\n got %s\nwant %s", tt.src, got, tt.want)
		}
	}
}

func TestParseCanonical(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{`process where true`, `process where true`},
		{`any where a == 1`, `any where (a == 1)`},
		{`"my-cat" where a`, `"my-cat" where a`},
		{`process where a and b or c and not d`, `process where ((a and b) or (c and not d))`},
		{`process where not a == 1 and b`, `process where (not (a == 1) and b)`},
		{`process where a + b * c - -d % 2 > 3`, `process where (((a + (b * c)) - (-d % 2)) > 3)`},
		{`process where (a or b) and c`, `process where ((a or b) and c)`},
		{`process where a : "x*"`, `process where a : "x*"`},
		{`process where a : ("x", "y")`, `process where a : ("x", "y")`},
		{`process where a like~ "x" and b regex ("a.*", "b")`, `process where (a like~ "x" and b regex ("a.*", "b"))`},
		{`process where a not in ("x", 1) and b in~ (c, "d")`, `process where (a not in ("x", 1) and b in~ (c, "d"))`},
		{`process where startsWith~(a, "x") and CIDRMATCH(ip, "10.0.0.0/8")`, `process where (startsWith~(a, "x") and cidrMatch(ip, "10.0.0.0/8"))`},
		{`process where ?a.b != null and -1.5 < 2.0`, `process where ((?a.b != null) and (-1.5 < 2.0))`},
		{"process where `my-field`.x == \"\"\"C:\\raw\"\"\"", "process where (`my-field`.x == \"C:\\\\raw\")"},
		{`process where event.sequence == 1`, `process where (event.sequence == 1)`},
		{"sequence by host.id with maxspan=1m [network where a] by b [process where c] by d",
			"sequence by host.id with maxspan=1m [network where a] by b [process where c] by d"},
		{"sequence with maxspan = 500ms [a where x] [b where y] with runs=3 until [c where z]",
			"sequence with maxspan=500ms [a where x] [b where y] with runs=3 until [c where z]"},
		{"sequence by a, ?b [x where true] [y where true]", "sequence by a, ?b [x where true] [y where true]"},
		{"sequence with maxspan=2h [x where true] with runs=2", "sequence with maxspan=2h [x where true] with runs=2"},
		{"sequence with maxspan=1d [x where true] [y where true]", "sequence with maxspan=1d [x where true] [y where true]"},
		{"sequence with maxspan=90s [x where true] [y where true]", "sequence with maxspan=90s [x where true] [y where true]"},
		{"sequence by k with maxspan=1h\n  ![a where x] by p\n  [b where true] by p\n  ![\"c-d\" where y] by q with runs=2",
			`sequence by k with maxspan=1h ![a where x] by p [b where true] by p !["c-d" where y] by q with runs=2`},
		{"sample by host [any where uptime > 0] by os [any where port > 100] by op_sys",
			"sample by host [any where (uptime > 0)] by os [any where (port > 100)] by op_sys"},
		{"sample [a where true] by x, ?y [b where true] by x, ?y", "sample [a where true] by x, ?y [b where true] by x, ?y"},
		{"process where true | head 5 | tail 2", "process where true | head 5 | tail 2"},
		{"any where (not a) == b and -(not c) in (d) and (not e) : \"x\"", `any where ((((not a) == b) and -(not c) in (d)) and (not e) : "x")`},
		{"process where true | head 2 * 3 | tail 0", "process where true | head 6 | tail 0"},
		{"sequence [a where true] [b where true] | tail 1", "sequence [a where true] [b where true] | tail 1"},
	}
	for _, tt := range tests {
		q, err := Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		if got := q.String(); got != tt.want {
			t.Errorf("Parse(%q)\n got %s\nwant %s", tt.src, got, tt.want)
			continue
		}
		again, err := Parse(q.String())
		if err != nil || again.String() != q.String() {
			t.Errorf("reparse of %q: %v, %q", q.String(), err, again)
		}
	}
}

func TestParseSequenceShape(t *testing.T) {
	t.Parallel()
	q, err := Parse("sequence by host.id with maxspan=1m\n [network where true] by process.entity_id\n [process where true] by process.parent.entity_id with runs=2\nuntil [process where false] by process.entity_id")
	if err != nil {
		t.Fatal(err)
	}
	s := q.Sequence
	if s == nil || q.Event != nil {
		t.Fatalf("not a sequence: %+v", q)
	}
	if s.MaxSpan != time.Minute || len(s.By) != 1 || len(s.Stages) != 2 || s.Until == nil {
		t.Fatalf("shape: %+v", s)
	}
	if s.Stages[0].Query.Category != "network" || s.Stages[1].Runs != 2 || s.Stages[1].By[0].String() != "process.parent.entity_id" {
		t.Errorf("stages: %s / %s", s.Stages[0], s.Stages[1])
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src       string
		line, col int
		msg       string
	}{
		{`process where`, 1, 14, "unexpected end of query"},
		{`process where a ==`, 1, 19, "unexpected end of query"},
		{`process where a = 1`, 1, 17, "= is not an operator"},
		{"process where\n  a == 'x'", 2, 8, "double quotes"},
		{"process where a == \"abc", 1, 20, "unterminated string"},
		{"process where a == \"a\\qb\"", 1, 22, `invalid escape sequence \q`},
		{"process where a == \"\\u{zz}\"", 1, 21, "invalid unicode escape"},
		{"process where /* open", 1, 15, "unterminated comment"},
		{"process where a == 1 == 2", 1, 22, "cannot be chained"},
		{"process where a like 1", 1, 22, "expected a string pattern for like"},
		{"process where a regex~ (\"x\", b)", 1, 30, "expected a string pattern for regex~"},
		{"process where a : (1, ", 1, 22, "unexpected end of query"},
		{"process where a like (\"x\" \"y\")", 1, 27, "expected ')'"},
		{"process where nosuch(a)", 1, 15, `unknown function "nosuch"`},
		{"process where length~(a)", 1, 15, "no case-insensitive form"},
		{"process where length(a, b)", 1, 15, "length takes 1 argument, got 2"},
		{"process where substring(a)", 1, 15, "substring takes 2 to 3 arguments, got 1"},
		{"process where a == 1 | head", 1, 28, "expects exactly one argument"},
		{"process where a == 1 | head -1", 1, 29, "expects a positive integer"},
		{"process where a == 1 | head 1.5", 1, 29, "expects a positive integer"},
		{"process where a == 1 | head x", 1, 29, "expects a positive integer"},
		{"process where a == 1 | head 1, 2", 1, 29, "expects exactly one argument but found 2"},
		{"process where a == 1 | count", 1, 24, "pipe count is not supported"},
		{"process where a == 1 | top 5", 1, 24, `unrecognized pipe "top"`},
		{"process where a == 1 | 5", 1, 24, "expected a pipe name"},
		{"sample by x [a where true] [b where true] | head 1", 1, 43, "pipes are not supported for sample queries"},
		{"sample by x [a where true] with runs=2", 1, 28, "take no \"with\""},
		{"sample by x with maxspan=1m [a where true]", 1, 13, "take no \"with\""},
		{"sample by x [a where true] until [b where true]", 1, 28, "take no \"until\""},
		{"sample by x ![a where true] [b where true]", 1, 13, "cannot have missing-event filters"},
		{"sample [a where true] [b where true]", 1, 1, "needs join keys"},
		{"sample by x", 1, 1, "at least one filter"},
		{"sample by x [a where true] by y [b where true]", 1, 33, "inconsistent number of join keys"},
		{"sample by x [a where true] [a where true] [a where true] [a where true] [a where true] [a where true]", 1, 88, "at most 5 filters"},
		{"sequence with maxspan=1m [a where true] ! [b where true]", 1, 41, "no space after '!'"},
		{"sequence with maxspan=1m [a where true] [b where true] until ![c where true]", 1, 62, "cannot be a missing event"},
		{"sequence with maxspan=1m ![a where true] ![b where true]", 1, 1, "at least one stage that is not a missing event"},
		{"join [a where true] [b where true]", 1, 1, "join queries are not supported"},
		{"process a == 1", 1, 9, `expected "where"`},
		{"where a", 1, 1, "expected an event category"},
		{"process where a and", 1, 20, "unexpected end of query"},
		{"process where (a == 1", 1, 22, "expected ')'"},
		{"process where a # 1", 1, 17, "unexpected character '#'"},
		{"sequence [a where true]", 1, 1, "at least two stages"},
		{"sequence with maxspan=5 [a where true] [b where true]", 1, 23, "no time unit specified"},
		{"sequence with maxspan=5y [a where true] [b where true]", 1, 24, "unknown time unit"},
		{"sequence with maxspan=1m by x [a where true] [b where true]", 1, 26, "before \"with maxspan\""},
		{"sequence by a [a where true] by b [b where true]", 1, 35, "inconsistent number of join keys"},
		{"sequence\n [a where true]\n [b where true] with runs=101", 3, 27, "runs must be between 1 and 100"},
		{"sequence [a where true] [b where true] until [c where true] with runs=2", 1, 61, "not allowed on an until stage"},
		{"sequence [a where true] ![b where true]", 1, 1, "needs \"with maxspan\""},
		{"sequence [a where true] [b where true] fork=true by x", 1, 40, "fork is not supported"},
		{"sequence [a where true] fork [b where true]", 1, 25, "fork is not supported"},
		{"process where a in (1, 2", 1, 25, "expected ')' to close the list"},
		{"process where by == 1", 1, 15, "keyword"},
		{"process where a.", 1, 17, "expected a field name after '.'"},
		{"process where a~ == 1", 1, 15, "only functions"},
		{"process where a == 1\n  and b ==\n", 2, 11, "unexpected end of query"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.src)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a SyntaxError", tt.src, err)
			continue
		}
		if se.Line != tt.line || se.Column != tt.col || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("Parse(%q) = %d:%d %q, want %d:%d containing %q", tt.src, se.Line, se.Column, se.Msg, tt.line, tt.col, tt.msg)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src       string
		line, col int
		msg       string
	}{
		{"process where 1 + 2", 1, 17, "not a boolean expression"},
		{"process where a and \"x\"", 1, 21, "not a boolean expression"},
		{"process where a regex \"(\"", 1, 17, "invalid regular expression"},
		{"process where a regex \"a&b\"", 1, 17, "not supported"},
		{"process where cidrMatch(a, \"10.0.0.0/33\")", 1, 28, "not a CIDR block"},
		{"process where true | head 1 / 0", 1, 27, "expects a positive integer"},
		{"sequence [a where true]\n [b where length(x)]", 2, 11, "not a boolean expression"},
	}
	for _, tt := range tests {
		_, err := CompileString(tt.src)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("CompileString(%q) = %v, want a SyntaxError", tt.src, err)
			continue
		}
		if se.Line != tt.line || se.Column != tt.col || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("CompileString(%q) = %d:%d %q, want %d:%d containing %q", tt.src, se.Line, se.Column, se.Msg, tt.line, tt.col, tt.msg)
		}
	}
}
