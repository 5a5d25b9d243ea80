package normalizer

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
)

// TestGoldenEventIDs normalizes testdata/golden/*.input.json, one Sysmon
// event per ID the pipeline maps, and compares each document with the
// golden beside it. The goldens were written by hand from the pipeline
// spec; testdata/golden/README.md says which processors decide each.
func TestGoldenEventIDs(t *testing.T) {
	t.Parallel()
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.input.json"))
	if err != nil {
		t.Fatal(err)
	}
	covered := map[uint32]bool{1: true, 3: true} // TestGolden
	n := New()
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		var r event.Raw
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		covered[r.EventID] = true
		doc, err := n.Normalize(&r)
		if err != nil {
			t.Errorf("%s: unexpected problems: %v", in, err)
		}
		compareGolden(t, strings.TrimSuffix(filepath.Base(in), ".input.json")+".json", doc)
	}
	for id := range uint32(256) {
		if _, mapped := sysmonCategorization(id); mapped && !covered[id] {
			t.Errorf("Sysmon event %d has no golden test", id)
		}
	}
}

// goldenInputs reads every testdata/golden/*.input.json and *.xml.
func goldenInputs(t testing.TB) []*event.Raw {
	t.Helper()
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.input.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raws []*event.Raw
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		r := new(event.Raw)
		if err := json.Unmarshal(data, r); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		raws = append(raws, r)
	}
	xmls, err := filepath.Glob(filepath.Join("testdata", "golden", "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range xmls {
		f, err := os.Open(in)
		if err != nil {
			t.Fatal(err)
		}
		_, err = collector.ReadXML(context.Background(), f, in, collector.Options{},
			func(r *event.Raw) error { raws = append(raws, r); return nil },
			func(err error) { t.Errorf("%s: %v", in, err) })
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return raws
}
