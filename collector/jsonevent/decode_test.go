package jsonevent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
)

// openWECExample is the Json example of OpenWEC's doc/formats.md.
const openWECExample = `{
  "System": {
    "Provider": {"Name": "Microsoft-Windows-Security-Auditing", "Guid": "{54849625-5478-4994-a5ba-3e3b0328c30d}"},
    "EventID": 4688, "Version": 2, "Level": 0, "Task": 13312, "Opcode": 0,
    "Keywords": "0x8020000000000000",
    "TimeCreated": "2022-12-14T16:06:51.0643605Z",
    "EventRecordID": 114689,
    "Correlation": {},
    "Execution": {"ProcessID": 4, "ThreadID": 196},
    "Channel": "Security",
    "Computer": "win10.windomain.local"
  },
  "EventData": {
    "SubjectLogonId": "0x3e7", "SubjectUserName": "WIN10$", "NewProcessId": "0x3a8", "CommandLine": ""
  },
  "RenderingInfo": {"Message": "A new process has been created.", "Level": "Information", "Keywords": ["Audit Success"]},
  "OpenWEC": {"IpAddress": "192.168.58.100", "TimeReceived": "2022-12-14T17:07:03.331+01:00", "Principal": "WIN10$@WINDOMAIN.LOCAL",
    "Subscription": {"Uuid": "8B18D83D-2964-4F35-AC3B-6F4E6FFA727B", "Version": "AD0D118F-31EF-4111-A0CA-D87249747278", "Name": "Test", "Uri": "/this/is/a/test"}}
}`

func TestDecodeForms(t *testing.T) {
	t.Parallel()
	positive := readXMLFile(t, filepath.Join(xmlFixtures, "mmc-positive.xml"))
	xmlLines := strings.Split(strings.TrimSpace(readString(t, filepath.Join(xmlFixtures, "mmc-positive.xml"))), "\n")
	mmcConn := positive[3] // record 48214, the incoming connection
	rawJSON, _ := json.Marshal(map[string]any{
		"meta": map[string]any{"IpAddress": "10.20.30.41", "TimeReceived": "2026-11-20T10:15:03+00:00", "Principal": "WKS-FIN-07$@CORP.EXAMPLE"},
		"data": xmlLines[3],
	})
	winlogbeat7 := strings.Replace(strings.Replace(winlogbeatJSON(mmcConn).String(),
		`"event_id":"3"`, `"event_id":3`, 1), `"record_id":48214`, `"record_id":"48214"`, 1)
	withOriginal := obj("@timestamp", "2026-11-20T10:15:02.118Z",
		"event", obj("original", xmlLines[3]),
		"winlog", obj("event_id", "999", "computer_name", "not-this-one"))

	for _, tc := range []struct {
		name  string
		doc   string
		form  Form
		kind  string
		check func(t *testing.T, r *event.Raw)
	}{
		{"winlogbeat 8", winlogbeatJSON(mmcConn).String(), FormWinlogbeat, SourceJSON, func(t *testing.T, r *event.Raw) {
			want := *mmcConn
			want.TimeCreated = want.TimeCreated.Truncate(time.Millisecond)
			want.Task, want.Keywords = 0, ""
			compareRaw(t, r, &want)
		}},
		{"winlogbeat 7 numbers", winlogbeat7, FormWinlogbeat, SourceJSON, func(t *testing.T, r *event.Raw) {
			if r.EventID != 3 || r.RecordID != 48214 {
				t.Errorf("event id %d record %d", r.EventID, r.RecordID)
			}
		}},
		{"winlogbeat flattened keys", `{"@timestamp":"2026-11-20T10:15:02.118Z","winlog.event_id":"3","winlog.computer_name":"H","winlog.channel":"C","winlog.record_id":7,"winlog.event_data":{"A":"1","B":"2"}}`, FormWinlogbeat, SourceJSON, func(t *testing.T, r *event.Raw) {
			if r.EventID != 3 || r.Computer != "H" || r.RecordID != 7 || len(r.Data) != 2 || r.Data[1] != (event.Field{Name: "B", Value: "2"}) {
				t.Errorf("%+v", r)
			}
		}},
		{"winlogbeat event.original XML wins", withOriginal.String(), FormWinlogbeat, event.SourceXML, func(t *testing.T, r *event.Raw) {
			compareRaw(t, r, mmcConn)
		}},
		{"winlogbeat user_data", `{"winlog":{"event_id":1102,"channel":"Security","computer_name":"DC1","record_id":9,"provider_name":"Microsoft-Windows-Eventlog","user_data":{"xml_name":"LogFileCleared","SubjectUserSid":"S-1-5-21-1","SubjectUserName":"admin"}},"log":{"level":"information"},"@timestamp":"2026-01-02T03:04:05.000Z"}`, FormWinlogbeat, SourceJSON, func(t *testing.T, r *event.Raw) {
			if r.Level != 4 || len(r.Data) != 2 || r.Data[0] != (event.Field{Name: "SubjectUserSid", Value: "S-1-5-21-1"}) {
				t.Errorf("%+v", r)
			}
		}},
		{"openwec json", openWECExample, FormOpenWEC, SourceJSON, func(t *testing.T, r *event.Raw) {
			want := event.Raw{
				Provider: "Microsoft-Windows-Security-Auditing", ProviderGUID: "{54849625-5478-4994-a5ba-3e3b0328c30d}",
				EventID: 4688, Version: 2, Task: 13312, Keywords: "0x8020000000000000",
				TimeCreated: time.Date(2022, 12, 14, 16, 6, 51, 64360500, time.UTC),
				RecordID:    114689, ProcessID: 4, ThreadID: 196, Channel: "Security", Computer: "win10.windomain.local",
				Data: []event.Field{{Name: "SubjectLogonId", Value: "0x3e7"}, {Name: "SubjectUserName", Value: "WIN10$"}, {Name: "NewProcessId", Value: "0x3a8"}, {Name: "CommandLine", Value: ""}},
			}
			compareRaw(t, r, &want)
		}},
		{"openwec json unnamed data and user data", `{"System":{"EventID":1,"EventRecordID":2,"Channel":"Application","Computer":"H","UserID":"S-1-5-18","EventIDQualifiers":16384,"Vesion":1},"EventData":{"Data":["a","b"],"Binary":"00FF"},"UserData":"<Thing xmlns=\"x\"><Who>me</Who><When at=\"now\"/></Thing>"}`, FormOpenWEC, SourceJSON, func(t *testing.T, r *event.Raw) {
			want := []event.Field{{Name: "", Value: "a"}, {Name: "", Value: "b"}, {Name: "Binary", Value: "00FF"}, {Name: "Who", Value: "me"}, {Name: "at", Value: "now"}}
			if r.UserSID != "S-1-5-18" || r.Qualifiers != 16384 || r.Version != 1 || len(r.Data) != len(want) {
				t.Fatalf("%+v", r)
			}
			for i := range want {
				if r.Data[i] != want[i] {
					t.Errorf("field %d = %+v, want %+v", i, r.Data[i], want[i])
				}
			}
		}},
		{"openwec rawjson", string(rawJSON), FormOpenWECRaw, event.SourceXML, func(t *testing.T, r *event.Raw) {
			compareRaw(t, r, mmcConn)
		}},
		{"evtx map", `{"Event":{"EventData":{"Image":"C:\\mmc.exe","SourcePort":"49703"},"System":{"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WKS","Correlation":{},"EventID":{"Qualifiers":"0","Value":"3"},"EventRecordID":"48214","Execution":{"ProcessID":"3188","ThreadID":"4416"},"Keywords":"0x8000000000000000","Level":"4","Opcode":"0","Provider":{"Guid":"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}","Name":"Microsoft-Windows-Sysmon"},"Security":{"UserID":"S-1-5-18"},"Task":"3","TimeCreated":{"SystemTime":"2026-11-20T10:15:02.118Z"},"Version":"5"}}}`, FormEvtxMap, SourceJSON, func(t *testing.T, r *event.Raw) {
			want := event.Raw{
				Provider: "Microsoft-Windows-Sysmon", ProviderGUID: "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
				EventID: 3, Version: 5, Level: 4, Task: 3, Keywords: "0x8000000000000000",
				TimeCreated: time.Date(2026, 11, 20, 10, 15, 2, 118000000, time.UTC),
				RecordID:    48214, ProcessID: 3188, ThreadID: 4416, Channel: "Microsoft-Windows-Sysmon/Operational", Computer: "WKS", UserSID: "S-1-5-18",
				Data: []event.Field{{Name: "Image", Value: `C:\mmc.exe`}, {Name: "SourcePort", Value: "49703"}},
			}
			compareRaw(t, r, &want)
		}},
		{"evtx map user data", `{"Event":{"System":{"EventID":104,"EventRecordID":5,"Channel":"System","Computer":"H","TimeCreated":{"SystemTime":"2026-01-02T03:04:05Z"}},"UserData":{"LogFileCleared":{"SubjectUserName":"admin","Channel":"Application"}}}}`, FormEvtxMap, SourceJSON, func(t *testing.T, r *event.Raw) {
			if r.EventID != 104 || len(r.Data) != 2 || r.Data[1] != (event.Field{Name: "Channel", Value: "Application"}) {
				t.Errorf("%+v", r)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			received := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
			r, form, err := Decode([]byte(tc.doc), collector.Options{Now: func() time.Time { return received }})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if form != tc.form {
				t.Errorf("form %v, want %v", form, tc.form)
			}
			if r.Origin.Kind != tc.kind || !r.Origin.Received.Equal(received) {
				t.Errorf("origin %+v, want kind %q received %v", r.Origin, tc.kind, received)
			}
			tc.check(t, r)
		})
	}
}

func TestDecodeKeepXML(t *testing.T) {
	t.Parallel()
	line := strings.SplitN(readString(t, filepath.Join(xmlFixtures, "mmc-positive.xml")), "\n", 2)[0]
	doc, _ := json.Marshal(map[string]any{"meta": map[string]any{}, "data": line})
	r, _, err := Decode(doc, collector.Options{KeepXML: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.XML != line {
		t.Errorf("XML not kept:\n%s", r.XML)
	}
}

func TestDecodeBadInput(t *testing.T) {
	t.Parallel()
	doctype := `{"meta":{},"data":"<!DOCTYPE Event [<!ENTITY x \"boom\">]><Event><System><EventID>1</EventID></System><EventData><Data Name=\"a\">&x;</Data></EventData></Event>"}`
	for _, tc := range []struct {
		name, doc string
		is        error
		says      string
	}{
		{"empty", ``, nil, "malformed JSON"},
		{"truncated", `{"winlog":{"event_id":1`, nil, "malformed JSON"},
		{"trailing garbage", `{"winlog":{"event_id":1}} x`, nil, "after the document"},
		{"two documents", `{"winlog":{"event_id":1}} {}`, nil, "more than one JSON value"},
		{"array", `[1,2]`, ErrNotEvent, "is an array"},
		{"string", `"hello"`, ErrNotEvent, "is a string"},
		{"other object", `{"user":"bob","action":"login"}`, ErrNotEvent, "neither winlog"},
		{"winlog without id", `{"winlog":{"channel":"Security"}}`, ErrNotEvent, "no winlog.event_id"},
		{"event id not a number", `{"winlog":{"event_id":"four"}}`, nil, "winlog.event_id"},
		{"event id too large", `{"System":{"EventID":4294967296}}`, nil, "EventID"},
		{"event id boolean", `{"System":{"EventID":true}}`, nil, "a boolean, want a number"},
		{"bad time", `{"winlog":{"event_id":1},"@timestamp":"yesterday"}`, nil, "@timestamp"},
		{"time not a string", `{"System":{"EventID":1,"TimeCreated":12}}`, nil, "want an RFC 3339 time"},
		{"invalid UTF-8", "{\"winlog\":{\"event_id\":1,\"channel\":\"S\xffx\"}}", ErrInvalidUTF8, "at byte 36"},
		{"too deep", strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100), nil, "nested deeper"},
		{"rawjson doctype refused", doctype, collector.ErrDTD, "DOCTYPE"},
		{"rawjson malformed xml", `{"meta":{},"data":"<Event><System></Event>"}`, nil, "XML line 1"},
		{"rawjson two events", `{"meta":{},"data":"<Event><System/></Event><Event><System/></Event>"}`, nil, "holds 2 events"},
		{"rawjson empty with error", `{"meta":{"Error":{"Message":"bad xml"}},"data":""}`, nil, "could not handle the event: bad xml"},
		{"openwec user data doctype", `{"System":{"EventID":1},"UserData":"<!DOCTYPE x><x/>"}`, collector.ErrDTD, "UserData"},
		{"too large", `{"winlog":{"event_id":1,"message":"` + strings.Repeat("x", 2<<20) + `"}}`, collector.ErrEventTooLarge, "more than 1048576"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, _, err := Decode([]byte(tc.doc), collector.Options{})
			if err == nil {
				t.Fatalf("no error; got %+v", r)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
}

func TestReadNDJSON(t *testing.T) {
	t.Parallel()
	good := `{"winlog":{"event_id":"1","record_id":1,"computer_name":"H","channel":"C"}}`
	input := "\xef\xbb\xbf" + good + "\r\n" + // BOM and CRLF
		"\n" + // blank: ignored
		`{"not":"an event"}` + "\n" + // line 3
		strings.Repeat("y", 300) + "\n" + // line 4: too long
		`{"winlog":{"event_id":"2","record_id":2}}` + "\n" +
		"{\"winlog\":{\"event_id\":\"3\",\"channel\":\"\xc3\x28\"}}\n" + // line 6: invalid UTF-8, kept
		`{"winlog":{"event_id":"4","record_id":4}}` // no final newline
	var got []*event.Raw
	var reports []error
	st, err := ReadNDJSON(context.Background(), strings.NewReader(input), "peer 10.0.0.1:5000", collector.Options{MaxEventSize: 200},
		func(r *event.Raw) error { got = append(got, r); return nil },
		func(err error) { reports = append(reports, err) })
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 4 || st.Errors != 3 || st.Bytes != int64(len(input)) {
		t.Errorf("stats %+v, want 4 records, 3 errors, %d bytes", st, len(input))
	}
	for i, want := range []uint32{1, 2, 3, 4} {
		if i >= len(got) || got[i].EventID != want {
			t.Fatalf("events %v, want ids 1, 2, 3, 4", got)
		}
	}
	if got[2].Channel != "\uFFFD(" {
		t.Errorf("channel %q, want the bad byte as U+FFFD", got[2].Channel)
	}
	if got[0].Origin.Offset != 0 || got[1].Origin.Path != "peer 10.0.0.1:5000" {
		t.Errorf("origins %+v %+v", got[0].Origin, got[1].Origin)
	}
	if off := int64(strings.Index(input, `{"winlog":{"event_id":"2"`)); got[1].Origin.Offset != off {
		t.Errorf("second event at offset %d, want %d", got[1].Origin.Offset, off)
	}
	for i, want := range []struct {
		line int
		says string
	}{{3, "not a Windows event"}, {4, "longer than 200 bytes"}, {6, "invalid UTF-8: 1 byte(s) replaced by U+FFFD, the first at byte 37; the event is kept"}} {
		var ce *collector.Error
		if i >= len(reports) || !errors.As(reports[i], &ce) {
			t.Fatalf("reports %v", reports)
		}
		if ce.Line != want.line || !strings.Contains(ce.Error(), want.says) || !strings.HasPrefix(ce.Error(), "peer 10.0.0.1:5000:") {
			t.Errorf("report %d = %q, want line %d saying %q", i, ce, want.line, want.says)
		}
	}
}

// TestReadNDJSONEndlessLine feeds a line that never ends: it is skipped
// in bounded memory and the reader sees the end of the input.
func TestReadNDJSONEndlessLine(t *testing.T) {
	t.Parallel()
	const size = 64 << 20
	r := &repeatReader{b: 'z', n: size}
	var reports int
	st, err := ReadNDJSON(context.Background(), r, "endless", collector.Options{MaxEventSize: 1 << 10},
		func(*event.Raw) error { t.Error("emitted"); return nil },
		func(err error) {
			reports++
			if !errors.Is(err, collector.ErrEventTooLarge) {
				t.Errorf("report %v", err)
			}
		})
	if err != nil || reports != 1 || st.Bytes != size {
		t.Errorf("stats %+v, err %v, %d reports", st, err, reports)
	}
}

type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = r.b
	}
	r.n -= n
	return n, nil
}

func TestReadNDJSONStops(t *testing.T) {
	t.Parallel()
	input := strings.Repeat(`{"winlog":{"event_id":"1"}}`+"\n", 5)
	stop := errors.New("bus full")
	n := 0
	_, err := ReadNDJSON(context.Background(), strings.NewReader(input), "in", collector.Options{},
		func(*event.Raw) error {
			n++
			if n == 2 {
				return stop
			}
			return nil
		}, nil)
	if !errors.Is(err, stop) || !strings.HasPrefix(err.Error(), "in:2: ") {
		t.Errorf("err %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadNDJSON(ctx, strings.NewReader(input), "in", collector.Options{}, func(*event.Raw) error { return nil }, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// DecodeText keeps what Decode refuses for its bytes: each byte that is
// not UTF-8 becomes U+FFFD, and the caller learns how many and where.
func TestDecodeText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc, cmd string
		count, at      int
	}{
		{"valid", `{"winlog":{"event_id":1,"event_data":{"CommandLine":"cmd.exe /c whoami"}}}`, "cmd.exe /c whoami", 0, 0},
		{"one byte", "{\"winlog\":{\"event_id\":1,\"event_data\":{\"CommandLine\":\"cmd.exe \xff/c\"}}}", "cmd.exe \uFFFD/c", 1, 61},
		{"cut sequence", "{\"winlog\":{\"event_id\":1,\"event_data\":{\"CommandLine\":\"a\xe2\x82b\"}}}", "a\uFFFD\uFFFDb", 2, 54},
		{"encoded surrogate", "{\"winlog\":{\"event_id\":1,\"event_data\":{\"CommandLine\":\"a\xed\xa0\x80\"}}}", "a\uFFFD\uFFFD\uFFFD", 3, 54},
		{"escaped NUL", `{"winlog":{"event_id":1,"event_data":{"CommandLine":"a\u0000b"}}}`, "a\x00b", 0, 0},
		{"escaped lone surrogate", `{"winlog":{"event_id":1,"event_data":{"CommandLine":"a\ud800b"}}}`, "a\uFFFDb", 0, 0},
		{"CR kept", `{"winlog":{"event_id":1,"event_data":{"CommandLine":"a\r\nb"}}}`, "a\r\nb", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, _, replaced, err := DecodeText([]byte(tc.doc), collector.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := r.Get("CommandLine"); got != tc.cmd {
				t.Errorf("CommandLine = %q, want %q", got, tc.cmd)
			}
			switch {
			case tc.count == 0 && replaced != nil:
				t.Errorf("replaced = %v", replaced)
			case tc.count > 0 && (replaced == nil || replaced.Count != tc.count || replaced.At != tc.at || !errors.Is(replaced, ErrInvalidUTF8)):
				t.Errorf("replaced = %+v, want %d at %d", replaced, tc.count, tc.at)
			}
		})
	}
	// The size limit is the document's as given.
	doc := "{\"winlog\":{\"event_id\":1,\"message\":\"" + strings.Repeat("\xff", 100) + "\"}}"
	if _, _, _, err := DecodeText([]byte(doc), collector.Options{MaxEventSize: len(doc)}); err != nil {
		t.Errorf("a document within the limit, longer once fixed: %v", err)
	}
	if _, _, _, err := DecodeText([]byte(doc), collector.Options{MaxEventSize: len(doc) - 1}); !errors.Is(err, collector.ErrEventTooLarge) {
		t.Errorf("a document over the limit: %v", err)
	}
}
