package normalizer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// checkStageEncodes asserts that what the stage publishes for r (n's
// msgpack) is bus.Encode of the document Normalize made of it.
func checkStageEncodes(t *testing.T, n *Normalizer, r *event.Raw, doc event.Document) {
	t.Helper()
	got, _ := n.AppendMsgpack(nil, r)
	want, err := bus.Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("msgpack differs from bus.Encode of the document\ngot  %x\nwant %x", got, want)
	}
}

// fuzzStageAgrees is the check of every channel's fuzz target: r must not
// make the normalizer fault, and its msgpack must be bus.Encode of its
// document.
func fuzzStageAgrees(t *testing.T, r *event.Raw) {
	t.Helper()
	got, err := New().AppendMsgpack(nil, r)
	if err != nil && strings.Contains(err.Error(), "normalizer fault") {
		t.Fatalf("fault: %v", err)
	}
	doc, _ := New().Normalize(r)
	want, encErr := bus.Encode(doc)
	if encErr != nil {
		t.Fatal(encErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("msgpack differs from bus.Encode of the document\ngot  %x\nwant %x", got, want)
	}
}
