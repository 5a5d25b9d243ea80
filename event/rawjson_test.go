package event

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// encodingJSON is what AppendJSON must equal: encoding/json with HTML
// escaping off, without Encode's newline.
func encodingJSON(t *testing.T, r *Raw) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func TestAppendJSON(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 11, 27, 18, 0, 0, 123456700, time.UTC)
	full := Raw{
		Provider: "Microsoft-Windows-Sysmon", ProviderGUID: "5770385F-C22A-43E0-BF4C-06F5698FFBD9",
		EventID: 1, Qualifiers: 16384, Version: 5, Level: 4, Task: 1, Opcode: 0, Keywords: "0x8000000000000000",
		TimeCreated: when, RecordID: 1 << 40, ProcessID: 3188, ThreadID: 4412,
		Channel: "Microsoft-Windows-Sysmon/Operational", Computer: "WKS-FIN-07.corp.example", UserSID: "S-1-5-18",
		ActivityID: "{A895D499-2626-0001-2AD5-95A82626D901}", RelatedActivityID: "{00000000-0000-0000-0000-00000000000\"}",
		Data:   []Field{{"CommandLine", `cmd.exe /c "a & b" <x> \\srv\share`}, {"", "tab\there\nnew\rline\x00\x01\x1f\x7f"}, {"Bad", "\xff\xfeok\u2028\u2029é日本"}},
		Origin: Origin{Kind: SourceEVTX, Path: `C:\logs\a.evtx`, Chunk: 3, Offset: 0x12345, Received: when},
		XML:    "<Event/>",
	}
	network := Raw{Provider: "p", Origin: Origin{Kind: "listen", Listener: "tcp", Peer: "127.0.0.1:5000", Received: when.In(time.FixedZone("x", 3600))}}
	for name, r := range map[string]Raw{
		"full":       full,
		"zero":       {},
		"empty data": {Data: []Field{}},
		"network":    network,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := r.AppendJSON(nil)
			if want := encodingJSON(t, &r); err != nil || !bytes.Equal(got, want) {
				t.Errorf("AppendJSON (%v):\n%s\nencoding/json:\n%s", err, got, want)
			}
		})
	}
	r := Raw{TimeCreated: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := r.AppendJSON(nil); err == nil {
		t.Error("year 10000: no error")
	}
	if _, err := json.Marshal(&r); err == nil {
		t.Error("encoding/json took year 10000 after all")
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("Sysmon", "cmd.exe /c \"x\"", "\xff\n\u2028", int64(0))
	f.Fuzz(func(t *testing.T, provider, name, value string, nanos int64) {
		r := Raw{Provider: provider, Data: []Field{{name, value}}, TimeCreated: time.Unix(0, nanos).UTC(), Keywords: value, Origin: Origin{Path: name}}
		if y := r.TimeCreated.Year(); y < 0 || y > 9999 {
			return
		}
		got, err := r.AppendJSON(nil)
		if want := encodingJSON(t, &r); err != nil || !bytes.Equal(got, want) {
			t.Errorf("AppendJSON:\n%q\nencoding/json:\n%q", got, want)
		}
	})
}

// TestOriginChunk: an EVTX origin always says its chunk, 0 included (the
// first chunk's events had none); origins of rendered XML and listeners
// have no chunk. encoding/json writes the same through Origin.MarshalJSON.
func TestOriginChunk(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		origin Origin
		want   string
	}{
		{"evtx chunk 0", Origin{Kind: SourceEVTX, Path: "a.evtx", Chunk: 0, Offset: 4608, Received: when},
			`{"kind":"evtx","path":"a.evtx","chunk":0,"offset":4608,"received":"2026-11-27T18:00:00Z"}`},
		{"evtx chunk 2", Origin{Kind: SourceEVTX, Path: "a.evtx", Chunk: 2, Offset: 135680, Received: when},
			`{"kind":"evtx","path":"a.evtx","chunk":2,"offset":135680,"received":"2026-11-27T18:00:00Z"}`},
		{"xml", Origin{Kind: SourceXML, Path: "a.xml", Offset: 10, Received: when},
			`{"kind":"xml","path":"a.xml","offset":10,"received":"2026-11-27T18:00:00Z"}`},
		{"listener", Origin{Kind: SourceXML, Listener: "tcp 127.0.0.1:5140", Peer: "127.0.0.1:50000", Received: when},
			`{"kind":"xml","listener":"tcp 127.0.0.1:5140","peer":"127.0.0.1:50000","received":"2026-11-27T18:00:00Z"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := Raw{Provider: "p", TimeCreated: when, Origin: tc.origin}
			got, err := r.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(got, []byte(`"origin":`+tc.want+`}`)) {
				t.Errorf("AppendJSON:\n%s\nwant origin %s", got, tc.want)
			}
			if want := encodingJSON(t, &r); !bytes.Equal(got, want) {
				t.Errorf("AppendJSON:\n%s\nencoding/json:\n%s", got, want)
			}
		})
	}
	if _, err := json.Marshal(Origin{Received: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("year 10000 marshalled")
	}
}
