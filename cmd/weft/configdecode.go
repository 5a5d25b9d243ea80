package main

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/weft-dev/weft/internal/confkey"
)

// A configDecoder fills weft's config structs from YAML nodes itself,
// rather than through yaml.v3's Decode, so that one pass finds every
// unknown key, wrong type and unreadable value, each with its line and key
// path and in the words of weft.yaml, and takes sizes in human units. The
// WEFT_* environment goes through the same decoder.
type configDecoder struct {
	// env names the environment variable the nodes come from; empty for
	// the config file.
	env string
	// where records, for each key path decoded, the line of the file or
	// the environment variable that set it.
	where    map[string]origin
	problems []problem
}

// origin is where a key's value came from.
type origin struct {
	line int
	env  string
}

func (d *configDecoder) fail(n *yaml.Node, key, format string, args ...any) {
	p := problem{key: key, msg: fmt.Sprintf(format, args...), env: d.env}
	if d.env == "" {
		p.line = n.Line
	}
	d.problems = append(d.problems, p)
}

func (d *configDecoder) mark(n *yaml.Node, key string) {
	if d.env != "" {
		d.where[key] = origin{env: d.env}
	} else {
		d.where[key] = origin{line: n.Line}
	}
}

var durationType = reflect.TypeFor[time.Duration]()

// decode fills v from n; key is v's key path and unit its field's unit tag
// ("bytes" takes sizes such as 1MiB).
func (d *configDecoder) decode(n *yaml.Node, v reflect.Value, key, unit string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	d.mark(n, key)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" with nothing keeps the default
	}
	t := v.Type()
	switch {
	case t == reflect.TypeFor[sinkConfig]():
		v.Set(reflect.ValueOf(d.sink(n, key)))
		return
	case t == durationType:
		if s, ok := d.scalar(n, key, "a duration such as 5s or 1m30s"); ok {
			dur, err := confkey.ParseDuration(s)
			if err != nil {
				d.fail(n, key, "%v", err)
				return
			}
			v.SetInt(int64(dur))
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		fresh := reflect.New(t.Elem())
		d.decode(n, fresh.Elem(), key, unit)
		v.Set(fresh)
	case reflect.Struct:
		d.structure(n, v, key, nil)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, key, "want a list, such as [a, b], got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", key, i), unit)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n, key, "want a mapping (name: value), got %s", kindName(n))
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ev := reflect.New(t.Elem()).Elem()
			d.decode(n.Content[i+1], ev, confkey.Join(key, k.Value), unit)
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), ev)
		}
		v.Set(m)
	case reflect.String:
		if s, ok := d.scalar(n, key, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, key, "true or false"); ok {
			switch strings.ToLower(s) {
			case "true", "yes", "on":
				v.SetBool(true)
			case "false", "no", "off":
				v.SetBool(false)
			default:
				d.fail(n, key, "want true or false, got %q", s)
			}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s, ok := d.scalar(n, key, "a number")
		if !ok {
			return
		}
		i, err := d.integer(s, unit)
		if err != nil {
			d.fail(n, key, "%v", err)
			return
		}
		if v.OverflowInt(i) {
			d.fail(n, key, "%s is too large", s)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s, ok := d.scalar(n, key, "a number")
		if !ok {
			return
		}
		i, err := d.integer(s, unit)
		switch {
		case err != nil:
			d.fail(n, key, "%v", err)
		case i < 0:
			d.fail(n, key, "must not be negative, got %s", s)
		case v.OverflowUint(uint64(i)):
			d.fail(n, key, "%s is too large", s)
		default:
			v.SetUint(uint64(i))
		}
	default:
		// Only a config struct with a field of a new kind gets here.
		d.fail(n, key, "cannot be set from YAML (a %s)", t.Kind())
	}
}

// integer reads a whole number, or a size when unit is "bytes".
func (d *configDecoder) integer(s, unit string) (int64, error) {
	if unit == "bytes" {
		return confkey.ParseSize(s)
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("%s is too large", s)
	case err != nil:
		return 0, fmt.Errorf("want a whole number, got %q", s)
	}
	return i, nil
}

// scalar returns n's value when n is a single value.
func (d *configDecoder) scalar(n *yaml.Node, key, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, key, "want %s, got %s", want, kindName(n))
		return "", false
	}
	return n.Value, true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// configField is a key of a config struct: the index path of its field (inline
// structs included) and its unit tag.
type configField struct {
	index []int
	unit  string
}

// configFields maps the YAML keys of a struct type, inline structs
// included, to their fields.
func configFields(t reflect.Type) map[string]configField {
	out := map[string]configField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "inline") {
			for k, sub := range configFields(f.Type) {
				out[k] = configField{index: append([]int{i}, sub.index...), unit: sub.unit}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = configField{index: []int{i}, unit: f.Tag.Get("unit")}
	}
	return out
}

// structure fills the struct v from the mapping n. Keys in skip are taken
// by the caller.
func (d *configDecoder) structure(n *yaml.Node, v reflect.Value, key string, skip map[string]bool) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, key, "want a mapping (key: value), got %s", kindName(n))
		return
	}
	fields := configFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := confkey.Join(key, k.Value)
		if line, ok := seen[k.Value]; ok {
			d.fail(k, p, "given twice (first on line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		if skip[k.Value] {
			continue
		}
		f, ok := fields[k.Value]
		if !ok {
			names := slices.Collect(func(yield func(string) bool) {
				for name := range fields {
					if !yield(name) {
						return
					}
				}
				for name := range skip {
					if !yield(name) {
						return
					}
				}
			})
			d.mark(k, p)
			d.fail(k, p, "%s", unknownKey(k.Value, names))
			continue
		}
		fv := v.FieldByIndex(f.index)
		fresh := reflect.New(fv.Type()).Elem()
		d.decode(val, fresh, p, f.unit)
		// The key's own line, not its value's (a section's value starts
		// on the next line).
		d.mark(k, p)
		fv.Set(fresh)
	}
}

// unknownKey says a key is unknown, and which known key it is nearest to.
func unknownKey(key string, known []string) string {
	if best := confkey.Suggest(key, known); best != "" {
		return fmt.Sprintf("unknown key (did you mean %s?)", best)
	}
	slices.Sort(known)
	return fmt.Sprintf("unknown key (known: %s)", strings.Join(known, ", "))
}

// sink reads one entry of sinks: its type decides which options it takes.
func (d *configDecoder) sink(n *yaml.Node, key string) sinkConfig {
	var s sinkConfig
	if n.Kind != yaml.MappingNode {
		d.fail(n, key, "want a sink (a mapping with a type: %s), got %s", strings.Join(sinkTypeNames(), ", "), kindName(n))
		return s
	}
	var typeNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "type":
			typeNode = v
		case "name":
			d.decode(v, reflect.ValueOf(&s.Name).Elem(), confkey.Join(key, "name"), "")
		case "delivery":
			d.decode(v, reflect.ValueOf(&s.delivery).Elem(), confkey.Join(key, "delivery"), "")
		}
	}
	skip := map[string]bool{"type": true, "name": true, "delivery": true}
	if typeNode == nil {
		d.fail(n, confkey.Join(key, "type"), "is required (%s)", strings.Join(sinkTypeNames(), ", "))
		return s
	}
	d.decode(typeNode, reflect.ValueOf(&s.Type).Elem(), confkey.Join(key, "type"), "")
	newOptions, ok := sinkTypes[s.Type]
	if !ok {
		msg := fmt.Sprintf("unknown type %q (want %s)", s.Type, strings.Join(sinkTypeNames(), ", "))
		if best := confkey.Suggest(s.Type, sinkTypeNames()); best != "" {
			msg = fmt.Sprintf("unknown type %q (did you mean %q?)", s.Type, best)
		}
		d.fail(typeNode, confkey.Join(key, "type"), "%s", msg)
		return s
	}
	opts := newOptions()
	d.structure(n, reflect.ValueOf(opts).Elem(), key, skip)
	s.options = opts
	if s.Name == "" {
		s.Name = s.Type
	}
	return s
}
