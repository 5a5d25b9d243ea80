package event

import (
	"strconv"
	"strings"
)

// Document is an ECS document: nested objects keyed by ECS field name parts,
// as Elasticsearch would store it in _source ("process": {"name": ...}).
type Document map[string]any

// Get resolves a dotted ECS field path. Like Elasticsearch it accepts both
// nested objects and literal dotted keys at any level.
func (d Document) Get(path string) (any, bool) {
	return lookup(map[string]any(d), path)
}

func lookup(m map[string]any, path string) (any, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		child, ok := m[path[:i]]
		if !ok {
			continue
		}
		switch c := child.(type) {
		case map[string]any:
			if v, ok := lookup(c, path[i+1:]); ok {
				return v, true
			}
		case Document:
			if v, ok := lookup(c, path[i+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
}

// Set stores v at a dotted path, creating intermediate objects.
func (d Document) Set(path string, v any) {
	m := map[string]any(d)
	for {
		i := strings.IndexByte(path, '.')
		if i < 0 {
			m[path] = v
			return
		}
		next, ok := m[path[:i]].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[path[:i]] = next
		}
		m, path = next, path[i+1:]
	}
}

// String returns the field as a string when it is one.
func (d Document) String(path string) string {
	v, _ := d.Get(path)
	s, _ := v.(string)
	return s
}

// Identity names the source event of a document: computer, channel and
// record id, read from the fields the normalizer always sets.
func (d Document) Identity() string {
	var rec uint64
	switch v, _ := d.Get("winlog.record_id"); n := v.(type) {
	case string:
		rec, _ = strconv.ParseUint(n, 10, 64)
	default:
		if f, ok := ToFloat(n); ok {
			rec = uint64(f)
		}
	}
	return identity(d.String("winlog.computer_name"), d.String("winlog.channel"), rec)
}

func identity(computer, channel string, record uint64) string {
	return strings.ToLower(computer) + "|" + channel + "|" + strconv.FormatUint(record, 10)
}

// ToFloat converts any Go numeric value (as JSON or msgpack decoding
// produce them) to float64.
func ToFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}
