package jsonevent

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
)

func fuzzSeeds(f *testing.F) {
	f.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "winlogbeat", "mmc-positive.ndjson"))
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range bytes.Split(data, []byte("\n"))[:2] {
		f.Add(line)
	}
	for _, s := range []string{
		openWECExample,
		`{"meta":{},"data":"<Event><System><EventID>1</EventID></System></Event>"}`,
		`{"Event":{"System":{"EventID":{"Value":"3","Qualifiers":"0"},"TimeCreated":{"SystemTime":"2026-11-20T10:15:02Z"}},"EventData":{"a":"b"}}}`,
		`{"winlog.event_id":"3","winlog.event_data":{"A":[1,{"B":null}]}}`,
		`{"System":{"EventID":1},"UserData":"<a><b>c</b></a>"}`,
		`[]`, `{}`, `null`, `{"winlog":{"event_id":1}} {}`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzDecode: any input gives an event or an error, never a panic; what
// parses is valid JSON, and an event's text is valid UTF-8.
func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, form, err := Decode(data, collector.Options{MaxEventSize: 1 << 16})
		if _, perr := parse(data); perr == nil && utf8.Valid(data) && !json.Valid(data) {
			t.Fatalf("parse accepted invalid JSON %q", data)
		}
		if err != nil {
			if r != nil {
				t.Fatal("an event and an error")
			}
			return
		}
		if form == FormUnknown || r == nil {
			t.Fatalf("form %v, event %v", form, r)
		}
		for _, fl := range r.Data {
			if !utf8.ValidString(fl.Name) || !utf8.ValidString(fl.Value) {
				t.Fatalf("field %q is not UTF-8", fl)
			}
		}
		if !utf8.ValidString(r.Computer) || !utf8.ValidString(r.Channel) || !utf8.ValidString(r.Provider) {
			t.Fatal("system field is not UTF-8")
		}
	})
}

// FuzzReadNDJSON: every line is an event, a report or both, and the
// reader always reaches the end of its input.
func FuzzReadNDJSON(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte("{\"winlog\":{\"event_id\":1}}\n\n{\"x\":1}\r\n" + strings.Repeat("a", 300)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var events int
		st, err := ReadNDJSON(context.Background(), bytes.NewReader(data), "fuzz", collector.Options{MaxEventSize: 256},
			func(*event.Raw) error { events++; return nil }, func(error) {})
		if err != nil {
			t.Fatalf("ReadNDJSON: %v", err)
		}
		if st.Records != events || st.Bytes != int64(len(data)) {
			t.Fatalf("stats %+v, %d events, %d bytes", st, events, len(data))
		}
		lines := 0
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 || len(l) > 256 {
				lines++
			}
		}
		// A line with bytes that are not UTF-8 is both: kept and reported.
		if st.Records > lines || st.Errors > lines || (lines > 0 && st.Records+st.Errors == 0) {
			t.Fatalf("%d records and %d errors for %d lines", st.Records, st.Errors, lines)
		}
	})
}
