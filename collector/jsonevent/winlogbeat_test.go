package jsonevent

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
)

var update = flag.Bool("update", false, "rewrite testdata/winlogbeat from the XML fixtures")

const xmlFixtures = "../../testdata/xml"

// The Winlogbeat fixtures are the XML fixtures as Winlogbeat 8 sends them
// through its Logstash output: one event document per line. They are
// generated here (go test -run TestWinlogbeatFixtures -update) so that a
// reader can see exactly what is sent, and other packages' tests (Beats,
// the CLI) send the same bytes.
func TestWinlogbeatFixtures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(xmlFixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	negatives, _ := filepath.Glob(filepath.Join(xmlFixtures, "negative", "*.xml"))
	files = append(files, negatives...)
	if len(files) < 9 {
		t.Fatalf("found %d XML fixtures under %s", len(files), xmlFixtures)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(xmlFixtures, f)
		golden := filepath.Join("testdata", "winlogbeat", strings.TrimSuffix(rel, ".xml")+".ndjson")
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			raws := readXMLFile(t, f)
			var b bytes.Buffer
			for _, r := range raws {
				b.WriteString(winlogbeatJSON(r).String())
				b.WriteByte('\n')
			}
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Fatalf("%s is out of date with %s; run go test -run TestWinlogbeatFixtures -update", golden, f)
			}

			// Decoding the documents gives back the events, less what
			// Winlogbeat renders into names or drops.
			var got []*event.Raw
			st, err := ReadNDJSON(context.Background(), bytes.NewReader(want), golden, collector.Options{},
				func(r *event.Raw) error { got = append(got, r); return nil },
				func(err error) { t.Errorf("report: %v", err) })
			if err != nil || st.Records != len(raws) || st.Errors != 0 {
				t.Fatalf("ReadNDJSON: %+v, %v", st, err)
			}
			for i := range raws {
				want := *raws[i]
				want.TimeCreated = want.TimeCreated.Truncate(time.Millisecond) // Beats' time format
				want.Task, want.Keywords = 0, ""
				compareRaw(t, got[i], &want)
				if got[i].Origin.Kind != SourceJSON || got[i].Origin.Path != golden {
					t.Errorf("origin %+v", got[i].Origin)
				}
			}
		})
	}
}

func readXMLFile(t *testing.T, path string) []*event.Raw {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*event.Raw
	_, err = collector.ReadXML(context.Background(), f, path, collector.Options{},
		func(r *event.Raw) error { out = append(out, r); return nil },
		func(err error) { t.Errorf("%s: %v", path, err) })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// compareRaw compares everything but the origin.
func compareRaw(t *testing.T, got, want *event.Raw) {
	t.Helper()
	g, w := *got, *want
	g.Origin, w.Origin = event.Origin{}, event.Origin{}
	g.XML, w.XML = "", ""
	gd, wd := g.Data, w.Data
	g.Data, w.Data = nil, nil
	if !g.TimeCreated.Equal(w.TimeCreated) {
		t.Errorf("record %d: TimeCreated %v, want %v", w.RecordID, g.TimeCreated, w.TimeCreated)
	}
	g.TimeCreated, w.TimeCreated = time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("record %d:\n got %+v\nwant %+v", w.RecordID, g, w)
	}
	if len(gd) != len(wd) {
		t.Fatalf("record %d: %d fields, want %d:\n got %v\nwant %v", w.RecordID, len(gd), len(wd), gd, wd)
	}
	for i := range wd {
		if gd[i] != wd[i] {
			t.Errorf("record %d: field %d = %+v, want %+v", w.RecordID, i, gd[i], wd[i])
		}
	}
}

// The builders below make ordered JSON documents for the tests.

func obj(kv ...any) value {
	v := value{kind: kindObject}
	for i := 0; i+1 < len(kv); i += 2 {
		v.obj = append(v.obj, member{kv[i].(string), val(kv[i+1])})
	}
	return v
}

func val(x any) value {
	switch x := x.(type) {
	case value:
		return x
	case string:
		return value{kind: kindString, text: x}
	case int:
		return value{kind: kindNumber, text: strconv.Itoa(x)}
	case uint64:
		return value{kind: kindNumber, text: strconv.FormatUint(x, 10)}
	case bool:
		return value{kind: kindBool, text: strconv.FormatBool(x)}
	case nil:
		return value{}
	}
	panic("val: unsupported type")
}

var sysmonTasks = map[uint32]string{
	1: "Process Create (rule: ProcessCreate)",
	3: "Network connection detected (rule: NetworkConnect)",
}

// winlogbeatJSON renders an event as Winlogbeat 8 sends it from a WEC
// server: host.* is the collector, winlog.computer_name the source.
func winlogbeatJSON(r *event.Raw) value {
	data := obj()
	for _, f := range r.Data {
		data.obj = append(data.obj, member{f.Name, val(f.Value)})
	}
	level := map[uint8]string{0: "information", 1: "critical", 2: "error", 3: "warning", 4: "information", 5: "verbose"}[r.Level]
	task := sysmonTasks[r.Task]
	if task == "" {
		task = strconv.Itoa(int(r.Task))
	}
	return obj(
		"@timestamp", r.TimeCreated.UTC().Format("2006-01-02T15:04:05.000Z"),
		"@metadata", obj("beat", "winlogbeat", "type", "_doc", "version", "8.15.3"),
		"agent", obj("type", "winlogbeat", "version", "8.15.3", "name", "WEC01", "id", "4f1e7a3c-2b7e-4d0a-9a51-0c8e2f6b1d11"),
		"ecs", obj("version", "8.0.0"),
		"host", obj("name", "wec01.corp.example"),
		"log", obj("level", level),
		"message", "Sysmon event "+strconv.Itoa(int(r.EventID)),
		"event", obj("code", strconv.Itoa(int(r.EventID)), "kind", "event", "provider", r.Provider, "action", task, "created", "2026-11-20T10:20:00.000Z"),
		"winlog", obj(
			"api", "wineventlog",
			"channel", r.Channel,
			"computer_name", r.Computer,
			"event_data", data,
			"event_id", strconv.Itoa(int(r.EventID)),
			"opcode", "Info",
			"process", obj("pid", int(r.ProcessID), "thread", obj("id", int(r.ThreadID))),
			"provider_guid", r.ProviderGUID,
			"provider_name", r.Provider,
			"record_id", r.RecordID,
			"task", task,
			"user", obj("identifier", r.UserSID, "domain", "NT AUTHORITY", "name", "SYSTEM", "type", "User"),
			"version", int(r.Version),
		),
	)
}
