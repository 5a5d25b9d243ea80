package eql

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// funcSpec describes one EQL function. impl receives scalar arguments (the
// caller fans out over multi-valued ones) and fold for the name~ form.
type funcSpec struct {
	name        string
	minArgs     int
	maxArgs     int // -1: variadic
	insensitive bool
	predicate   bool // returns a boolean, so it may stand as a condition
	impl        func(args []value, fold bool) value
}

func (f *funcSpec) arity() string {
	switch {
	case f.maxArgs < 0:
		return "at least " + plural(f.minArgs, "argument")
	case f.minArgs == f.maxArgs:
		return plural(f.minArgs, "argument")
	}
	return strconv.Itoa(f.minArgs) + " to " + strconv.Itoa(f.maxArgs) + " arguments"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// funcs is keyed by lower-case name: Elasticsearch resolves function names
// case-insensitively (rules write both startsWith~ and startswith~).
var funcs = map[string]*funcSpec{
	"add":            {name: "add", minArgs: 2, maxArgs: 2, impl: arith(OpAdd)},
	"between":        {name: "between", minArgs: 3, maxArgs: 4, insensitive: true, impl: fnBetween},
	"cidrmatch":      {name: "cidrMatch", minArgs: 2, maxArgs: -1, predicate: true, impl: fnCidrMatch},
	"concat":         {name: "concat", minArgs: 1, maxArgs: -1, impl: fnConcat},
	"divide":         {name: "divide", minArgs: 2, maxArgs: 2, impl: arith(OpDiv)},
	"endswith":       {name: "endsWith", minArgs: 2, maxArgs: 2, insensitive: true, predicate: true, impl: fnEndsWith},
	"indexof":        {name: "indexOf", minArgs: 2, maxArgs: 3, insensitive: true, impl: fnIndexOf},
	"length":         {name: "length", minArgs: 1, maxArgs: 1, impl: fnLength},
	"modulo":         {name: "modulo", minArgs: 2, maxArgs: 2, impl: arith(OpMod)},
	"multiply":       {name: "multiply", minArgs: 2, maxArgs: 2, impl: arith(OpMul)},
	"number":         {name: "number", minArgs: 1, maxArgs: 2, impl: fnNumber},
	"startswith":     {name: "startsWith", minArgs: 2, maxArgs: 2, insensitive: true, predicate: true, impl: fnStartsWith},
	"string":         {name: "string", minArgs: 1, maxArgs: 1, impl: fnString},
	"stringcontains": {name: "stringContains", minArgs: 2, maxArgs: 2, insensitive: true, predicate: true, impl: fnStringContains},
	"substring":      {name: "substring", minArgs: 2, maxArgs: 3, impl: fnSubstring},
	"subtract":       {name: "subtract", minArgs: 2, maxArgs: 2, impl: arith(OpSub)},
}

func lookupFunc(name string) (*funcSpec, bool) {
	f, ok := funcs[strings.ToLower(name)]
	return f, ok
}

func arith(op Op) func([]value, bool) value {
	return func(a []value, _ bool) value { return arithmetic(op, a[0], a[1]) }
}

// arithmetic follows Elasticsearch (Java) semantics: integer operands give
// integer results (division truncates), any float makes the result a float,
// null or a non-number gives null, and so does division by zero.
func arithmetic(op Op, a, b value) value {
	x, okA := asNumber(a)
	y, okB := asNumber(b)
	if !okA || !okB {
		return nullValue
	}
	if x.k == kInt && y.k == kInt {
		switch op {
		case OpAdd:
			return intValue(x.i + y.i)
		case OpSub:
			return intValue(x.i - y.i)
		case OpMul:
			return intValue(x.i * y.i)
		case OpDiv:
			if y.i == 0 {
				return nullValue
			}
			return intValue(x.i / y.i)
		case OpMod:
			if y.i == 0 {
				return nullValue
			}
			return intValue(x.i % y.i)
		}
	}
	fx, fy := x.float(), y.float()
	switch op {
	case OpAdd:
		return floatValue(fx + fy)
	case OpSub:
		return floatValue(fx - fy)
	case OpMul:
		return floatValue(fx * fy)
	case OpDiv:
		if fy == 0 {
			return nullValue
		}
		return floatValue(fx / fy)
	case OpMod:
		if fy == 0 {
			return nullValue
		}
		return floatValue(math.Mod(fx, fy))
	}
	return nullValue
}

// strArgs reads the arguments as strings; ok is false when one is null.
func strArgs(args []value, n int) ([]string, bool) {
	out := make([]string, n)
	for i := 0; i < n; i++ {
		s, ok := asString(args[i])
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

func fnStartsWith(a []value, fold bool) value {
	s, ok := strArgs(a, 2)
	if !ok {
		return nullValue
	}
	if fold {
		return boolValue(hasPrefixFold(s[0], s[1]))
	}
	return boolValue(strings.HasPrefix(s[0], s[1]))
}

func fnEndsWith(a []value, fold bool) value {
	s, ok := strArgs(a, 2)
	if !ok {
		return nullValue
	}
	if fold {
		return boolValue(hasSuffixFold(s[0], s[1]))
	}
	return boolValue(strings.HasSuffix(s[0], s[1]))
}

// fnStringContains returns false for an empty substring, as Elasticsearch
// documents (stringContains("", "") is false).
func fnStringContains(a []value, fold bool) value {
	s, ok := strArgs(a, 2)
	if !ok {
		return nullValue
	}
	if s[1] == "" {
		return falseValue
	}
	if fold {
		return boolValue(indexFold(s[0], s[1], 0) >= 0)
	}
	return boolValue(strings.Contains(s[0], s[1]))
}

func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		a, na := utf8.DecodeRuneInString(s)
		b, nb := utf8.DecodeRuneInString(prefix)
		if !equalFoldRune(a, b) {
			return false
		}
		s, prefix = s[na:], prefix[nb:]
	}
	return true
}

func hasSuffixFold(s, suffix string) bool {
	for suffix != "" {
		if s == "" {
			return false
		}
		a, na := utf8.DecodeLastRuneInString(s)
		b, nb := utf8.DecodeLastRuneInString(suffix)
		if !equalFoldRune(a, b) {
			return false
		}
		s, suffix = s[:len(s)-na], suffix[:len(suffix)-nb]
	}
	return true
}

// indexFold returns the byte offset of the first case-folded occurrence of
// sub in s at or after byte offset from, or -1.
func indexFold(s, sub string, from int) int {
	for i := from; i <= len(s); {
		if hasPrefixFold(s[i:], sub) {
			return i
		}
		if i == len(s) {
			break
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return -1
}

// runeOffset converts a character position to a byte offset (clamped).
func runeOffset(s string, pos int) int {
	off := 0
	for i := 0; i < pos && off < len(s); i++ {
		_, n := utf8.DecodeRuneInString(s[off:])
		off += n
	}
	return off
}

// fnBetween mirrors Elasticsearch's StringUtils.between: the text after the
// first left and before the next right (or the last right when greedy); ""
// when either is not found.
func fnBetween(a []value, fold bool) value {
	s, ok := strArgs(a, 3)
	if !ok {
		return nullValue
	}
	greedy := false
	if len(a) == 4 {
		g, ok := asBool(a[3])
		if !ok {
			return nullValue
		}
		greedy = g
	}
	src, left, right := s[0], s[1], s[2]
	index := strings.Index
	if fold {
		index = func(x, sub string) int { return indexFold(x, sub, 0) }
	}
	i := index(src, left)
	if i < 0 {
		return strValue("")
	}
	start := i + len(left)
	if fold {
		start = i + len(foldPrefixLen(src[i:], left))
	}
	var end int
	if greedy {
		end = -1
		for j := start; ; {
			k := index(src[j:], right)
			if k < 0 {
				break
			}
			end = j + k
			if end >= len(src) {
				break
			}
			_, n := utf8.DecodeRuneInString(src[end:])
			j = end + n
		}
	} else {
		end = index(src[start:], right)
		if end >= 0 {
			end += start
		}
	}
	if end < start {
		return strValue("")
	}
	return strValue(src[start:end])
}

// foldPrefixLen returns the prefix of s that case-folds to prefix.
func foldPrefixLen(s, prefix string) string {
	off := 0
	for range prefix {
		_, n := utf8.DecodeRuneInString(s[off:])
		off += n
	}
	return s[:off]
}

func fnCidrMatch(a []value, _ bool) value {
	s, ok := asString(a[0])
	if !ok {
		return nullValue
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return falseValue
	}
	addr = addr.Unmap()
	for _, c := range a[1:] {
		cs, ok := asString(c)
		if !ok {
			return nullValue
		}
		if p, ok := parsePrefix(cs); ok && p.Contains(addr) {
			return trueValue
		}
	}
	return falseValue
}

// parsePrefix reads a CIDR block or a single address; IPv4-mapped IPv6 is
// unmapped, as Elasticsearch stores such addresses as IPv4.
func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked(), true
		}
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

func fnConcat(a []value, _ bool) value {
	var b strings.Builder
	for _, v := range a {
		s, ok := asString(v)
		if !ok {
			return nullValue
		}
		b.WriteString(s)
	}
	return strValue(b.String())
}

// fnIndexOf returns the character position of sub in s at or after start;
// null when absent or when start is past the end. Negative starts count as 0.
func fnIndexOf(a []value, fold bool) value {
	s, ok := strArgs(a, 2)
	if !ok {
		return nullValue
	}
	start := int64(0)
	if len(a) == 3 {
		n, ok := asNumber(a[2])
		if !ok {
			return nullValue
		}
		start = int64(n.float())
	}
	if start < 0 {
		start = 0
	}
	src, sub := s[0], s[1]
	if start > int64(utf8.RuneCountInString(src)) {
		return nullValue
	}
	from := runeOffset(src, int(start))
	var i int
	if fold {
		i = indexFold(src, sub, from)
	} else {
		i = strings.Index(src[from:], sub)
		if i >= 0 {
			i += from
		}
	}
	if i < 0 {
		return nullValue
	}
	return intValue(int64(utf8.RuneCountInString(src[:i])))
}

func fnLength(a []value, _ bool) value {
	s, ok := asString(a[0])
	if !ok {
		return nullValue
	}
	return intValue(int64(utf8.RuneCountInString(s)))
}

// fnNumber parses a string as an integer or float; "0x" selects base 16.
func fnNumber(a []value, _ bool) value {
	if a[0].isNumber() {
		return a[0]
	}
	s, ok := asString(a[0])
	if !ok {
		return nullValue
	}
	s = strings.TrimSpace(s)
	base := 10
	if len(a) == 2 && a[1].k != kNull {
		b, ok := asNumber(a[1])
		if !ok || b.k != kInt || b.i < 2 || b.i > 36 {
			return nullValue
		}
		base = int(b.i)
	}
	neg := false
	digits := s
	if strings.HasPrefix(digits, "+") || strings.HasPrefix(digits, "-") {
		neg = digits[0] == '-'
		digits = digits[1:]
	}
	if strings.HasPrefix(digits, "0x") || strings.HasPrefix(digits, "0X") {
		digits = digits[2:]
		base = 16
	}
	if i, err := strconv.ParseInt(digits, base, 64); err == nil {
		if neg {
			i = -i
		}
		return intValue(i)
	}
	if u, err := strconv.ParseUint(digits, base, 64); err == nil && !neg {
		return fromUint(u)
	}
	if base == 10 {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return floatValue(f)
		}
	}
	return nullValue
}

func fnString(a []value, _ bool) value {
	s, ok := asString(a[0])
	if !ok {
		return nullValue
	}
	return strValue(s)
}

// fnSubstring slices by character positions; negative positions count from
// the end, as in Elasticsearch's substringSlice.
func fnSubstring(a []value, _ bool) value {
	s, ok := asString(a[0])
	if !ok {
		return nullValue
	}
	rs := []rune(s)
	n := len(rs)
	startV, ok := asNumber(a[1])
	if !ok {
		return nullValue
	}
	start := int(startV.float())
	end := n
	if len(a) == 3 && a[2].k != kNull {
		e, ok := asNumber(a[2])
		if !ok {
			return nullValue
		}
		end = int(e.float())
	}
	if start < 0 {
		start += n
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end += n
	}
	if end < 0 {
		end = 0
	} else if end > n {
		end = n
	}
	if start >= end {
		return strValue("")
	}
	return strValue(string(rs[start:end]))
}
