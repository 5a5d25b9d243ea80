package normalizer

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// TestSchema checks that keyPaths names every key once, in the order of a
// document with sorted objects, which the writers rely on, and that no
// path is both an object and a field.
func TestSchema(t *testing.T) {
	t.Parallel()
	paths := strings.Fields(keyPaths)
	if len(paths) != int(numKeys) {
		t.Fatalf("keyPaths lists %d paths for %d keys", len(paths), numKeys)
	}
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			t.Errorf("%s listed twice", p)
		}
		seen[p] = true
	}
	for _, p := range paths {
		for i := range len(p) {
			if p[i] == '.' && seen[p[:i]] {
				t.Errorf("%s is a field and the object of %s", p[:i], p)
			}
		}
	}
	for i := 1; i < len(paths); i++ {
		if slices.Compare(strings.Split(paths[i-1], "."), strings.Split(paths[i], ".")) >= 0 {
			t.Errorf("keyPaths: %s comes before %s", paths[i-1], paths[i])
		}
	}
	s := newSchema()
	for k := range numKeys {
		p := s.places[k]
		var parts []string
		for _, o := range p.chain[:p.depth] {
			parts = append(parts, s.nodes[o].name)
		}
		if got := strings.Join(append(parts, p.name), "."); got != paths[k] {
			t.Errorf("key %d is placed at %s, want %s", k, got, paths[k])
		}
	}
}

// wireEvents are events that exercise every kind of value the writers
// handle: lists, hashes, event_data, DNS answers with holes, problems.
func wireEvents() []*event.Raw {
	return []*event.Raw{
		processCreate(), processCreateXML(), networkIngress(), networkEgressIPv6(),
		withData(processCreate(), "Hashes", "SHA1=0000"),
		withData(processCreate(), "CommandLine", "   "),
		sysmonRaw(22, 67, "2019-07-18T03:34:02.0252377Z", 1684, fields(
			"UtcTime", "2019-07-18 03:34:01.261", "QueryName", "www.msn.com", "QueryStatus", "9003",
			"QueryResults", "type:  5 a.example;type:  99999;x;y;::ffff:204.79.197.203;[::ffff:10.1.2.3]:53;2001:db8::1;",
			"Image", `C:\x\y.exe`)),
		sysmonRaw(13, 14, "2024-03-05T14:30:00Z", 1, fields(
			"UtcTime", "2024-03-05 14:29:59.000", "TargetObject", `HKLM\SYSTEM\x\Start`, "Details", "DWORD (0x00000002)")),
		sysmonRaw(7, 12, "2024-03-05T14:30:00Z", 1, fields(
			"UtcTime", "2024-03-05 14:29:59.000", "ImageLoaded", `C:\a\b.dll`, "Hashes", "MD5=AB,IMPHASH=CD,sha1=EF,SHA1=01",
			"SignatureStatus", "Valid", "Archived", "maybe", "Extra", strings.Repeat("long value ", 40))),
		withData(networkIngress(), "SourcePort", "x", "DestinationIp", "10.0.0.999"),
		nil,
	}
}

// TestMsgpackMatchesDocument: the bytes the stage publishes are exactly
// what bus.Encode writes for the document Normalize returns.
func TestMsgpackMatchesDocument(t *testing.T) {
	t.Parallel()
	n := New()
	for i, r := range wireEvents() {
		doc, errDoc := n.Normalize(r)
		want, err := bus.Encode(doc)
		if err != nil {
			t.Fatal(err)
		}
		got, errWire := n.AppendMsgpack([]byte("prefix"), r)
		if !bytes.Equal(got[len("prefix"):], want) {
			var back event.Document
			if err := bus.Decode(got[len("prefix"):], &back); err != nil {
				t.Errorf("event %d: written msgpack does not decode: %v", i, err)
			}
			t.Errorf("event %d: msgpack differs from bus.Encode of the document\ngot  %x\nwant %x\ndecoded %v", i, got, want, back)
		}
		if (errDoc == nil) != (errWire == nil) {
			t.Errorf("event %d: errors differ: %v / %v", i, errDoc, errWire)
		}
	}
}

// TestNormalizerReuse: a Normalizer gives the same document for an event
// whatever it normalized before, so no state leaks from one to the next.
func TestNormalizerReuse(t *testing.T) {
	t.Parallel()
	events := wireEvents()
	shared := New()
	for _, r := range events {
		_, _ = shared.Normalize(r)
	}
	for i, r := range events {
		fresh, _ := New().Normalize(r)
		again, _ := shared.Normalize(r)
		if !reflect.DeepEqual(fresh, again) {
			t.Errorf("event %d: document depends on what was normalized before", i)
		}
	}
}

// TestFault: what a fault leaves is a document that says so and still
// names its event, in both forms.
func TestFault(t *testing.T) {
	t.Parallel()
	n := New()
	r := networkIngress()
	if err := n.mapEvent(r); err != nil {
		t.Fatal(err)
	}
	err := n.fault("boom")
	var nerr *Error
	if !errors.As(err, &nerr) || len(nerr.Problems) != 1 || !strings.Contains(nerr.Problems[0], "normalizer fault: boom") {
		t.Fatalf("fault error = %v", err)
	}
	doc := n.document()
	wire, err := bus.Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.appendMsgpack(nil); !bytes.Equal(got, wire) {
		t.Error("the two forms of a fault document differ")
	}
	if doc.Identity() != r.Identity() || doc.String("event.kind") != "pipeline_error" {
		t.Errorf("fault document %v", doc)
	}
	if msgs, _ := doc.Get("error.message"); !reflect.DeepEqual(msgs, []any{"normalizer fault: boom"}) {
		t.Errorf("error.message = %v", msgs)
	}
}
