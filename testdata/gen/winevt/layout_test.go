package winevt_test

import (
	"context"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/testdata/gen/evtxwrite"
	"github.com/weft-dev/weft/testdata/gen/winevt"
)

func TestMain(m *testing.M) {
	log.SetOutput(io.Discard) // golang-evtx logs to the standard logger
	os.Exit(m.Run())
}

// sample is a value of type typ for field i.
func sample(typ evtxwrite.Type, i int) evtxwrite.Value {
	switch typ {
	case evtxwrite.TypeSID:
		sid, _ := evtxwrite.ParseSID("S-1-5-21-1004336348-1177238915-682003330-1105")
		return sid.Value()
	case evtxwrite.TypeHexInt64:
		return evtxwrite.HexInt64(uint64(0x3e7 + i))
	case evtxwrite.TypeUInt32:
		return evtxwrite.UInt32(uint32(i))
	case evtxwrite.TypeUInt64:
		return evtxwrite.UInt64(uint64(i))
	case evtxwrite.TypeGUID:
		g, _ := evtxwrite.ParseGUID("{3f1c9a52-6b2e-6739-e802-000000001a00}")
		return g.Value()
	}
	return evtxwrite.String("v" + strings.Repeat("x", i%3))
}

// writeAll writes one event of every layout to a file and reads it back
// with weft's collector.
func writeAll(t *testing.T) map[string]*event.Raw {
	t.Helper()
	path := filepath.Join(t.TempDir(), "all.evtx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := evtxwrite.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	enc := winevt.NewEncoder()
	id := uint64(1)
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for _, ch := range winevt.Channels() {
		for _, eid := range winevt.IDs(ch) {
			l, _ := winevt.LayoutOf(ch, eid)
			ev := &winevt.Event{Layout: l, RecordID: id, Time: t0.Add(time.Duration(id) * time.Second), Computer: "WKS-FIN-01.corp.example", ProcessID: 636, ThreadID: 700}
			for i, typ := range l.Types {
				ev.Values = append(ev.Values, sample(typ, i))
			}
			in, err := enc.Instance(ev)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(evtxwrite.Record{ID: id, Written: ev.Time, Event: in}); err != nil {
				t.Fatal(err)
			}
			id++
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := map[string]*event.Raw{}
	if _, err := collector.ReadFile(context.Background(), path, collector.Options{}, func(r *event.Raw) error {
		out[r.Channel+"/"+uintString(r.EventID)] = r
		return nil
	}, func(err error) { t.Error(err) }); err != nil {
		t.Fatal(err)
	}
	return out
}

func uintString(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// TestRoundTrip writes every layout and reads it back: provider, channel,
// System values and the event data names and values come out as laid out
// (UserData flattened, classic PowerShell's unnamed values unnamed).
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	got := writeAll(t)
	n := 0
	for _, ch := range winevt.Channels() {
		for _, eid := range winevt.IDs(ch) {
			n++
			l, _ := winevt.LayoutOf(ch, eid)
			r := got[ch+"/"+uintString(uint32(eid))]
			if r == nil {
				t.Errorf("%s %d: not read back", ch, eid)
				continue
			}
			if r.Provider != l.Provider.Name || r.Level != l.Level || r.Task != uint32(l.Task) || r.Version != l.Version {
				t.Errorf("%s %d: provider %q level %d task %d version %d", ch, eid, r.Provider, r.Level, r.Task, r.Version)
			}
			if (l.Provider.GUID == nil) != (r.ProviderGUID == "") {
				t.Errorf("%s %d: provider GUID %q", ch, eid, r.ProviderGUID)
			}
			if l.Qualifiers > 0 && r.Qualifiers != uint32(l.Qualifiers) {
				t.Errorf("%s %d: qualifiers %d", ch, eid, r.Qualifiers)
			}
			var names []string
			for i, f := range r.Data {
				names = append(names, f.Name)
				if want := sample(l.Types[i], i).String(); f.Value != want && !strings.EqualFold(strings.Trim(f.Value, "{}"), strings.Trim(want, "{}")) {
					t.Errorf("%s %d: %s = %q, wrote %q", ch, eid, f.Name, f.Value, want)
				}
			}
			if !slices.Equal(names, l.Names) {
				t.Errorf("%s %d: read back %q, laid out %q", ch, eid, names, l.Names)
			}
		}
	}
	if n < 30 {
		t.Errorf("only %d layouts", n)
	}
}

// layoutDiffers are the layouts known to differ from the corpus's, and
// why.
var layoutDiffers = map[string]string{
	// The corpus's only 4648 (a Windows 7-era template) names both GUIDs
	// LogonGuid; current Windows and Elastic's field list call the second
	// TargetLogonGuid.
	"Security/4648": "TargetLogonGuid",
}

// TestLayoutMatchesWindows compares each layout with real logs of the
// same event id and version in ../shared/corpus: provider, task,
// keywords, and the event data names in order.
func TestLayoutMatchesWindows(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "..", "..", "shared", "corpus")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("the corpus is absent (%s): %v", dir, err)
	}
	real := map[string]*event.Raw{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(strings.ToLower(path), ".evtx") {
			return err
		}
		_, err = collector.ReadFile(context.Background(), path, collector.Options{}, func(r *event.Raw) error {
			l, ok := winevt.LayoutOf(r.Channel, uint16(r.EventID))
			k := r.Channel + "/" + uintString(r.EventID)
			if ok && r.Version == l.Version && r.Provider == l.Provider.Name && (real[k] == nil || len(r.Data) > len(real[k].Data)) {
				c := *r
				c.Origin.Path = filepath.Base(path)
				real[k] = &c
			}
			return nil
		}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for k, r := range real {
		l, _ := winevt.LayoutOf(r.Channel, uint16(r.EventID))
		compared++
		var names []string
		for _, f := range r.Data {
			names = append(names, f.Name)
		}
		if !slices.Equal(names, l.Names) {
			if diff, ok := layoutDiffers[k]; ok && slices.Contains(l.Names, diff) {
				continue
			}
			t.Errorf("%s: %s has %q, laid out %q", k, r.Origin.Path, names, l.Names)
		}
		if r.Task != uint32(l.Task) || r.Level != l.Level {
			t.Errorf("%s: %s has task %d level %d, laid out %d %d", k, r.Origin.Path, r.Task, r.Level, l.Task, l.Level)
		}
		if l.Qualifiers >= 0 && r.Qualifiers != uint32(l.Qualifiers) {
			t.Errorf("%s: %s has qualifiers %d, laid out %d", k, r.Origin.Path, r.Qualifiers, l.Qualifiers)
		}
	}
	if compared < 8 {
		t.Errorf("compared %d layouts with the corpus, want at least 8", compared)
	}
	t.Logf("compared %d layouts with real logs", compared)
}
