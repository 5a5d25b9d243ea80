package normalizer_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/normalizer"
)

// TestGoldenChannels normalizes testdata/golden/*.xml — one event of the
// Security, System and PowerShell channels per event ID, as Windows
// renders it — and compares each document with the .json beside it
// (go test -update rewrites them). The goldens were checked by hand
// against Elastic's pipelines (../shared/reference/elastic-windows/);
// testdata/golden/README.md says which processors decide each.
//
// Each event also goes through Winlogbeat's JSON (FromWinlogbeat): the
// document must be the same whichever way the event came.
func TestGoldenChannels(t *testing.T) {
	t.Parallel()
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no golden XML input")
	}
	update := flag.Lookup("update")
	n := normalizer.New()
	for _, in := range inputs {
		raws := readXML(t, in)
		if len(raws) != 1 {
			t.Fatalf("%s: %d events, want 1", in, len(raws))
		}
		doc, err := n.Normalize(raws[0])
		if err != nil {
			t.Errorf("%s: unexpected problems: %v", in, err)
		}
		got, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		golden := strings.TrimSuffix(in, ".xml") + ".json"
		if update != nil && update.Value.String() == "true" {
			if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatalf("%s: %v", golden, err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s: document differs from golden:\n%s", golden, got)
			}
		}

		// The stage publishes msgpack written without the document: it
		// must be bus.Encode of the same document.
		wire, err := bus.Encode(doc)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := normalizer.New().AppendMsgpack(nil, raws[0]); !bytes.Equal(got, wire) {
			t.Errorf("%s: AppendMsgpack differs from bus.Encode of the document", in)
		}

		wb, err := normalizer.FromWinlogbeat(winlogbeatOf(t, raws[0], doc.String("winlog.task"), doc.String("winlog.opcode")))
		if err != nil {
			t.Fatalf("%s: FromWinlogbeat: %v", in, err)
		}
		viaBeat, _ := n.Normalize(wb)
		if !reflect.DeepEqual(viaBeat, doc) {
			a, _ := json.MarshalIndent(viaBeat, "", "  ")
			t.Errorf("%s: the document from Winlogbeat's JSON differs:\n%s", in, a)
		}
	}
}

// winlogbeatOf is the JSON document Winlogbeat sends for a raw event,
// decoded as FromWinlogbeat's callers decode it: winlog.* from the System
// block with level, opcode and task (as rendered: given) and winmeta.xml's
// keywords rendered, EventData (or
// UserData) under event_data, unnamed values as paramN.
func winlogbeatOf(t *testing.T, r *event.Raw, task, opcode string) map[string]any {
	t.Helper()
	data := map[string]any{}
	for i, f := range r.Data {
		name := f.Name
		if name == "" {
			name = "param" + strconv.Itoa(i+1)
		}
		if f.Value != "" {
			data[name] = strings.ReplaceAll(f.Value, "\r\n", "\n")
		}
	}
	winlog := map[string]any{
		"channel": r.Channel, "computer_name": r.Computer, "event_id": strconv.Itoa(int(r.EventID)),
		"record_id": strconv.FormatUint(r.RecordID, 10), "provider_name": r.Provider,
		"provider_guid": r.ProviderGUID, "version": json.Number(strconv.Itoa(int(r.Version))),
		"opcode":       []string{"Info", "Start", "Stop"}[min(int(r.Opcode), 2)],
		"process":      map[string]any{"pid": json.Number(strconv.Itoa(int(r.ProcessID))), "thread": map[string]any{"id": json.Number(strconv.Itoa(int(r.ThreadID)))}},
		"time_created": r.TimeCreated.Format("2006-01-02T15:04:05.0000000Z"),
		"event_data":   data,
	}
	if r.Opcode > 2 {
		delete(winlog, "opcode")
	}
	if opcode != "" {
		// A provider's own opcode name, rendered as given.
		winlog["opcode"] = opcode
	}
	if r.UserSID != "" {
		winlog["user"] = map[string]any{"identifier": r.UserSID}
	}
	// Winlogbeat passes Correlation's GUIDs on as the event renders them.
	if r.ActivityID != "" {
		winlog["activity_id"] = r.ActivityID
	}
	if r.RelatedActivityID != "" {
		winlog["related_activity_id"] = r.RelatedActivityID
	}
	if task != "" {
		winlog["task"] = task
	}
	kw, _ := strconv.ParseUint(strings.TrimPrefix(r.Keywords, "0x"), 16, 64)
	switch {
	case kw&0x10000000000000 != 0:
		winlog["keywords"] = []any{"Audit Failure"}
	case kw&0x20000000000000 != 0:
		winlog["keywords"] = []any{"Audit Success"}
	}
	if kw&0x80000000000000 != 0 { // win:EventlogClassic
		l, _ := winlog["keywords"].([]any)
		winlog["keywords"] = append(l, "Classic")
	}
	level := map[uint8]string{0: "information", 1: "critical", 2: "error", 3: "warning", 4: "information", 5: "verbose"}[r.Level]
	doc := map[string]any{"winlog": winlog, "log": map[string]any{"level": level}}
	// Through JSON, as a document from a file or a listener arrives.
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGoldenChannelsCoverEventIDs checks that the goldens cover the event
// IDs the issue names first.
func TestGoldenChannelsCoverEventIDs(t *testing.T) {
	t.Parallel()
	inputs, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.xml"))
	var have []string
	for _, in := range inputs {
		parts := strings.Split(strings.TrimSuffix(filepath.Base(in), ".xml"), "-")
		for _, p := range parts {
			if _, err := strconv.Atoi(p); err == nil {
				have = append(have, parts[0]+"-"+p)
				break
			}
		}
	}
	for _, id := range []int{1102, 4624, 4625, 4634, 4647, 4648, 4672, 4688, 4689, 4697, 4698, 4719, 4720, 4728, 4732, 4740, 4768, 4769, 4771, 4776} {
		if !slices.Contains(have, fmt.Sprintf("security-%d", id)) {
			t.Errorf("no golden for Security event %d", id)
		}
	}
}
