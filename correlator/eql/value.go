package eql

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/weft-dev/weft/event"
)

type kind uint8

const (
	kNull kind = iota
	kBool
	kInt
	kFloat
	kString
	kMulti // several values: a multi-valued field or a fanned-out function
)

// value is what an expression evaluates to. Multi-valued document fields
// keep their raw []any (no copy); computed multi-values use m.
type value struct {
	k   kind
	b   bool
	i   int64
	f   float64
	s   string
	raw []any
	m   []value
}

var (
	nullValue  = value{}
	trueValue  = value{k: kBool, b: true}
	falseValue = value{k: kBool}
)

func boolValue(b bool) value {
	if b {
		return trueValue
	}
	return falseValue
}

func strValue(s string) value    { return value{k: kString, s: s} }
func intValue(i int64) value     { return value{k: kInt, i: i} }
func floatValue(f float64) value { return value{k: kFloat, f: f} }

// fromAny converts a document value. Objects count as null: EQL compares
// only leaf values.
func fromAny(x any) value {
	switch v := x.(type) {
	case nil:
		return nullValue
	case string:
		return strValue(v)
	case bool:
		return boolValue(v)
	case int:
		return intValue(int64(v))
	case int8:
		return intValue(int64(v))
	case int16:
		return intValue(int64(v))
	case int32:
		return intValue(int64(v))
	case int64:
		return intValue(v)
	case uint:
		return fromUint(uint64(v))
	case uint8:
		return intValue(int64(v))
	case uint16:
		return intValue(int64(v))
	case uint32:
		return intValue(int64(v))
	case uint64:
		return fromUint(v)
	case float32:
		return floatValue(float64(v))
	case float64:
		return floatValue(v)
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return intValue(i)
		}
		if f, err := v.Float64(); err == nil {
			return floatValue(f)
		}
		return strValue(string(v))
	case time.Time:
		return strValue(v.UTC().Format(time.RFC3339Nano))
	case []any:
		switch len(v) {
		case 0:
			return nullValue
		case 1:
			return fromAny(v[0])
		}
		return value{k: kMulti, raw: v}
	case []string:
		switch len(v) {
		case 0:
			return nullValue
		case 1:
			return strValue(v[0])
		}
		m := make([]value, len(v))
		for i, s := range v {
			m[i] = strValue(s)
		}
		return value{k: kMulti, m: m}
	}
	return nullValue
}

func fromUint(u uint64) value {
	if u > math.MaxInt64 {
		return floatValue(float64(u))
	}
	return intValue(int64(u))
}

// each calls fn for every scalar in v (v itself when it is not
// multi-valued) until fn returns true, and reports whether it did. Nulls
// inside a multi-value are skipped, as Elasticsearch ignores them.
func each(v value, fn func(value) bool) bool {
	switch v.k {
	case kMulti:
		if v.raw != nil {
			for _, x := range v.raw {
				e := fromAny(x)
				if e.k == kNull {
					continue
				}
				if e.k == kMulti {
					if each(e, fn) {
						return true
					}
					continue
				}
				if fn(e) {
					return true
				}
			}
			return false
		}
		for _, e := range v.m {
			if e.k != kNull && fn(e) {
				return true
			}
		}
		return false
	case kNull:
		return false
	}
	return fn(v)
}

// truthy is the boolean reading of a condition: true only for a true
// boolean (or a multi-value holding one); null and everything else is false.
func truthy(v value) bool {
	switch v.k {
	case kBool:
		return v.b
	case kMulti:
		return each(v, func(e value) bool { return e.k == kBool && e.b })
	}
	return false
}

func (v value) isNumber() bool { return v.k == kInt || v.k == kFloat }

func (v value) float() float64 {
	if v.k == kInt {
		return float64(v.i)
	}
	return v.f
}

// asNumber reads v as a number: numbers as they are, strings when they hold
// one (documents may carry "49152" for a port).
func asNumber(v value) (value, bool) {
	switch v.k {
	case kInt, kFloat:
		return v, true
	case kString:
		s := strings.TrimSpace(v.s)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return intValue(i), true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) {
			return floatValue(f), true
		}
	}
	return value{}, false
}

// asString is v as EQL's string() renders it.
func asString(v value) (string, bool) {
	switch v.k {
	case kString:
		return v.s, true
	case kInt:
		return strconv.FormatInt(v.i, 10), true
	case kFloat:
		return javaDouble(v.f), true
	case kBool:
		return strconv.FormatBool(v.b), true
	}
	return "", false
}

// javaDouble formats a float as Java's Double.toString does, which is what
// Elasticsearch prints for string(4.0) ("4.0") or string(1e10) ("1.0E10").
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	a := math.Abs(f)
	if a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // 1.5E+10
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// compareValues orders two scalars: numerically when both read as numbers,
// otherwise as strings (case-sensitive, lexicographic), booleans false <
// true. ok is false when they cannot be ordered (null, mixed bool).
func compareValues(a, b value) (int, bool) {
	if a.k == kNull || b.k == kNull {
		return 0, false
	}
	if a.isNumber() || b.isNumber() {
		na, okA := asNumber(a)
		nb, okB := asNumber(b)
		if okA && okB {
			return compareNumbers(na, nb), true
		}
		if a.k == kBool || b.k == kBool {
			return 0, false
		}
		sa, _ := asString(a)
		sb, _ := asString(b)
		return strings.Compare(sa, sb), true
	}
	if a.k == kBool || b.k == kBool {
		ba, okA := asBool(a)
		bb, okB := asBool(b)
		if !okA || !okB {
			return 0, false
		}
		switch {
		case ba == bb:
			return 0, true
		case !ba:
			return -1, true
		}
		return 1, true
	}
	return strings.Compare(a.s, b.s), true
}

func asBool(v value) (bool, bool) {
	switch v.k {
	case kBool:
		return v.b, true
	case kString:
		switch v.s {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

func compareNumbers(a, b value) int {
	if a.k == kInt && b.k == kInt {
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	}
	fa, fb := a.float(), b.float()
	switch {
	case fa < fb:
		return -1
	case fa > fb:
		return 1
	}
	return 0
}

// equalValues is == (fold false) or in~ equality (fold true) on scalars.
func equalValues(a, b value, fold bool) bool {
	if a.k == kString && b.k == kString {
		if fold {
			return strings.EqualFold(a.s, b.s)
		}
		return a.s == b.s
	}
	c, ok := compareValues(a, b)
	return ok && c == 0
}

// toAny converts a value back to a plain Go value for alerts and join keys.
func toAny(v value) any {
	switch v.k {
	case kBool:
		return v.b
	case kInt:
		return v.i
	case kFloat:
		return v.f
	case kString:
		return v.s
	case kMulti:
		var out []any
		each(v, func(e value) bool {
			out = append(out, toAny(e))
			return false
		})
		return out
	}
	return nil
}

// equalFoldRune compares two runes under simple Unicode case folding.
func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// documentCategories reads event.category once for the category checks.
func documentCategories(d event.Document) any {
	return categoryPath.lookup(d)
}

var categoryPath = newFieldPath([]string{"event", "category"})

// hasCategory reports whether the event.category value contains cat.
func hasCategory(v any, cat string) bool {
	switch c := v.(type) {
	case string:
		return c == cat
	case []any:
		for _, x := range c {
			if s, ok := x.(string); ok && s == cat {
				return true
			}
		}
	case []string:
		for _, s := range c {
			if s == cat {
				return true
			}
		}
	}
	return false
}
