package collector

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/weft-dev/weft/event"
)

// ev renders a small event with the given record id and EventData.
func ev(id int, data string) string {
	return fmt.Sprintf(`<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>`+
		`<Provider Name="Microsoft-Windows-Sysmon" Guid="{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"/>`+
		`<EventID>3</EventID><Version>5</Version><Level>4</Level><Task>3</Task><Opcode>0</Opcode>`+
		`<Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="2026-11-20T10:15:02.1234567Z"/>`+
		`<EventRecordID>%d</EventRecordID><Correlation/><Execution ProcessID="3188" ThreadID="4416"/>`+
		`<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WKS-FIN-07.corp.example</Computer>`+
		`<Security UserID="S-1-5-18"/></System><EventData>%s</EventData></Event>`, id, data)
}

func utf16LE(s string, bom bool) string {
	var b bytes.Buffer
	if bom {
		b.Write([]byte{0xFF, 0xFE})
	}
	for _, u := range utf16.Encode([]rune(s)) {
		_ = binary.Write(&b, binary.LittleEndian, u)
	}
	return b.String()
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReadXMLShapes(t *testing.T) {
	t.Parallel()
	one, two, three := ev(1, `<Data Name="a">1</Data>`), ev(2, ""), ev(3, "")
	wrapped := mustRead(t, fixture(t, "wrapped.xml"))
	tests := []struct {
		name  string
		input string
		want  []uint64
	}{
		{"single", one, []uint64{1}},
		{"single with declaration", `<?xml version="1.0" encoding="utf-8"?>` + "\n" + one + "\n", []uint64{1}},
		{"newline separated", one + "\n" + two + "\r\n\r\n" + three + "\n", []uint64{1, 2, 3}},
		{"back to back", one + two + three, []uint64{1, 2, 3}},
		{"wrapped", "<Events>" + one + two + "</Events>", []uint64{1, 2}},
		{"wrapped fixture", wrapped, []uint64{48211, 48212, 48213}},
		{"utf-8 bom", "\xEF\xBB\xBF" + one, []uint64{1}},
		{"utf-16le bom", utf16LE(`<?xml version="1.0" encoding="UTF-16"?>`+"\r\n"+one+"\r\n"+two, true), []uint64{1, 2}},
		{"utf-16le no bom", utf16LE(one+two, false), []uint64{1, 2}},
		{"comments and blank", "<!-- exported -->\n\n" + one + "<!-- end -->", []uint64{1}},
		{"empty", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := readXMLString(t, tc.input, Options{})
			if res.err != nil || len(res.errs) > 0 {
				t.Fatalf("err %v, reports:\n%s", res.err, res.errorText())
			}
			if got := res.ids(); !slices.Equal(got, tc.want) {
				t.Errorf("record ids %v, want %v", got, tc.want)
			}
			if res.stats.Records != len(tc.want) || res.stats.Bytes != int64(len(tc.input)) {
				t.Errorf("stats %+v, want %d records of %d bytes", res.stats, len(tc.want), len(tc.input))
			}
		})
	}
}

func TestReadXMLBadInput(t *testing.T) {
	t.Parallel()
	good1, good2 := ev(1, ""), ev(2, "")
	big := ev(7, `<Data Name="Blob">`+strings.Repeat("A", 4096)+`</Data>`)
	tests := []struct {
		name     string
		input    string
		maxSize  int
		want     []uint64
		wantErr  string // in the one reported error
		wantLine int
		wantIs   error
	}{
		{"mismatched tag", good1 + "\n" + strings.Replace(ev(9, `<Data Name="x">v</Data>`), "v</Data>", "v</Datum>", 1) + "\n" + good2,
			0, []uint64{1, 2}, "</Datum> closes <Data>", 2, nil},
		{"syntax error", good1 + "\n\n" + `<Event><System><EventID>3</EventID x></System></Event>` + "\n" + good2,
			0, []uint64{1, 2}, "line 3", 3, nil},
		{"undefined entity", good1 + "\n" + ev(9, `<Data Name="x">&xxe;</Data>`) + good2,
			0, []uint64{1, 2}, "xxe", 2, nil},
		{"doctype", `<!DOCTYPE Event [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + "\n" + good1,
			0, []uint64{1}, "DOCTYPE", 1, ErrDTD},
		{"doctype inside event", "\n" + strings.Replace(good1, "<System>", "<!DOCTYPE x><System>", 1) + "\n" + good2,
			0, []uint64{2}, "DOCTYPE", 2, ErrDTD},
		{"oversize event", good1 + "\n" + big + "\n" + good2,
			1024, []uint64{1, 2}, "more than 1024 bytes", 2, ErrEventTooLarge},
		{"oversize text between events", good1 + strings.Repeat(" ", 3000) + good2,
			1024, []uint64{1, 2}, "more than 1024 bytes outside any <Event>", 1, nil},
		{"truncated then complete", good1 + "\n" + good2[:200] + "\n" + ev(3, ""),
			0, []uint64{1, 3}, "event at line 2", 3, nil},
		{"unclosed then complete", good1 + "\n" + strings.Replace(good2, "</Event>", "", 1) + "\n" + ev(3, ""),
			0, []uint64{1, 3}, "not closed before the next <Event> at line 3", 2, nil},
		{"ends inside event", good1 + "\n" + good2[:300],
			0, []uint64{1}, "unexpected EOF", 2, nil},
		{"ends between tags inside event", good1 + "\n" + good2[:strings.Index(good2, "<System>")+len("<System>")],
			0, []uint64{1}, "input ends inside the event", 2, nil},
		{"ends inside wrapper", "<Events>\n" + good1 + "\n",
			0, []uint64{1}, "input ends inside <Events>", 3, nil},
		{"text between events", good1 + "\nnot xml at all\n" + good2,
			0, []uint64{1, 2}, "text outside any <Event>", 1, nil},
		{"foreign root", "<html><body/></html>" + good1,
			0, []uint64{1}, "unexpected <html>", 1, nil},
		{"bad event id", strings.Replace(good1, "<EventID>3<", "<EventID>three<", 1) + good2,
			0, []uint64{2}, "<System> EventID", 1, nil},
		{"bad time", strings.Replace(good1, "2026-11-20T10:15:02", "yesterday", 1) + good2,
			0, []uint64{2}, "TimeCreated", 1, nil},
		{"no system", "<Event><EventData/></Event>" + good1,
			0, []uint64{1}, "no <System>", 1, nil},
		{"unsupported encoding", `<?xml version="1.0" encoding="ISO-8859-9"?>` + good1,
			0, []uint64{1}, "unsupported encoding", 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := readXMLString(t, tc.input, Options{MaxEventSize: tc.maxSize})
			if res.err != nil {
				t.Fatalf("read failed: %v", res.err)
			}
			if got := res.ids(); !slices.Equal(got, tc.want) {
				t.Errorf("record ids %v, want %v; reports:\n%s", got, tc.want, res.errorText())
			}
			if len(res.errs) != 1 || res.stats.Errors != 1 {
				t.Fatalf("want 1 report, got %d (stats %d):\n%s", len(res.errs), res.stats.Errors, res.errorText())
			}
			e := res.errs[0]
			msg := e.Error()
			if !strings.Contains(msg, tc.wantErr) || !strings.HasPrefix(msg, fmt.Sprintf("test.xml:%d: ", tc.wantLine)) {
				t.Errorf("report %q, want it to start with test.xml:%d and contain %q", msg, tc.wantLine, tc.wantErr)
			}
			if e.Line != tc.wantLine || e.Path != "test.xml" || e.Chunk != -1 {
				t.Errorf("report located at %+v, want line %d", e, tc.wantLine)
			}
			if tc.wantIs != nil && !errors.Is(e, tc.wantIs) {
				t.Errorf("report %v is not %v", e, tc.wantIs)
			}
		})
	}
}

func TestReadXMLMalformedFixture(t *testing.T) {
	t.Parallel()
	f, err := os.Open(fixture(t, "malformed.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	emit, report, res := collect(t)
	if _, err := ReadXML(context.Background(), f, "malformed.xml", Options{}, emit, report); err != nil {
		t.Fatal(err)
	}
	if got := res.ids(); !slices.Equal(got, []uint64{48211, 48213}) {
		t.Errorf("record ids %v, want the good events 48211 and 48213", got)
	}
	if len(res.errs) != 1 || res.errs[0].Line != 2 || !strings.HasPrefix(res.errs[0].Error(), "malformed.xml:2: ") {
		t.Errorf("want one report on line 2, got:\n%s", res.errorText())
	}
}

func TestReadXMLFields(t *testing.T) {
	t.Parallel()
	in := `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>` +
		`<Provider Name="Service Control Manager" Guid="{555908d1-a6d7-4695-8e1e-26931d2012f4}" EventSourceName="Service Control Manager"/>` +
		`<EventID Qualifiers="16384">7036</EventID><Version>0</Version><Level>4</Level><Task>0</Task><Opcode>0</Opcode>` +
		`<Keywords>0x8080000000000000</Keywords><TimeCreated SystemTime="2026-11-20T10:15:02.1234567Z"/>` +
		`<EventRecordID>18446744073709551615</EventRecordID><Correlation ActivityID="{11111111-2222-3333-4444-555555555555}"/>` +
		`<Execution ProcessID="612" ThreadID="4294967295"/><Channel>System</Channel><Computer>DC01</Computer><Security/></System>` +
		`<EventData><Data Name="param1">Windows Update</Data><Data>running</Data><Data Name="empty"/>` +
		`<Data Name="esc">a &amp; b &lt;c&gt; &#x41;</Data><Binary>7700750061</Binary></EventData>` +
		`<UserData><LogFileCleared xmlns="http://manifests.microsoft.com/win/2004/08/windows/eventlog">` +
		`<SubjectUserName>adm</SubjectUserName><Nested><Data Name="inner">x</Data></Nested>` +
		`<Client Address="10.20.30.15" Port="50112"/><Empty/></LogFileCleared></UserData></Event>`
	res := readXMLString(t, in, Options{Now: fixedNow})
	if res.err != nil || len(res.errs) != 0 || len(res.events) != 1 {
		t.Fatalf("err %v, %d events, reports:\n%s", res.err, len(res.events), res.errorText())
	}
	got := res.events[0]
	want := &event.Raw{
		Provider: "Service Control Manager", ProviderGUID: "{555908d1-a6d7-4695-8e1e-26931d2012f4}",
		EventID: 7036, Qualifiers: 16384, Version: 0, Level: 4, Task: 0, Opcode: 0, Keywords: "0x8080000000000000",
		TimeCreated: time.Date(2026, 11, 20, 10, 15, 2, 123456700, time.UTC), RecordID: 18446744073709551615,
		ProcessID: 612, ThreadID: 4294967295, Channel: "System", Computer: "DC01",
		ActivityID: "{11111111-2222-3333-4444-555555555555}",
		Data: []event.Field{
			{Name: "param1", Value: "Windows Update"}, {Name: "", Value: "running"}, {Name: "empty", Value: ""},
			{Name: "esc", Value: "a & b <c> A"}, {Name: "Binary", Value: "7700750061"},
			{Name: "SubjectUserName", Value: "adm"}, {Name: "inner", Value: "x"},
			{Name: "Address", Value: "10.20.30.15"}, {Name: "Port", Value: "50112"}, {Name: "Empty", Value: ""},
		},
		Origin: event.Origin{Kind: event.SourceXML, Path: "test.xml", Received: fixedNow()},
	}
	gotJSON, _ := json.MarshalIndent(got, "", " ")
	wantJSON, _ := json.MarshalIndent(want, "", " ")
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("got\n%s\nwant\n%s", gotJSON, wantJSON)
	}
}

func TestReadXMLOriginAndKeepXML(t *testing.T) {
	t.Parallel()
	one, two := ev(1, ""), ev(2, `<Data Name="a">x &amp; y</Data>`)
	input := "<Events>\n  " + one + "\n  " + two + "\n</Events>\n"
	res := readXMLString(t, input, Options{KeepXML: true})
	if res.err != nil || len(res.errs) > 0 || len(res.events) != 2 {
		t.Fatalf("err %v, %d events, reports:\n%s", res.err, len(res.events), res.errorText())
	}
	for i, want := range []string{one, two} {
		got := res.events[i]
		if got.XML != want {
			t.Errorf("event %d XML\n%q\nwant\n%q", i, got.XML, want)
		}
		if off := strings.Index(input, want); got.Origin.Offset != int64(off) {
			t.Errorf("event %d offset %d, want %d", i, got.Origin.Offset, off)
		}
		if got.Origin.Kind != event.SourceXML || got.Origin.Path != "test.xml" || got.Origin.Received.IsZero() {
			t.Errorf("event %d origin %+v", i, got.Origin)
		}
	}
	if plain := readXMLString(t, input, Options{}); plain.events[0].XML != "" {
		t.Errorf("XML kept without KeepXML")
	}
}

func TestReadXMLStops(t *testing.T) {
	t.Parallel()
	input := ev(1, "") + ev(2, "") + ev(3, "")
	stop := errors.New("stop")
	n := 0
	_, err := ReadXML(context.Background(), strings.NewReader(input), "-", Options{}, func(r *event.Raw) error {
		n++
		if r.RecordID == 2 {
			return stop
		}
		return nil
	}, nil)
	if !errors.Is(err, stop) || n != 2 {
		t.Errorf("emit error: got %v after %d events, want stop after 2", err, n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = ReadXML(ctx, strings.NewReader(input), "-", Options{}, func(*event.Raw) error {
		t.Error("emitted after cancel")
		return nil
	}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled read returned %v", err)
	}
}

type failingReader struct{ after int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("device gone")
	}
	n := min(len(p), f.after)
	copy(p, strings.Repeat(" ", n))
	f.after -= n
	return n, nil
}

func TestReadXMLReadFailure(t *testing.T) {
	t.Parallel()
	_, err := ReadXML(context.Background(), &failingReader{after: 10}, "-", Options{}, func(*event.Raw) error { return nil }, nil)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "device gone") || e.Path != "-" {
		t.Errorf("got %v, want a located read error", err)
	}
}

// TestFixtures checks the rule fixtures against their README: the positive
// file holds the sequence, and each negative differs from it in exactly
// the fields listed here.
func TestFixtures(t *testing.T) {
	t.Parallel()
	read := func(t *testing.T, name string) []*event.Raw {
		emit, report, res := collect(t)
		if _, err := ReadFile(context.Background(), fixture(t, name), Options{Now: fixedNow}, emit, report); err != nil || len(res.errs) > 0 {
			t.Fatalf("%s: %v %s", name, err, res.errorText())
		}
		return res.events
	}
	positive := read(t, "mmc-positive.xml")
	checkPositive(t, positive)

	// Fields that differ, as "event key.field", where the key is the event
	// id and Image of the event in the positive file.
	tests := map[string][]string{
		"low-port.xml":    {"3 mmc.exe.SourcePort=49151"},
		"loopback.xml":    {"3 mmc.exe.SourceIp=127.0.0.1"},
		"loopback-v6.xml": {"3 mmc.exe.SourceIsIpv6=true", "3 mmc.exe.SourceIp=::1"},
		"outgoing.xml":    {"3 mmc.exe.Initiated=true"},
		"udp.xml":         {"3 mmc.exe.Protocol=udp"},
		"other-mmc.xml": {"1 cmd.exe.ParentProcessGuid={3f1c9a52-6a77-6739-d102-000000001a00}",
			"1 cmd.exe.ParentProcessId=6120"},
		"late-child.xml": {"1 cmd.exe.TimeCreated=2026-11-20T10:16:03.4118203Z", "1 cmd.exe.UtcTime=2026-11-20 10:16:03.406"},
		"other-host.xml": {"1 cmd.exe.Computer=WKS-FIN-08.corp.example"},
		"child-first.xml": {"1 cmd.exe.TimeCreated=2026-11-20T10:15:00.8770412Z", "1 cmd.exe.RecordID=48214",
			"1 cmd.exe.UtcTime=2026-11-20 10:15:00.871", "3 mmc.exe.RecordID=48215"},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := diffEvents(t, positive, read(t, filepath.Join("negative", name)))
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("differences from the positive file:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// checkPositive asserts the sequence the rule looks for is there once.
func checkPositive(t *testing.T, evs []*event.Raw) {
	t.Helper()
	var conn, child *event.Raw
	children := 0
	for _, e := range evs {
		image, _ := e.Get("Image")
		parent, _ := e.Get("ParentImage")
		switch {
		case e.EventID == 3 && strings.HasSuffix(image, `\mmc.exe`):
			conn = e
		case e.EventID == 1 && strings.HasSuffix(parent, `\mmc.exe`):
			child = e
			children++
		}
	}
	if conn == nil || child == nil || children != 1 {
		t.Fatalf("want one mmc.exe connection and one mmc.exe child, got %v %v (%d children)", conn, child, children)
	}
	get := func(e *event.Raw, k string) string { v, _ := e.Get(k); return v }
	if get(conn, "Initiated") != "false" || get(conn, "Protocol") != "tcp" || get(conn, "SourcePort") < "49152" ||
		get(conn, "DestinationPort") < "49152" || get(conn, "SourceIp") != "10.20.30.41" {
		t.Errorf("connection does not match the rule: %+v", conn.Data)
	}
	if get(child, "ParentProcessGuid") != get(conn, "ProcessGuid") || child.Computer != conn.Computer {
		t.Errorf("child is not mmc.exe's on the same host")
	}
	if gap := child.TimeCreated.Sub(conn.TimeCreated); gap <= 0 || gap >= time.Minute {
		t.Errorf("child %v after the connection, want within a minute", gap)
	}
}

func diffEvents(t *testing.T, a, b []*event.Raw) []string {
	t.Helper()
	key := func(e *event.Raw) string {
		image, _ := e.Get("Image")
		return fmt.Sprintf("%d %s", e.EventID, filepath.Base(strings.ReplaceAll(image, `\`, "/")))
	}
	flat := func(e *event.Raw) map[string]string {
		m := map[string]string{
			"Computer": e.Computer, "RecordID": fmt.Sprint(e.RecordID),
			"TimeCreated": e.TimeCreated.Format("2006-01-02T15:04:05.0000000Z"),
			"Provider":    e.Provider, "EventID": fmt.Sprint(e.EventID), "Channel": e.Channel,
		}
		for _, f := range e.Data {
			m[f.Name] = f.Value
		}
		return m
	}
	byKey := map[string]*event.Raw{}
	for _, e := range b {
		byKey[key(e)] = e
	}
	if len(a) != len(b) || len(byKey) != len(b) {
		t.Fatalf("event counts differ: %d and %d", len(a), len(b))
	}
	var diffs []string
	for _, ea := range a {
		eb := byKey[key(ea)]
		if eb == nil {
			t.Fatalf("no counterpart for %s", key(ea))
		}
		fa, fb := flat(ea), flat(eb)
		for k, v := range fb {
			if fa[k] != v {
				diffs = append(diffs, fmt.Sprintf("%s.%s=%s", key(ea), k, v))
			}
		}
	}
	return diffs
}

func TestReadXMLGolden(t *testing.T) {
	t.Parallel()
	emit, report, res := collect(t)
	if _, err := ReadFile(context.Background(), fixture(t, "mmc-positive.xml"), Options{Now: fixedNow}, emit, report); err != nil {
		t.Fatal(err)
	}
	for _, e := range res.events {
		e.Origin.Path = filepath.Base(e.Origin.Path)
	}
	compareGolden(t, "mmc-positive.json", res.events)
}

func compareGolden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", path, got)
	}
}
