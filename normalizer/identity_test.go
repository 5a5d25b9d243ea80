package normalizer_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/normalizer"
)

// The same seven Sysmon events (the MMC positive fixture) as Windows'
// rendered XML and as Winlogbeat sent them.
const (
	mmcXML        = "../testdata/xml/mmc-positive.xml"
	mmcWinlogbeat = "testdata/winlogbeat/mmc-positive.ndjson"
)

func readXML(t *testing.T, path string) []*event.Raw {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*event.Raw
	_, err = collector.ReadXML(context.Background(), f, path, collector.Options{},
		func(r *event.Raw) error { out = append(out, r); return nil },
		func(err error) { t.Errorf("XML: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readWinlogbeat(t *testing.T, path string) []*event.Raw {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*event.Raw
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		r, err := normalizer.FromWinlogbeat(doc)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		r.Origin.Path = path
		out = append(out, r)
	}
	return out
}

// asEVTX renders an event's values as golang-evtx does: GUIDs bare and in
// upper case, hex integers zero-padded to 8 digits.
func asEVTX(r *event.Raw) *event.Raw {
	c := *r
	c.Origin = event.Origin{Kind: event.SourceEVTX, Path: "Sysmon.evtx", Chunk: 1, Offset: 8192}
	guid := func(v string) string {
		if len(v) == 38 && v[0] == '{' && v[37] == '}' {
			return strings.ToUpper(v[1:37])
		}
		return v
	}
	c.ProviderGUID = guid(c.ProviderGUID)
	c.Data = make([]event.Field, len(r.Data))
	for i, f := range r.Data {
		v := guid(f.Value)
		var n uint64
		if _, err := fmt.Sscanf(v, "0x%x", &n); err == nil && strings.HasPrefix(v, "0x") {
			v = fmt.Sprintf("0x%08x", n)
		}
		c.Data[i] = event.Field{Name: f.Name, Value: v}
	}
	return &c
}

// TestOneDocumentWhateverThePath feeds the same events through each input
// path — golang-evtx's rendering, Windows' XML read by the collector,
// Winlogbeat's JSON — and expects the same documents, so that a sequence
// whose events came by different paths still joins.
func TestOneDocumentWhateverThePath(t *testing.T) {
	t.Parallel()
	xml := readXML(t, mmcXML)
	wlb := readWinlogbeat(t, mmcWinlogbeat)
	if len(xml) != 7 || len(wlb) != len(xml) {
		t.Fatalf("%d XML events, %d Winlogbeat events, want 7 each", len(xml), len(wlb))
	}
	n := normalizer.New()
	changed := 0
	for i := range xml {
		evtx := asEVTX(xml[i])
		if !reflect.DeepEqual(evtx.Data, xml[i].Data) {
			changed++
		}
		want, err := n.Normalize(xml[i])
		if err != nil {
			t.Fatalf("XML record %d: %v", xml[i].RecordID, err)
		}
		for _, path := range []struct {
			name string
			raw  *event.Raw
		}{{"EVTX", evtx}, {"Winlogbeat", wlb[i]}} {
			got, err := n.Normalize(path.raw)
			if err != nil {
				t.Errorf("%s record %d: %v", path.name, path.raw.RecordID, err)
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", "  ")
				w, _ := json.MarshalIndent(want, "", "  ")
				t.Errorf("record %d: %s document differs from XML's\n%s\nXML:\n%s", xml[i].RecordID, path.name, g, w)
			}
		}
	}
	if changed != len(xml) {
		t.Errorf("only %d of %d events differ in their EVTX rendering: the test would prove little", changed, len(xml))
	}
}
