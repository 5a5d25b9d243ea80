package evtxwrite

import "fmt"

// SystemTemplate is the template Windows writes for events of manifest
// providers: the System element for one computer (a literal, as Windows
// writes it) and the event's data as substitution 17. The numbering of
// the substitutions is Windows' own; with eventSourceName the Provider
// element also carries EventSourceName (substitution 18), as the classic
// event log providers of the Security, System and PowerShell logs have it.
func SystemTemplate(computer string, eventSourceName bool) (*Template, error) {
	opt := func(i int, t Type) Substitution {
		return Substitution{Index: i, Type: t, Optional: true}
	}
	leaf := func(name string, c Node) *Element {
		return &Element{Name: name, Content: []Node{c}}
	}
	attrs := func(name string, a ...Attr) *Element {
		return &Element{Name: name, Attrs: a}
	}
	provider := []Attr{
		{Name: "Name", Value: opt(14, TypeString)},
		{Name: "Guid", Value: opt(15, TypeGUID)},
	}
	if eventSourceName {
		provider = append(provider, Attr{Name: "EventSourceName", Value: opt(18, TypeString)})
	}
	sys := &Element{Name: "System", Content: []Node{
		attrs("Provider", provider...),
		&Element{Name: "EventID",
			Attrs:   []Attr{{Name: "Qualifiers", Value: opt(4, TypeUInt16)}},
			Content: []Node{opt(3, TypeUInt16)}},
		leaf("Version", opt(11, TypeUInt8)),
		leaf("Level", opt(0, TypeUInt8)),
		leaf("Task", opt(2, TypeUInt16)),
		leaf("Opcode", opt(1, TypeUInt8)),
		leaf("Keywords", opt(5, TypeHexInt64)),
		attrs("TimeCreated", Attr{Name: "SystemTime", Value: opt(6, TypeFileTime)}),
		leaf("EventRecordID", opt(10, TypeUInt64)),
		attrs("Correlation",
			Attr{Name: "ActivityID", Value: opt(7, TypeGUID)},
			Attr{Name: "RelatedActivityID", Value: opt(13, TypeGUID)}),
		attrs("Execution",
			Attr{Name: "ProcessID", Value: opt(8, TypeUInt32)},
			Attr{Name: "ThreadID", Value: opt(9, TypeUInt32)}),
		leaf("Channel", opt(16, TypeString)),
		leaf("Computer", Text(computer)),
		attrs("Security", Attr{Name: "UserID", Value: opt(12, TypeSID)}),
	}}
	root := Element{
		Name:    "Event",
		Attrs:   []Attr{{Name: "xmlns", Value: Text("http://schemas.microsoft.com/win/2004/08/events/event")}},
		Content: []Node{sys, opt(17, TypeBinXML)},
	}
	t, err := NewTemplate(root)
	if err != nil {
		return nil, fmt.Errorf("evtxwrite: System template for %q: %w", computer, err)
	}
	return t, nil
}
