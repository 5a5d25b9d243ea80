package evtxwrite_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
	w "github.com/weft-dev/weft/testdata/gen/evtxwrite"
)

func TestMain(m *testing.M) {
	log.SetOutput(io.Discard) // golang-evtx logs to the standard logger
	os.Exit(m.Run())
}

// field is one EventData field of a test template.
type field struct {
	name string
	typ  w.Type
}

// eventTemplate is a Windows-like event: a System block with a few of the
// usual fields and an EventData of the given fields. Substitution 0 is the
// EventRecordID, 1 TimeCreated, then the fields.
func eventTemplate(t *testing.T, fields []field) *w.Template {
	t.Helper()
	opt := func(i int, typ w.Type) w.Substitution { return w.Substitution{Index: i, Type: typ, Optional: true} }
	data := &w.Element{Name: "EventData"}
	for i, f := range fields {
		data.Content = append(data.Content, &w.Element{
			Name:    "Data",
			Attrs:   []w.Attr{{Name: "Name", Value: w.Text(f.name)}},
			Content: []w.Node{w.Substitution{Index: i + 2, Type: f.typ}},
		})
	}
	tmpl, err := w.NewTemplate(w.Element{
		Name:  "Event",
		Attrs: []w.Attr{{Name: "xmlns", Value: w.Text("http://schemas.microsoft.com/win/2004/08/events/event")}},
		Content: []w.Node{
			&w.Element{Name: "System", Content: []w.Node{
				&w.Element{Name: "Provider", Attrs: []w.Attr{{Name: "Name", Value: w.Text("Test-Provider")}}},
				&w.Element{Name: "EventID", Content: []w.Node{w.Text("4242")}},
				&w.Element{Name: "TimeCreated", Attrs: []w.Attr{{Name: "SystemTime", Value: opt(1, w.TypeFileTime)}}},
				&w.Element{Name: "EventRecordID", Content: []w.Node{opt(0, w.TypeUInt64)}},
				&w.Element{Name: "Channel", Content: []w.Node{w.Text("Test/Operational")}},
				&w.Element{Name: "Computer", Content: []w.Node{w.Text("HOST-01.corp.example")}},
			}},
			data,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

var t0 = time.Date(2026, 11, 20, 10, 14, 31, 554321700, time.UTC)

// writeFile writes records built by rec for ids first..first+n-1.
func writeFile(t *testing.T, n int, first uint64, rec func(id uint64) *w.Instance) (string, w.Stats) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.evtx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wr, err := w.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		id := first + uint64(i)
		if err := wr.Write(w.Record{ID: id, Written: t0.Add(time.Duration(i) * time.Second), Event: rec(id)}); err != nil {
			t.Fatalf("record %d: %v", id, err)
		}
	}
	if err := wr.Close(); err != nil {
		t.Fatal(err)
	}
	return path, wr.Stats()
}

func verify(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Verify(f, info.Size()); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// readWeft reads a file with weft's collector, failing on any problem.
func readWeft(t *testing.T, path string) []*event.Raw {
	t.Helper()
	var out []*event.Raw
	_, err := collector.ReadFile(context.Background(), path, collector.Options{KeepXML: true},
		func(r *event.Raw) error { out = append(out, r); return nil },
		func(err error) { t.Errorf("collector: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustSID(t *testing.T, s string) w.SID {
	t.Helper()
	sid, err := w.ParseSID(s)
	if err != nil {
		t.Fatal(err)
	}
	return sid
}

func mustGUID(t *testing.T, s string) w.GUID {
	t.Helper()
	g, err := w.ParseGUID(s)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestValuesReadBack writes one value of every type and reads them back
// with weft's collector, which decodes BinXML with golang-evtx.
func TestValuesReadBack(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		v    w.Value
		want string
	}{
		{"Ascii", w.String(`C:\Windows\System32\cmd.exe`), `C:\Windows\System32\cmd.exe`},
		{"Specials", w.String(`"a" <b> & 'c' > d`), `"a" <b> & 'c' > d`},
		{"Unicode", w.String("Zürich — 東京 ®"), "Zürich — 東京 ®"},
		{"Surrogates", w.String("emoji 😀 here"), "emoji 😀 here"},
		{"Empty", w.String(""), ""},
		{"U8", w.UInt8(255), "255"},
		{"U16", w.UInt16(49152), "49152"},
		{"U32", w.UInt32(4294967295), "4294967295"},
		{"U64", w.UInt64(18446744073709551615), "18446744073709551615"},
		{"Hex", w.HexInt64(0x1a38f4a), "0x1a38f4a"},
		{"HexTop", w.HexInt64(0x8000000000000000), "0x8000000000000000"},
		{"True", w.Bool(true), "true"},
		{"False", w.Bool(false), "false"},
		{"GUID", mustGUID(t, "{3F1C9A52-6B2E-6739-E802-000000001A00}").Value(), "{3f1c9a52-6b2e-6739-e802-000000001a00}"},
		{"Time", w.FileTime(t0), "2026-11-20T10:14:31.5543217Z"},
		{"SID", mustSID(t, "S-1-5-21-1004336348-1177238915-682003330-512").Value(), "S-1-5-21-1004336348-1177238915-682003330-512"},
		{"Null", w.Null(), ""},
	}
	var fields []field
	for _, c := range cases {
		typ := c.v.Type()
		if typ == w.TypeNull {
			typ = w.TypeString
		}
		fields = append(fields, field{c.name, typ})
	}
	tmpl := eventTemplate(t, fields)
	path, _ := writeFile(t, 1, 77, func(id uint64) *w.Instance {
		vals := []w.Value{w.UInt64(id), w.FileTime(t0)}
		for _, c := range cases {
			vals = append(vals, c.v)
		}
		return &w.Instance{Template: tmpl, Values: vals}
	})
	verify(t, path)
	evs := readWeft(t, path)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	r := evs[0]
	if r.RecordID != 77 || r.EventID != 4242 || r.Computer != "HOST-01.corp.example" || r.Channel != "Test/Operational" {
		t.Errorf("System block: %+v", r)
	}
	if got := r.TimeCreated.Format(w.WindowsTime); got != "2026-11-20T10:14:31.5543217Z" {
		t.Errorf("TimeCreated %s", got)
	}
	if len(r.Data) != len(cases) {
		t.Fatalf("%d EventData fields, want %d", len(r.Data), len(cases))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := r.Data[i]
			if got.Name != c.name {
				t.Fatalf("field %d is %q", i, got.Name)
			}
			if c.v.String() != c.want {
				t.Errorf("Value.String() = %q, want %q", c.v.String(), c.want)
			}
			canon, err := w.Canonical(fields[i].typ, got.Value)
			if err != nil {
				t.Fatalf("collector's %q: %v", got.Value, err)
			}
			if canon != c.want {
				t.Errorf("read back %q (canonical %q), want %q", got.Value, canon, c.want)
			}
		})
	}
}

// TestOptionalNull checks that a NULL optional substitution drops its
// attribute and a NULL normal one leaves its element empty.
func TestOptionalNull(t *testing.T) {
	t.Parallel()
	tmpl, err := w.NewTemplate(w.Element{Name: "Event", Content: []w.Node{
		&w.Element{Name: "System", Content: []w.Node{
			&w.Element{Name: "EventRecordID", Content: []w.Node{w.Substitution{Index: 0, Type: w.TypeUInt64, Optional: true}}},
			&w.Element{Name: "Correlation", Attrs: []w.Attr{
				{Name: "ActivityID", Value: w.Substitution{Index: 1, Type: w.TypeGUID, Optional: true}},
				{Name: "Kept", Value: w.Substitution{Index: 2, Type: w.TypeString, Optional: true}},
			}},
		}},
		&w.Element{Name: "EventData", Content: []w.Node{
			&w.Element{Name: "Data", Attrs: []w.Attr{{Name: "Name", Value: w.Text("Empty")}}, Content: []w.Node{w.Substitution{Index: 3, Type: w.TypeString}}},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	path, _ := writeFile(t, 1, 1, func(id uint64) *w.Instance {
		return &w.Instance{Template: tmpl, Values: []w.Value{w.UInt64(id), w.Null(), w.String("yes"), w.Null()}}
	})
	verify(t, path)
	evs := readWeft(t, path)
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	xml := evs[0].XML
	for _, want := range []string{`<Correlation Kept="yes"/>`, `<Data Name="Empty"/>`, `<EventRecordID>1</EventRecordID>`} {
		if !strings.Contains(xml, want) {
			t.Errorf("XML lacks %s:\n%s", want, xml)
		}
	}
	if strings.Contains(xml, "ActivityID") {
		t.Errorf("NULL optional attribute rendered:\n%s", xml)
	}
}

// TestNestedInstance nests an EventData template in a System template,
// as Windows stores manifest-based events.
func TestNestedInstance(t *testing.T) {
	t.Parallel()
	inner, err := w.NewTemplate(w.Element{Name: "EventData", Content: []w.Node{
		&w.Element{Name: "Data", Attrs: []w.Attr{{Name: "Name", Value: w.Text("Image")}}, Content: []w.Node{w.Substitution{Index: 0, Type: w.TypeString}}},
		&w.Element{Name: "Data", Attrs: []w.Attr{{Name: "Name", Value: w.Text("ProcessId")}}, Content: []w.Node{w.Substitution{Index: 1, Type: w.TypeUInt32}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	outer, err := w.NewTemplate(w.Element{Name: "Event", Content: []w.Node{
		&w.Element{Name: "System", Content: []w.Node{
			&w.Element{Name: "EventRecordID", Content: []w.Node{w.Substitution{Index: 0, Type: w.TypeUInt64, Optional: true}}},
		}},
		w.Substitution{Index: 1, Type: w.TypeBinXML, Optional: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	path, st := writeFile(t, n, 1000, func(id uint64) *w.Instance {
		in := &w.Instance{Template: inner, Values: []w.Value{w.String(strings.Repeat("x", int(id%200)) + ".exe"), w.UInt32(uint32(id * 4))}}
		return &w.Instance{Template: outer, Values: []w.Value{w.UInt64(id), w.BinXML(in)}}
	})
	verify(t, path)
	if st.Records != n || st.Chunks < 2 {
		t.Errorf("stats %+v: want %d records over several chunks", st, n)
	}
	evs := readWeft(t, path)
	if len(evs) != n {
		t.Fatalf("%d events, want %d", len(evs), n)
	}
	for i, r := range evs {
		id := uint64(1000 + i)
		img, _ := r.Get("Image")
		pid, _ := r.Get("ProcessId")
		if r.RecordID != id || img != strings.Repeat("x", int(id%200))+".exe" || pid != itoa(id*4) {
			t.Fatalf("record %d read back as id %d, Image %q, ProcessId %q", id, r.RecordID, img, pid)
		}
	}
}

func itoa(v uint64) string { return w.UInt64(v).String() }

// TestChunks fills several chunks and checks that each chunk defines the
// template in its first record and refers back to it afterwards.
func TestChunks(t *testing.T) {
	t.Parallel()
	tmpl := eventTemplate(t, []field{{"CommandLine", w.TypeString}, {"ProcessId", w.TypeUInt32}})
	const n = 2000
	path, st := writeFile(t, n, 1, func(id uint64) *w.Instance {
		return &w.Instance{Template: tmpl, Values: []w.Value{w.UInt64(id), w.FileTime(t0), w.String(strings.Repeat("a b ", 100) + itoa(id)), w.UInt32(uint32(id))}}
	})
	verify(t, path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(w.FileHeaderSize) + int64(st.Chunks)*w.ChunkSize; st.Bytes != want || int64(len(data)) != want {
		t.Errorf("file is %d bytes, stats say %d, chunks %d", len(data), st.Bytes, st.Chunks)
	}
	if st.Chunks < 10 {
		t.Fatalf("%d chunks for %d records of ~900 bytes", st.Chunks, n)
	}
	le := binary.LittleEndian
	for i := range st.Chunks {
		c := data[w.FileHeaderSize+i*w.ChunkSize:][:w.ChunkSize]
		free := int(le.Uint32(c[48:]))
		for off, k := 512, 0; off < free; k++ {
			size := int(le.Uint32(c[off+4:]))
			// record header (24), fragment header (4), then the instance:
			// token, 1, template id, definition offset.
			inst := off + 24 + 4
			if c[inst] != 0x0c {
				t.Fatalf("chunk %d record %d: token %#x, want a template instance", i, k, c[inst])
			}
			def := int(le.Uint32(c[inst+6:]))
			inline := def == inst+10
			if k == 0 && !inline {
				t.Errorf("chunk %d: first record refers to a definition at %#x instead of defining it", i, def)
			}
			if k > 0 && (inline || def >= off) {
				t.Errorf("chunk %d record %d: definition at %#x, want a reference back into the first record", i, k, def)
			}
			off += size
		}
		// The template table has exactly the one template.
		var tables []uint32
		for b := range 32 {
			if v := le.Uint32(c[384+4*b:]); v != 0 {
				tables = append(tables, v)
			}
		}
		if len(tables) != 1 || !bytes.Equal(c[tables[0]+4:tables[0]+20], guidDisk(tmpl.GUID())) {
			t.Errorf("chunk %d: template table %v does not hold the one template", i, tables)
		}
	}
	if evs := readWeft(t, path); len(evs) != n || evs[n-1].RecordID != n {
		t.Errorf("read back %d events", len(evs))
	}
}

// guidDisk is g as EVTX stores it.
func guidDisk(g w.GUID) []byte {
	return []byte{g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]}
}

// TestDirtyUntilClose checks the header flags: dirty while writing, as
// Windows leaves an open log, clean and complete after Close.
func TestDirtyUntilClose(t *testing.T) {
	t.Parallel()
	tmpl := eventTemplate(t, nil)
	path := filepath.Join(t.TempDir(), "open.evtx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wr, err := w.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := wr.Write(w.Record{ID: 5, Written: t0, Event: &w.Instance{Template: tmpl, Values: []w.Value{w.UInt64(5), w.FileTime(t0)}}}); err != nil {
		t.Fatal(err)
	}
	header := func() []byte {
		h := make([]byte, 128)
		if _, err := f.ReadAt(h, 0); err != nil {
			t.Fatal(err)
		}
		if binary.LittleEndian.Uint32(h[124:]) != crc32.ChecksumIEEE(h[:120]) {
			t.Error("header CRC32 wrong")
		}
		return h
	}
	if h := header(); binary.LittleEndian.Uint32(h[120:]) != 1 {
		t.Errorf("open file's flags %#x, want dirty (1)", binary.LittleEndian.Uint32(h[120:]))
	}
	if err := wr.Close(); err != nil {
		t.Fatal(err)
	}
	h := header()
	le := binary.LittleEndian
	if le.Uint32(h[120:]) != 0 || le.Uint16(h[42:]) != 1 || le.Uint64(h[24:]) != 6 || le.Uint64(h[16:]) != 0 {
		t.Errorf("closed header: flags %#x, chunks %d, next id %d, last chunk %d", le.Uint32(h[120:]), le.Uint16(h[42:]), le.Uint64(h[24:]), le.Uint64(h[16:]))
	}
	verify(t, path)
	if err := wr.Write(w.Record{ID: 6, Event: &w.Instance{Template: tmpl, Values: []w.Value{w.UInt64(6), w.FileTime(t0)}}}); err == nil {
		t.Error("Write after Close succeeded")
	}
}

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	tmpl := eventTemplate(t, []field{{"A", w.TypeString}, {"B", w.TypeString}, {"C", w.TypeString}})
	ok := func(id uint64) *w.Instance {
		return &w.Instance{Template: tmpl, Values: []w.Value{w.UInt64(id), w.FileTime(t0), w.String("a"), w.String("b"), w.String("c")}}
	}
	self := &w.Instance{}
	selfT, err := w.NewTemplate(w.Element{Name: "X", Content: []w.Node{w.Substitution{Index: 0, Type: w.TypeBinXML}}})
	if err != nil {
		t.Fatal(err)
	}
	self.Template, self.Values = selfT, []w.Value{w.BinXML(self)}
	big := strings.Repeat("x", 30000)
	for _, tc := range []struct {
		name string
		recs []w.Record
		want string
	}{
		{"id zero", []w.Record{{ID: 0, Event: ok(0)}}, "record id 0"},
		{"gap", []w.Record{{ID: 1, Event: ok(1)}, {ID: 3, Event: ok(3)}}, "out of sequence, want 2"},
		{"backwards", []w.Record{{ID: 5, Event: ok(5)}, {ID: 4, Event: ok(4)}}, "out of sequence, want 6"},
		{"few values", []w.Record{{ID: 1, Event: &w.Instance{Template: tmpl, Values: []w.Value{w.UInt64(1)}}}}, "takes 5 values, instance has 1"},
		{"wrong type", []w.Record{{ID: 1, Event: &w.Instance{Template: tmpl, Values: []w.Value{w.String("1"), w.FileTime(t0), w.String("a"), w.String("b"), w.String("c")}}}}, "value 0 is String, declared UInt64"},
		{"no template", []w.Record{{ID: 1, Event: &w.Instance{}}}, "instance without a template"},
		{"self nested", []w.Record{{ID: 1, Event: self}}, "nest too deeply"},
		{"string too long", []w.Record{{ID: 1, Event: &w.Instance{Template: tmpl, Values: []w.Value{w.UInt64(1), w.FileTime(t0), w.String(big + big + big), w.Null(), w.Null()}}}}, "longer than a value can be"},
		{"record too large", []w.Record{{ID: 1, Event: &w.Instance{Template: tmpl, Values: []w.Value{w.UInt64(1), w.FileTime(t0), w.String(big), w.String(big), w.String(big)}}}}, "do not fit in an empty chunk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := os.Create(filepath.Join(t.TempDir(), "bad.evtx"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			wr, err := w.NewWriter(f)
			if err != nil {
				t.Fatal(err)
			}
			var last error
			for _, r := range tc.recs {
				if last = wr.Write(r); last != nil {
					break
				}
			}
			if last == nil || !strings.Contains(last.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", last, tc.want)
			}
			// A failed record leaves the file as it was: what came before
			// is still written whole.
			if err := wr.Close(); err != nil {
				t.Fatal(err)
			}
			info, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Verify(f, info.Size()); err != nil {
				t.Errorf("file after a failed write: %v", err)
			}
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	t.Parallel()
	sub := func(i int, typ w.Type) w.Node { return w.Substitution{Index: i, Type: typ} }
	for _, tc := range []struct {
		name string
		root w.Element
		want string
	}{
		{"no name", w.Element{}, "without a name"},
		{"gap", w.Element{Name: "E", Content: []w.Node{sub(0, w.TypeString), sub(2, w.TypeString)}}, "substitution 1 is never used"},
		{"conflict", w.Element{Name: "E", Content: []w.Node{sub(0, w.TypeString), sub(0, w.TypeUInt32)}}, "declared UInt32 here and String elsewhere"},
		{"negative", w.Element{Name: "E", Content: []w.Node{sub(-1, w.TypeString)}}, "out of range"},
		{"unsupported", w.Element{Name: "E", Content: []w.Node{sub(0, w.Type(0x0b))}}, "unsupported type"},
		{"null type", w.Element{Name: "E", Content: []w.Node{sub(0, w.TypeNull)}}, "unsupported type"},
		{"attr element", w.Element{Name: "E", Attrs: []w.Attr{{Name: "a", Value: &w.Element{Name: "x"}}}}, "want Text or Substitution"},
		{"attr no name", w.Element{Name: "E", Attrs: []w.Attr{{Value: w.Text("x")}}}, "attribute without a name"},
		{"nil child", w.Element{Name: "E", Content: []w.Node{(*w.Element)(nil)}}, "nil child"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := w.NewTemplate(tc.root)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestTemplateGUID: the identifier follows the shape, and a template does
// not change when the caller reuses the element it was made from.
func TestTemplateGUID(t *testing.T) {
	t.Parallel()
	shape := func(text string) w.Element {
		return w.Element{Name: "E", Content: []w.Node{&w.Element{Name: "C", Content: []w.Node{w.Text(text)}}}}
	}
	a1, err1 := w.NewTemplate(shape("a"))
	a2, err2 := w.NewTemplate(shape("a"))
	b, err3 := w.NewTemplate(shape("b"))
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if a1.GUID() != a2.GUID() || a1.GUID() == b.GUID() {
		t.Errorf("GUIDs %v %v %v: want equal for equal shapes only", a1.GUID(), a2.GUID(), b.GUID())
	}
	root := shape("a")
	c, err := w.NewTemplate(root)
	if err != nil {
		t.Fatal(err)
	}
	root.Content[0].(*w.Element).Content[0] = w.Text("changed")
	path, _ := writeFile(t, 1, 1, func(uint64) *w.Instance { return &w.Instance{Template: c} })
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("c\x00h\x00a\x00n\x00g\x00e\x00d\x00")) {
		t.Error("template followed a change to the element it was made from")
	}
}

func TestParseGUIDAndSID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{"{3f1c9a52-6b2e-6739-e802-000000001a00}", "{3f1c9a52-6b2e-6739-e802-000000001a00}", false},
		{"3F1C9A52-6B2E-6739-E802-000000001A00", "{3f1c9a52-6b2e-6739-e802-000000001a00}", false},
		{"{3f1c9a52-6b2e-6739-e802-000000001a0}", "", true},
		{"{3f1c9a52x6b2e-6739-e802-000000001a00}", "", true},
		{"{zf1c9a52-6b2e-6739-e802-000000001a00}", "", true},
	} {
		g, err := w.ParseGUID(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && g.String() != tc.want) {
			t.Errorf("ParseGUID(%q) = %v, %v", tc.in, g, err)
		}
	}
	for _, tc := range []struct {
		in  string
		bad bool
	}{
		{"S-1-5-18", false}, {"S-1-5-21-1004336348-1177238915-682003330-512", false}, {"S-1-0", false},
		{"S-1", true}, {"X-1-5-18", true}, {"S-x-5", true}, {"S-1-5-99999999999", true}, {"S-1-5" + strings.Repeat("-1", 16), true},
	} {
		s, err := w.ParseSID(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && s.String() != tc.in) {
			t.Errorf("ParseSID(%q) = %v, %v", tc.in, s, err)
		}
	}
}

// TestVerifyFindsDamage damages a good file in the ways Verify must see.
func TestVerifyFindsDamage(t *testing.T) {
	t.Parallel()
	tmpl := eventTemplate(t, []field{{"CommandLine", w.TypeString}})
	path, _ := writeFile(t, 200, 1, func(id uint64) *w.Instance {
		return &w.Instance{Template: tmpl, Values: []w.Value{w.UInt64(id), w.FileTime(t0), w.String(strings.Repeat("cmd ", 100))}}
	})
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c1 := w.FileHeaderSize + w.ChunkSize
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
		want   string
	}{
		{"file header byte", func(b []byte) []byte { b[30] ^= 1; return b }, "file header: CRC32"},
		{"dirty", func(b []byte) []byte {
			b[120] = 1
			binary.LittleEndian.PutUint32(b[124:], crc32.ChecksumIEEE(b[:120]))
			return b
		}, "flags 0x1"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-100] }, "header counts"},
		{"chunk header", func(b []byte) []byte { b[c1+300] ^= 1; return b }, "chunk 1 (offset 0x11000): header CRC32"},
		{"record byte", func(b []byte) []byte { b[c1+2000] ^= 1; return b }, "records CRC32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := tc.damage(append([]byte(nil), good...))
			err := w.Verify(bytes.NewReader(b), int64(len(b)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ     w.Type
		in, out string
	}{
		{w.TypeGUID, "3F1C9A52-6B2E-6739-E802-000000001A00", "{3f1c9a52-6b2e-6739-e802-000000001a00}"},
		{w.TypeHexInt64, "0x00000000000003e7", "0x3e7"},
		{w.TypeHexInt64, "0x000003E7", "0x3e7"},
		{w.TypeUInt32, "5316", "5316"},
		{w.TypeBool, "true", "true"},
		{w.TypeFileTime, "2026-11-20T10:14:31.554321700Z", "2026-11-20T10:14:31.5543217Z"},
		{w.TypeFileTime, "2026-11-20 10:14:31.554321", "2026-11-20T10:14:31.5543210Z"},
		{w.TypeString, " as is ", " as is "},
	} {
		got, err := w.Canonical(tc.typ, tc.in)
		if err != nil || got != tc.out {
			t.Errorf("Canonical(%v, %q) = %q, %v; want %q", tc.typ, tc.in, got, err, tc.out)
		}
	}
	for _, tc := range []struct {
		typ w.Type
		in  string
	}{{w.TypeUInt8, "x"}, {w.TypeGUID, "nope"}, {w.TypeFileTime, "yesterday"}, {w.TypeBool, "maybe"}, {w.TypeBinXML, ""}} {
		if _, err := w.Canonical(tc.typ, tc.in); err == nil {
			t.Errorf("Canonical(%v, %q) accepted it", tc.typ, tc.in)
		}
	}
}

func TestFileTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{t0, "2026-11-20T10:14:31.5543217Z"},
		{time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), "1601-01-01T00:00:00.0000000Z"},
		{time.Time{}, "1601-01-01T00:00:00.0000000Z"}, // before 1601: the epoch
		{time.Date(1969, 12, 31, 23, 59, 59, 999999900, time.UTC), "1969-12-31T23:59:59.9999999Z"},
		{time.Date(2400, 2, 29, 12, 0, 0, 100, time.FixedZone("X", 3600)), "2400-02-29T11:00:00.0000001Z"},
	} {
		if got := w.FileTime(tc.in).String(); got != tc.want {
			t.Errorf("FileTime(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
