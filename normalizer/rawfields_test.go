package normalizer

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// TestRawFieldsMsgpackMatchesDocument: with RawFields on, the published
// bytes are still exactly bus.Encode of the document Normalize returns.
func TestRawFieldsMsgpackMatchesDocument(t *testing.T) {
	t.Parallel()
	n := New()
	n.SetRawFields(true)
	events := append(wireEvents(), withUnnamed())
	for i, r := range events {
		doc, _ := n.Normalize(r)
		want, err := bus.Encode(doc)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := n.AppendMsgpack([]byte("prefix"), r)
		if !bytes.Equal(got[len("prefix"):], want) {
			var back event.Document
			err := bus.Decode(got[len("prefix"):], &back)
			t.Errorf("event %d: msgpack differs from bus.Encode of the document (decodes: %v)\ngot  %v\nwant %v", i, err, back, doc)
		}
	}
}

// TestRawFields: the raw names and values, empty and repeated ones
// included, and the System fields under Sigma's names; nothing when off.
func TestRawFields(t *testing.T) {
	t.Parallel()
	r := withUnnamed()
	off, _ := New().Normalize(r)
	if _, ok := off["weft"]; ok {
		t.Fatal("weft.* written with RawFields off")
	}
	n := New()
	n.SetRawFields(true)
	doc, _ := n.Normalize(r)
	checks := []struct {
		path string
		want any
	}{
		{"weft.event_data.Image", `C:\Windows\System32\cmd.exe`},
		{"weft.event_data.ParentImage", `C:\Windows\System32\mmc.exe`},
		{"weft.event_data.Empty", ""},
		{"weft.event_data.Data", []any{"unnamed 1", "unnamed 2"}},
		{"weft.system.EventID", "1"},
		{"weft.system.Channel", "Microsoft-Windows-Sysmon/Operational"},
		{"weft.system.Provider_Name", "Microsoft-Windows-Sysmon"},
		{"weft.system.EventRecordID", "48213"},
		{"weft.system.TimeCreated_SystemTime", "2024-03-05T14:22:31.4761234Z"},
		{"weft.system.Correlation_ActivityID", "A895D499-2626-0001-2AD5-95A82626D901"},
		{"weft.system.Correlation_RelatedActivityID", "{fb13c9de-29f7-0001-18e0-13fbf729d601}"},
		{"winlog.activity_id", "{a895d499-2626-0001-2ad5-95a82626d901}"},
		{"winlog.related_activity_id", "{fb13c9de-29f7-0001-18e0-13fbf729d601}"},
	}
	for _, c := range checks {
		got, ok := doc.Get(c.path)
		if !ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %#v (%v), want %#v", c.path, got, ok, c.want)
		}
	}
	// The ECS fields are the same with and without.
	delete(doc, "weft")
	if !reflect.DeepEqual(doc, off) {
		t.Error("RawFields changed the ECS fields")
	}
}

// withUnnamed is a process creation with two unnamed values (as classic
// event logs write them) and an empty one.
func withUnnamed() *event.Raw {
	r := processCreate()
	r.Data = append(r.Data, event.Field{Value: "unnamed 1"}, event.Field{Value: "unnamed 2"}, event.Field{Name: "Empty"})
	// Correlation as EVTX decoders write it: weft.system then holds more
	// than 15 entries (a msgpack map16).
	r.ActivityID, r.RelatedActivityID = "A895D499-2626-0001-2AD5-95A82626D901", "{fb13c9de-29f7-0001-18e0-13fbf729d601}"
	return r
}

// BenchmarkRawFields is BenchmarkMsgpack (the stage's path) without and
// with the raw fields Sigma rules read, and the bytes each writes: the
// cost of running Sigma rules at the normalizer.
func BenchmarkRawFields(b *testing.B) {
	for _, bm := range benchEvents() {
		for _, raw := range []bool{false, true} {
			name := "raw=off"
			if raw {
				name = "raw=on"
			}
			b.Run(bm.name+"/"+name, func(b *testing.B) {
				n := New()
				n.SetRawFields(raw)
				var buf []byte
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if buf, err = n.AppendMsgpack(buf[:0], bm.raw); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(len(buf)))
			})
		}
	}
}
