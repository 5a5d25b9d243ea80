package normalizer

import "time"

// vkind says how a field's value is held.
type vkind uint8

const (
	vStr        vkind = iota + 1 // s
	vConst                       // box: a constant, stored in an interface without an allocation
	vInt                         // n
	vBool                        // n != 0
	vList                        // list, possibly empty
	vConstList                   // consts, possibly empty
	vHashes                      // the pairs in Normalizer.hashes, possibly none
	vEventData                   // the live fields of Normalizer.ed
	vAnswers                     // Normalizer.answers
	vResolvedIP                  // Normalizer.resolved
	vProblems                    // Normalizer.problems
	vMillis                      // t, written as formatMillis writes it
	vDecimal                     // uint64(n), written in decimal
)

// val is one field's value. Times and numbers that the document holds as
// strings are kept as they are and rendered only when written, which the
// msgpack writer does without allocating.
type val struct {
	kind   vkind
	s      string
	n      int64
	t      time.Time
	box    any
	list   []string
	consts []any
}

// record is the document while the mapping builds it: one typed value per
// key and a bit per key that is set. Lists keep their backing arrays from
// one event to the next.
type record struct {
	set  [(numKeys + 63) / 64]uint64
	vals [numKeys]val
}

func (r *record) reset() { r.set = [len(r.set)]uint64{} }

func (r *record) has(k key) bool { return r.set[k/64]&(1<<(k%64)) != 0 }

func (r *record) mark(k key) *val {
	r.set[k/64] |= 1 << (k % 64)
	return &r.vals[k]
}

func (r *record) setStr(k key, s string) {
	v := r.mark(k)
	v.kind, v.s = vStr, s
}

// setConst stores a constant; callers pass a constant (or a value from a
// table of constants), so the interface holds it without an allocation.
func (r *record) setConst(k key, c any) {
	v := r.mark(k)
	v.kind, v.box = vConst, c
}

func (r *record) setMillis(k key, t time.Time) {
	v := r.mark(k)
	v.kind, v.t = vMillis, t
}

func (r *record) setDecimal(k key, n uint64) {
	v := r.mark(k)
	v.kind, v.n = vDecimal, int64(n)
}

func (r *record) setInt(k key, n int64) {
	v := r.mark(k)
	v.kind, v.n = vInt, n
}

func (r *record) setBool(k key, b bool) {
	v := r.mark(k)
	v.kind, v.n = vBool, 0
	if b {
		v.n = 1
	}
}

func (r *record) setKind(k key, kind vkind) { r.mark(k).kind = kind }

// str returns a string field, constant or not.
func (r *record) str(k key) (string, bool) {
	if !r.has(k) {
		return "", false
	}
	v := &r.vals[k]
	switch v.kind {
	case vStr:
		return v.s, true
	case vConst:
		s, ok := v.box.(string)
		return s, ok
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
	v := r.mark(k)
	v.kind = vList
	v.list = v.list[:0]
	return v.list
}

func (r *record) setList(k key, list []string) { r.vals[k].list = list }

// appendUnique appends s to the list at k unless it is already there, as
// the append processor with allow_duplicates: false does.
func (r *record) appendUnique(k key, s string) {
	if !r.has(k) {
		r.setList(k, append(r.newList(k), s))
		return
	}
	v := &r.vals[k]
	for _, x := range v.list {
		if x == s {
			return
		}
	}
	v.list = append(v.list, s)
}

// setConsts stores a list of constants.
func (r *record) setConsts(k key, c ...any) {
	v := r.mark(k)
	v.kind = vConstList
	v.consts = append(v.consts[:0], c...)
}
