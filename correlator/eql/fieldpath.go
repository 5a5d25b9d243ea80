package eql

import (
	"strings"
	"sync/atomic"

	"github.com/weft-dev/weft/event"
)

// fieldPath is a field reference resolved once at compile time: its parts
// and every dotted join of consecutive parts, so a lookup never allocates.
type fieldPath struct {
	name   string
	parts  []string
	joined [][]string // joined[i][j-i] is parts[i..j] joined with dots
	cache  *FieldCache
	slot   *cacheSlot // this field's entry in cache
}

func newFieldPath(parts []string) *fieldPath {
	fp := &fieldPath{name: strings.Join(parts, "."), parts: parts}
	fp.joined = make([][]string, len(parts))
	for i := range parts {
		fp.joined[i] = make([]string, len(parts)-i)
		for j := i; j < len(parts); j++ {
			fp.joined[i][j-i] = strings.Join(parts[i:j+1], ".")
		}
	}
	return fp
}

// lookup returns the raw value at the path, or nil when it is missing. Like
// Elasticsearch it accepts nested objects, literal dotted keys at any level
// ("process": {"parent.name": ...}), and arrays of objects, whose leaves are
// gathered into one multi-value.
func (fp *fieldPath) lookup(d event.Document) any {
	if fp.cache != nil {
		if fp.slot.gen == fp.cache.gen {
			return fp.slot.v
		}
		v, _ := fp.walk(map[string]any(d), 0)
		fp.slot.gen, fp.slot.v = fp.cache.gen, v
		return v
	}
	v, _ := fp.walk(map[string]any(d), 0)
	return v
}

// FieldCache lets the programs compiled with it (CompileCached) look each
// field of a document up once between them: a document is read by many
// rules, most of which test the same few fields. It belongs to one
// goroutine, and Next must be called before each new document is
// evaluated. Only conditions use it; join keys, evaluated later on other
// documents, read the document each time.
type FieldCache struct {
	gen   uint64
	slots map[string]*cacheSlot

	// programs counts the programs compiled with the cache, and claimed
	// says an engine has taken them as its own (Claim): each registered
	// its patterns with the cache once, when it was compiled, so they
	// can serve one engine without being compiled again.
	programs int
	claimed  atomic.Bool
}

type cacheSlot struct {
	gen uint64
	v   any

	// The string v lowered for the case-insensitive patterns (see
	// fieldPath.lowered), when lowGen is gen: kept in buf, which the next
	// document reuses.
	lowGen uint64
	low    string
	buf    []byte

	// multi is the shared search of the field's case-insensitive
	// patterns (multimatch.go), nil until a field match registers some.
	multi *multiMatcher
}

// multiMatcher returns the slot's shared pattern search, making it.
func (s *cacheSlot) multiMatcher() *multiMatcher {
	if s.multi == nil {
		s.multi = newMultiMatcher()
	}
	return s.multi
}

// lowered returns s, the string lookup has just returned from the cache,
// lowered by foldLower. It is done once per document for all the programs
// that share the cache; the string is valid until the next document.
func (fp *fieldPath) lowered(s string) string {
	sl := fp.slot
	if sl.lowGen != fp.cache.gen {
		if cap(sl.buf) < len(s) {
			sl.buf = make([]byte, len(s))
		}
		sl.lowGen, sl.low = fp.cache.gen, foldLower(s, sl.buf)
	}
	return sl.low
}

// NewFieldCache makes an empty cache.
func NewFieldCache() *FieldCache { return &FieldCache{gen: 1, slots: map[string]*cacheSlot{}} }

// Programs is the number of programs compiled with the cache.
func (c *FieldCache) Programs() int { return c.programs }

// Claim takes the cache for one user, such as an engine that runs the
// programs compiled with it, and reports whether no one had: a program
// that looks fields up through a cache runs where the cache's Next is
// called, so it serves one engine only.
func (c *FieldCache) Claim() bool { return c.claimed.CompareAndSwap(false, true) }

// Next forgets the values of the previous document.
func (c *FieldCache) Next() { c.gen++ }

func (c *FieldCache) slot(name string) *cacheSlot {
	s := c.slots[name]
	if s == nil {
		s = &cacheSlot{}
		c.slots[name] = s
	}
	return s
}

func (fp *fieldPath) walk(m map[string]any, i int) (any, bool) {
	n := len(fp.parts)
	for j := i; j < n; j++ {
		v, ok := m[fp.joined[i][j-i]]
		if !ok {
			continue
		}
		if j == n-1 {
			return v, true
		}
		switch c := v.(type) {
		case map[string]any:
			if r, ok := fp.walk(c, j+1); ok {
				return r, true
			}
		case event.Document:
			if r, ok := fp.walk(c, j+1); ok {
				return r, true
			}
		case []any:
			if r, ok := fp.walkArray(c, j+1); ok {
				return r, true
			}
		}
	}
	return nil, false
}

func (fp *fieldPath) walkArray(arr []any, i int) (any, bool) {
	var out []any
	found := false
	for _, x := range arr {
		var r any
		var ok bool
		switch c := x.(type) {
		case map[string]any:
			r, ok = fp.walk(c, i)
		case event.Document:
			r, ok = fp.walk(c, i)
		}
		if !ok {
			continue
		}
		found = true
		switch rv := r.(type) {
		case []any:
			out = append(out, rv...)
		default:
			out = append(out, rv)
		}
	}
	return out, found
}
