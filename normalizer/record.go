package normalizer

import (
	"math"
	"time"
)

// vkind says how a field's value is held.
type vkind uint8

const (
	vStr         vkind = iota + 1 // t
	vConst                        // box: a constant, stored in an interface without an allocation
	vInt                          // n
	vBool                         // n != 0
	vList                         // list, possibly empty
	vTextList                     // texts, possibly empty
	vConstList                    // consts, possibly empty
	vHashes                       // the pairs in Normalizer.hashes, possibly none
	vEventData                    // the live fields of Normalizer.ed
	vAnswers                      // Normalizer.answers
	vResolvedIP                   // Normalizer.resolved
	vProblems                     // Normalizer.problems
	vMillis                       // tm, written as formatMillis writes it
	vDecimal                      // uint64(n), written in decimal
	vCommunityID                  // Normalizer.communityID
	vTree                         // box: a tree of map[string]any, []any, string and bool (the scheduled task's lists)
	vFloat                        // math.Float64frombits(uint64(n)): a double, as a Painless script sets one
)

// val is one field's value. Times and numbers that the document holds as
// strings are kept as numbers and rendered only when written, which the
// msgpack writer does without allocating. Lists are apart (lists), so
// that the values the mapping touches for every event stay few cache
// lines.
type val struct {
	kind vkind
	t    text
	n    int64 // vInt, vBool, vDecimal; vMillis: milliseconds since 1970; vFloat: the bits
	box  any
}

// lists are the elements of a list field; they keep their backing arrays
// from one event to the next.
type lists struct {
	list   []string
	texts  []text
	consts []any
}

// record is the document while the mapping builds it: one typed value per
// key and a bit per key that is set. Lists keep their backing arrays from
// one event to the next.
type record struct {
	set   [(numKeys + 63) / 64]uint64
	vals  [numKeys]val
	lists [numKeys]lists
}

func (r *record) reset() { r.set = [len(r.set)]uint64{} }

func (r *record) has(k key) bool { return r.set[k/64]&(1<<(k%64)) != 0 }

func (r *record) mark(k key) *val {
	r.set[k/64] |= 1 << (k % 64)
	return &r.vals[k]
}

func (r *record) setStr(k key, s string) {
	v := r.mark(k)
	v.kind, v.t = vStr, plain(s)
}

func (r *record) setText(k key, t text) {
	v := r.mark(k)
	v.kind, v.t = vStr, t
}

// setConst stores a string constant; callers pass a constant (or a value
// from a table of constants), so the interface holds it without an
// allocation, for the event.Document. The msgpack writer reads the string.
func (r *record) setConst(k key, c any) {
	v := r.mark(k)
	v.kind, v.box, v.t = vConst, c, plain(c.(string))
}

func (r *record) setMillis(k key, t time.Time) { r.setUnixMilli(k, t.UnixMilli()) }

// setUnixMilli stores a time given in milliseconds since 1970.
func (r *record) setUnixMilli(k key, ms int64) {
	v := r.mark(k)
	v.kind, v.n = vMillis, ms
}

func (r *record) setDecimal(k key, n uint64) {
	v := r.mark(k)
	v.kind, v.n = vDecimal, int64(n)
}

func (r *record) setInt(k key, n int64) {
	v := r.mark(k)
	v.kind, v.n = vInt, n
}

// setFloat stores a double; it is written as a number (msgpack float 64,
// a JSON number), as Elasticsearch keeps a script's double.
func (r *record) setFloat(k key, f float64) {
	v := r.mark(k)
	v.kind, v.n = vFloat, int64(math.Float64bits(f))
}

func (r *record) setBool(k key, b bool) {
	v := r.mark(k)
	v.kind, v.n = vBool, 0
	if b {
		v.n = 1
	}
}

func (r *record) setKind(k key, kind vkind) { r.mark(k).kind = kind }

// str returns a string field, constant or not, as it is written.
func (r *record) str(k key) (string, bool) {
	if !r.has(k) {
		return "", false
	}
	v := &r.vals[k]
	switch v.kind {
	case vStr:
		if v.t.form == asIs {
			return v.t.s, true
		}
		return v.t.String(), true
	case vConst:
		return v.t.s, true
	}
	return "", false
}

func (r *record) int(k key) (int64, bool) {
	if !r.has(k) || r.vals[k].kind != vInt {
		return 0, false
	}
	return r.vals[k].n, true
}

// newList starts an empty list at k and returns it for appending; store
// the result back with setList.
func (r *record) newList(k key) []string {
	r.mark(k).kind = vList
	return r.lists[k].list[:0]
}

func (r *record) setList(k key, list []string) { r.lists[k].list = list }

// setTexts stores a list of texts.
func (r *record) setTexts(k key, t []text) {
	r.mark(k).kind = vTextList
	l := &r.lists[k]
	l.texts = append(l.texts[:0], t...)
}

// appendUnique appends s to the list at k unless it is already there, as
// the append processor with allow_duplicates: false does.
func (r *record) appendUnique(k key, s string) {
	if !r.has(k) {
		r.setList(k, append(r.newList(k), s))
		return
	}
	l := &r.lists[k]
	for _, x := range l.list {
		if x == s {
			return
		}
	}
	l.list = append(l.list, s)
}

// setConsts stores a list of constants.
func (r *record) setConsts(k key, c ...any) {
	r.mark(k).kind = vConstList
	l := &r.lists[k]
	l.consts = append(l.consts[:0], c...)
}
