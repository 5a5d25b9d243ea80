package evtxwrite

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Node is an item of element content: Text, a Substitution or an *Element.
type Node interface{ isNode() }

// Text is literal character data.
type Text string

// Substitution stands for the instance value at Index, declared of Type.
// When the value is NULL an optional substitution drops its element (or
// attribute) from the rendered XML, and a normal one leaves it empty.
type Substitution struct {
	Index    int
	Type     Type
	Optional bool
}

// Element is an XML element of a template.
//
// Its BinXML dependency identifier is derived, as Windows sets it: the
// index of the optional substitution among its direct content, or -1.
type Element struct {
	Name    string
	Attrs   []Attr
	Content []Node
}

// Attr is an attribute; its Value is Text or a Substitution.
type Attr struct {
	Name  string
	Value Node
}

func (Text) isNode()         {}
func (Substitution) isNode() {}
func (*Element) isNode()     {}

// Template is the shape of an event, compiled once and instantiated for
// every record that has that shape.
type Template struct {
	root  Element
	guid  []byte // the identifier, as stored
	id    uint32 // its first four bytes, which instances name it by
	types []Type // declared type of each substitution index
}

// maxValues bounds a template's substitutions; Windows templates hold a
// few dozen.
const maxValues = 1024

// NewTemplate checks root and compiles it. Substitution indices must run
// from 0 with no gaps, each declared with one supported type. The
// template's identifier (a GUID, as Windows gives each template) is a
// hash of its shape, so the same shape always gets the same identifier.
func NewTemplate(root Element) (*Template, error) {
	t := &Template{root: clone(&root)}
	h := sha256.New()
	if err := t.check(&t.root, h, 0); err != nil {
		return nil, err
	}
	for i, typ := range t.types {
		if typ == 0xff {
			return nil, fmt.Errorf("template <%s>: substitution %d is never used (indices must have no gaps)", root.Name, i)
		}
	}
	t.guid = h.Sum(nil)[:16]
	t.id = binary.LittleEndian.Uint32(t.guid)
	return t, nil
}

type hasher interface{ Write([]byte) (int, error) }

func (t *Template) check(e *Element, h hasher, depth int) error {
	if depth > 64 {
		return errors.New("template nests deeper than 64 elements")
	}
	if e.Name == "" {
		return errors.New("template element without a name")
	}
	fmt.Fprintf(h, "<%s", e.Name)
	for _, a := range e.Attrs {
		if a.Name == "" {
			return fmt.Errorf("<%s>: attribute without a name", e.Name)
		}
		fmt.Fprintf(h, " %s=", a.Name)
		switch v := a.Value.(type) {
		case Text:
			fmt.Fprintf(h, "%q", string(v))
		case Substitution:
			if err := t.declare(e.Name+"@"+a.Name, v, h); err != nil {
				return err
			}
		default:
			return fmt.Errorf("<%s %s>: attribute value is %T, want Text or Substitution", e.Name, a.Name, a.Value)
		}
	}
	h.Write([]byte(">"))
	for _, n := range e.Content {
		switch v := n.(type) {
		case Text:
			fmt.Fprintf(h, "%q", string(v))
		case Substitution:
			if err := t.declare(e.Name, v, h); err != nil {
				return err
			}
		case *Element:
			if v == nil {
				return fmt.Errorf("<%s>: nil child element", e.Name)
			}
			if err := t.check(v, h, depth+1); err != nil {
				return err
			}
		default:
			return fmt.Errorf("<%s>: content %T, want Text, Substitution or *Element", e.Name, n)
		}
	}
	fmt.Fprintf(h, "</%s>", e.Name)
	return nil
}

func (t *Template) declare(where string, s Substitution, h hasher) error {
	if s.Index < 0 || s.Index >= maxValues {
		return fmt.Errorf("<%s>: substitution index %d out of range [0, %d)", where, s.Index, maxValues)
	}
	if !s.Type.supported() || s.Type == TypeNull {
		return fmt.Errorf("<%s>: substitution %d of unsupported type %v", where, s.Index, s.Type)
	}
	for len(t.types) <= s.Index {
		t.types = append(t.types, 0xff)
	}
	if prev := t.types[s.Index]; prev != 0xff && prev != s.Type {
		return fmt.Errorf("<%s>: substitution %d declared %v here and %v elsewhere", where, s.Index, s.Type, prev)
	}
	t.types[s.Index] = s.Type
	fmt.Fprintf(h, "{%d:%d:%t}", s.Index, s.Type, s.Optional)
	return nil
}

// GUID is the template's identifier.
func (t *Template) GUID() GUID { return guidFromDisk(t.guid) }

// NumValues is how many values an instance of the template takes.
func (t *Template) NumValues() int { return len(t.types) }

// ValueType is the declared type of substitution i.
func (t *Template) ValueType(i int) Type { return t.types[i] }

// Instance is a template filled with values, one per substitution index.
// A value is either of the declared type or NULL.
type Instance struct {
	Template *Template
	Values   []Value
}

func (in *Instance) check() error {
	if in == nil || in.Template == nil {
		return errors.New("instance without a template")
	}
	t := in.Template
	if len(in.Values) != len(t.types) {
		return fmt.Errorf("template <%s> takes %d values, instance has %d", t.root.Name, len(t.types), len(in.Values))
	}
	for i, v := range in.Values {
		if v.typ != TypeNull && v.typ != t.types[i] {
			return fmt.Errorf("template <%s>: value %d is %v, declared %v", t.root.Name, i, v.typ, t.types[i])
		}
		if v.typ == TypeBinXML && v.inst == nil {
			return fmt.Errorf("template <%s>: value %d is BinXml without an instance", t.root.Name, i)
		}
	}
	return nil
}

// clone copies e deeply, so a template cannot change under its identifier.
func clone(e *Element) Element {
	c := Element{Name: e.Name, Attrs: append([]Attr(nil), e.Attrs...), Content: make([]Node, len(e.Content))}
	for i, n := range e.Content {
		if child, ok := n.(*Element); ok && child != nil {
			cc := clone(child)
			n = &cc
		}
		c.Content[i] = n
	}
	return c
}

// dependency is the element's BinXML dependency identifier.
func (e *Element) dependency() int16 {
	for _, n := range e.Content {
		if s, ok := n.(Substitution); ok && s.Optional {
			return int16(s.Index)
		}
	}
	return -1
}
