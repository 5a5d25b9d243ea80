package jsonevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// value is a decoded JSON value that keeps object members in document
// order: EventData order is part of a raw event, and Go maps lose it.
type value struct {
	kind kind
	// text is a string's value, a number's literal, or "true"/"false".
	text string
	obj  []member
	arr  []value
}

type member struct {
	key string
	val value
}

type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindObject
	kindArray
)

func (k kind) String() string {
	switch k {
	case kindBool:
		return "a boolean"
	case kindNumber:
		return "a number"
	case kindString:
		return "a string"
	case kindObject:
		return "an object"
	case kindArray:
		return "an array"
	}
	return "null"
}

// maxDepth bounds nesting: real events nest a few levels, and a bound keeps
// a hostile document from costing more than its size.
const maxDepth = 64

// parse decodes exactly one JSON value from data.
func parse(data []byte) (value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return value{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("more than one JSON value")
		}
		return value{}, fmt.Errorf("after the document at byte %d: %w", dec.InputOffset(), err)
	}
	return v, nil
}

func parseValue(dec *json.Decoder, depth int) (value, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return value{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxDepth {
			return value{}, fmt.Errorf("nested deeper than %d levels", maxDepth)
		}
		if t == '{' {
			return parseObject(dec, depth+1)
		}
		return parseArray(dec, depth+1)
	case string:
		return value{kind: kindString, text: t}, nil
	case json.Number:
		return value{kind: kindNumber, text: string(t)}, nil
	case bool:
		if t {
			return value{kind: kindBool, text: "true"}, nil
		}
		return value{kind: kindBool, text: "false"}, nil
	case nil:
		return value{kind: kindNull}, nil
	}
	return value{}, fmt.Errorf("unexpected JSON token %v", tok)
}

func parseObject(dec *json.Decoder, depth int) (value, error) {
	v := value{kind: kindObject}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return value{}, err
		}
		key, ok := tok.(string)
		if !ok {
			return value{}, fmt.Errorf("object key %v is not a string", tok)
		}
		val, err := parseValue(dec, depth)
		if err != nil {
			return value{}, err
		}
		v.obj = append(v.obj, member{key, val})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return value{}, err
	}
	return v, nil
}

func parseArray(dec *json.Decoder, depth int) (value, error) {
	v := value{kind: kindArray}
	for dec.More() {
		val, err := parseValue(dec, depth)
		if err != nil {
			return value{}, err
		}
		v.arr = append(v.arr, val)
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return value{}, err
	}
	return v, nil
}

// get returns the first member named key of an object.
func (v value) get(key string) (value, bool) {
	if v.kind != kindObject {
		return value{}, false
	}
	for i := range v.obj {
		if v.obj[i].key == key {
			return v.obj[i].val, true
		}
	}
	return value{}, false
}

// path follows a dotted path through nested objects. Like Elasticsearch
// it also accepts literal dotted keys ("winlog.event_id" at the top level,
// as some shippers flatten documents).
func (v value) path(p string) (value, bool) {
	if c, ok := v.get(p); ok {
		return c, true
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '.' {
			continue
		}
		if c, ok := v.get(p[:i]); ok && c.kind == kindObject {
			if r, ok := c.path(p[i+1:]); ok {
				return r, true
			}
		}
	}
	return value{}, false
}

// has reports whether the object has an object member named key.
func (v value) hasObject(key string) bool {
	c, ok := v.get(key)
	return ok && c.kind == kindObject
}

// scalar is the text of a string, number or boolean; false for anything
// else (null included).
func (v value) scalar() (string, bool) {
	switch v.kind {
	case kindString, kindNumber, kindBool:
		return v.text, true
	}
	return "", false
}

// str is the path's scalar text, or "".
func (v value) str(p string) string {
	c, ok := v.path(p)
	if !ok {
		return ""
	}
	s, _ := c.scalar()
	return s
}

// String renders a value for field values that are not scalars: compact
// JSON, as a reader would want to see it.
func (v value) String() string {
	var b strings.Builder
	v.write(&b)
	return b.String()
}

func (v value) write(b *strings.Builder) {
	switch v.kind {
	case kindNull:
		b.WriteString("null")
	case kindBool, kindNumber:
		b.WriteString(v.text)
	case kindString:
		data, _ := json.Marshal(v.text) // a string always marshals
		b.Write(data)
	case kindObject:
		b.WriteByte('{')
		for i, m := range v.obj {
			if i > 0 {
				b.WriteByte(',')
			}
			data, _ := json.Marshal(m.key)
			b.Write(data)
			b.WriteByte(':')
			m.val.write(b)
		}
		b.WriteByte('}')
	case kindArray:
		b.WriteByte('[')
		for i, e := range v.arr {
			if i > 0 {
				b.WriteByte(',')
			}
			e.write(b)
		}
		b.WriteByte(']')
	}
}
