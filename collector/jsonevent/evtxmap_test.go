package jsonevent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/0xrawsec/golang-evtx/evtx"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"

	"github.com/weft-dev/weft/internal/repotest"
)

// corpusDir finds ../shared/corpus beside the repository root.
func corpusDir(t *testing.T) string {
	return repotest.Shared(t, "corpus")
}

// TestEvtxMapCorpus renders real Sysmon EVTX records with golang-evtx's
// map form, as evtxdump -j prints them, and checks that decoding that JSON
// gives the events the collector's own EVTX reader gives.
func TestEvtxMapCorpus(t *testing.T) {
	t.Parallel()
	paths, _ := filepath.Glob(filepath.Join(corpusDir(t), "evtx-attack", "Lateral Movement", "*.evtx"))
	if len(paths) == 0 {
		t.Skip("no EVTX files under the corpus's evtx-attack")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) { compareEvtxMap(t, path) })
	}
}

func compareEvtxMap(t *testing.T, path string) {
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("corpus file: %v", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	byRecord := map[uint64]*event.Raw{}
	if _, err := collector.ReadEVTX(context.Background(), f, info.Size(), path, collector.Options{},
		func(r *event.Raw) error { byRecord[r.RecordID] = r; return nil }, nil); err != nil {
		t.Fatal(err)
	}

	ef, err := evtx.OpenDirty(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	n := 0
	for m := range ef.FastEvents() {
		doc, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, form, err := Decode(doc, collector.Options{})
		if err != nil {
			t.Fatalf("Decode: %v\n%s", err, doc)
		}
		if form != FormEvtxMap {
			t.Fatalf("form %v", form)
		}
		want := byRecord[got.RecordID]
		if want == nil {
			t.Fatalf("record %d: not read by the EVTX reader", got.RecordID)
		}
		// The map form is a Go map: members come sorted, not in the
		// event's order.
		sortFields(got.Data)
		w := *want
		w.Data = append([]event.Field(nil), want.Data...)
		sortFields(w.Data)
		for i := range w.Data {
			if i < len(got.Data) && sameHex(got.Data[i].Value, w.Data[i].Value) {
				got.Data[i].Value = w.Data[i].Value
			}
		}
		compareRaw(t, got, &w)
		n++
	}
	if n == 0 || n != len(byRecord) {
		t.Errorf("decoded %d map-form events, the EVTX reader read %d", n, len(byRecord))
	}
}

// sameHex tells golang-evtx's zero-padded hexadecimal integers from the
// Windows rendering the EVTX reader uses: the same number.
func sameHex(a, b string) bool {
	ha, ok1 := strings.CutPrefix(a, "0x")
	hb, ok2 := strings.CutPrefix(b, "0x")
	if !ok1 || !ok2 {
		return false
	}
	na, err1 := strconv.ParseUint(ha, 16, 64)
	nb, err2 := strconv.ParseUint(hb, 16, 64)
	return err1 == nil && err2 == nil && na == nb
}

func sortFields(fs []event.Field) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
}
