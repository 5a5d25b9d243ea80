package normalizer

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/event"
)

var update = flag.Bool("update", false, "rewrite golden files from the current output (for reformatting only: goldens are written by hand from the pipeline spec)")

func fields(kv ...string) []event.Field {
	out := make([]event.Field, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, event.Field{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// sysmonRaw is the System block the Sysmon fixtures share.
func sysmonRaw(id uint32, record uint64, created string, thread uint32, data []event.Field) *event.Raw {
	return &event.Raw{
		Provider:     "Microsoft-Windows-Sysmon",
		ProviderGUID: "5770385F-C22A-43E0-BF4C-06F5698FFBD9",
		EventID:      id,
		Version:      5,
		Level:        4,
		Task:         id,
		Opcode:       0,
		Keywords:     "0x8000000000000000",
		TimeCreated:  mustTime(created),
		RecordID:     record,
		ProcessID:    3012,
		ThreadID:     thread,
		Channel:      "Microsoft-Windows-Sysmon/Operational",
		Computer:     "WS01.corp.example.com",
		UserSID:      "S-1-5-18",
		Data:         data,
		Origin:       event.Origin{Kind: event.SourceEVTX, Path: `C:\logs\Sysmon.evtx`, Chunk: 3, Offset: 4096},
	}
}

// processCreate is Sysmon event 1 — mmc.exe starting cmd.exe as DCOM
// lateral movement does — as golang-evtx renders it (bare upper-case GUIDs,
// zero-padded hex).
func processCreate() *event.Raw {
	return sysmonRaw(1, 48213, "2024-03-05T14:22:31.4761234Z", 4220, fields(
		"RuleName", "technique_id=T1021.003,technique_name=Distributed Component Object Model",
		"UtcTime", "2024-03-05 14:22:31.468",
		"ProcessGuid", "3F1A2B4C-2A37-65E7-8F01-000000000A00",
		"ProcessId", "6544",
		"Image", `C:\Windows\System32\cmd.exe`,
		"FileVersion", "10.0.19041.746 (WinBuild.160101.0800)",
		"Description", "Windows Command Processor",
		"Product", "Microsoft® Windows® Operating System",
		"Company", "Microsoft Corporation",
		"OriginalFileName", "Cmd.Exe",
		"CommandLine", `"C:\Windows\system32\cmd.exe" /Q /c whoami /all 1> \\127.0.0.1\ADMIN$\__1709648551.47 2>&1`,
		"CurrentDirectory", `C:\Windows\system32\`,
		"User", `CORP\alice`,
		"LogonGuid", "3F1A2B4C-2A0F-65E7-7C4D-0B0000000000",
		"LogonId", "0x000b4d7c",
		"TerminalSessionId", "1",
		"IntegrityLevel", "High",
		"Hashes", "SHA1=1F92D8C1B4D0A7F0E3F2A6B9C8D7E6F5A4B3C2D1,MD5=5A46F02B9D8E7C6B5A4F3E2D1C0B9A87,SHA256=E1B8A6C4D2F0E9D7C5B3A1F9E7D5C3B1A9F8E6D4C2B0A8F6E4D2C0B9A7F5E3D1,IMPHASH=3E2B4A7C9D1F0E8B6A5C4D3E2F1A0B9C",
		"ParentProcessGuid", "3F1A2B4C-2A35-65E7-8D01-000000000A00",
		"ParentProcessId", "5120",
		"ParentImage", `C:\Windows\System32\mmc.exe`,
		"ParentCommandLine", `C:\Windows\system32\mmc.exe -Embedding`,
		"ParentUser", `CORP\alice`,
	))
}

// processCreateXML is the same event as Windows renders it in XML
// (forwarded events, wevtutil): braced lower-case GUIDs, unpadded hex.
func processCreateXML() *event.Raw {
	r := processCreate()
	r.ProviderGUID = "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"
	r.Origin = event.Origin{Kind: event.SourceXML, Listener: "127.0.0.1:5985", Peer: "127.0.0.1:50312"}
	xml := map[string]string{
		"ProcessGuid":       "{3f1a2b4c-2a37-65e7-8f01-000000000a00}",
		"LogonGuid":         "{3f1a2b4c-2a0f-65e7-7c4d-0b0000000000}",
		"LogonId":           "0xb4d7c",
		"ParentProcessGuid": "{3f1a2b4c-2a35-65e7-8d01-000000000a00}",
	}
	for i, f := range r.Data {
		if v, ok := xml[f.Name]; ok {
			r.Data[i].Value = v
		}
	}
	return r
}

// networkIngress is Sysmon event 3 for the incoming DCOM connection to
// mmc.exe; Sysmon puts the local endpoint in Source*.
func networkIngress() *event.Raw {
	return sysmonRaw(3, 48212, "2024-03-05T14:22:31.0023456Z", 4188, fields(
		"RuleName", "-",
		"UtcTime", "2024-03-05 14:22:30.912",
		"ProcessGuid", "3F1A2B4C-2A35-65E7-8D01-000000000A00",
		"ProcessId", "5120",
		"Image", `C:\Windows\System32\mmc.exe`,
		"User", `CORP\alice`,
		"Protocol", "tcp",
		"Initiated", "false",
		"SourceIsIpv6", "false",
		"SourceIp", "10.20.30.40",
		"SourceHostname", "WS01.corp.example.com",
		"SourcePort", "49687",
		"SourcePortName", "",
		"DestinationIsIpv6", "false",
		"DestinationIp", "10.20.30.7",
		"DestinationHostname", "ADMIN-PC.corp.example.com",
		"DestinationPort", "50122",
		"DestinationPortName", "",
	))
}

// networkEgressIPv6 is an outgoing HTTPS connection over IPv6, rendered as
// Windows renders XML.
func networkEgressIPv6() *event.Raw {
	r := sysmonRaw(3, 48290, "2024-03-05T14:25:03.5401234Z", 4188, fields(
		"RuleName", "technique_id=T1071,technique_name=Application Layer Protocol",
		"UtcTime", "2024-03-05 14:25:02.117",
		"ProcessGuid", "{3f1a2b4c-2b10-65e7-a402-000000000a00}",
		"ProcessId", "7312",
		"Image", `C:\Program Files\Mozilla Firefox\firefox.exe`,
		"User", `CORP\alice`,
		"Protocol", "tcp",
		"Initiated", "true",
		"SourceIsIpv6", "true",
		"SourceIp", "2001:db8:10:20::40",
		"SourceHostname", "-",
		"SourcePort", "51544",
		"SourcePortName", "-",
		"DestinationIsIpv6", "true",
		"DestinationIp", "2606:4700::6810:84e5",
		"DestinationHostname", "-",
		"DestinationPort", "443",
		"DestinationPortName", "https",
	))
	r.ProviderGUID = "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"
	return r
}

func TestGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		golden string
		raw    func() *event.Raw
	}{
		{"sysmon-1-process-create.json", processCreate},
		{"sysmon-1-process-create.json", processCreateXML},
		{"sysmon-3-network-ingress.json", networkIngress},
		{"sysmon-3-network-egress-ipv6.json", networkEgressIPv6},
	}
	for _, tt := range tests {
		doc, err := Normalize(tt.raw())
		if err != nil {
			t.Errorf("%s: unexpected problems: %v", tt.golden, err)
		}
		compareGolden(t, tt.golden, doc)
	}
}

func compareGolden(t *testing.T, name string, doc event.Document) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	got, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatalf("%s: encode: %v", name, err)
	}
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !reflect.DeepEqual(g, w) {
		canon, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("%s: document differs from golden\n%s", name, lineDiff(string(canon), string(got)))
	}
}

// lineDiff lists the lines only in want (-) or only in got (+); both are
// key-sorted JSON, so this points at the differing fields.
func lineDiff(want, got string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[strings.TrimSuffix(strings.TrimSpace(l), ",")]++
		}
		return m
	}
	w, g := count(want), count(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		k := strings.TrimSuffix(strings.TrimSpace(l), ",")
		if w[k] > g[k] {
			b.WriteString("- " + l + "\n")
			w[k]--
		}
	}
	w, g = count(want), count(got)
	for _, l := range strings.Split(got, "\n") {
		k := strings.TrimSuffix(strings.TrimSpace(l), ",")
		if g[k] > w[k] {
			b.WriteString("+ " + l + "\n")
			g[k]--
		}
	}
	return b.String()
}

// TestGUIDFormsGiveOneDocument checks that golang-evtx's and Windows'
// renderings of the same event give the same document, so joins on
// process.entity_id work across collectors.
func TestGUIDFormsGiveOneDocument(t *testing.T) {
	t.Parallel()
	a, errA := Normalize(processCreate())
	b, errB := Normalize(processCreateXML())
	if errA != nil || errB != nil {
		t.Fatalf("unexpected problems: %v / %v", errA, errB)
	}
	if !reflect.DeepEqual(a, b) {
		ja, _ := json.MarshalIndent(a, "", "  ")
		jb, _ := json.MarshalIndent(b, "", "  ")
		t.Errorf("EVTX and XML forms differ:\n%s", lineDiff(string(ja), string(jb)))
	}
	if got := a.String("process.parent.entity_id"); got != "{3f1a2b4c-2a35-65e7-8d01-000000000a00}" {
		t.Errorf("process.parent.entity_id = %q", got)
	}
	// The parent of event 1 is the process of event 3: the DCOM rule's join.
	n, _ := Normalize(networkIngress())
	if n.String("process.entity_id") != a.String("process.parent.entity_id") {
		t.Errorf("entity ids do not join: %q vs %q", n.String("process.entity_id"), a.String("process.parent.entity_id"))
	}
}

// TestValueTypes checks the Go types the wire format relies on: int64
// numbers, bool, []any lists, map[string]any objects, strings.
func TestValueTypes(t *testing.T) {
	t.Parallel()
	for _, raw := range []*event.Raw{processCreate(), networkIngress(), networkEgressIPv6()} {
		doc, _ := Normalize(raw)
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch x := v.(type) {
			case string, int64, bool, nil:
			case map[string]any:
				for k, c := range x {
					walk(path+"."+k, c)
				}
			case []any:
				for _, c := range x {
					walk(path+"[]", c)
				}
			default:
				t.Errorf("%s: unexpected type %T", path, v)
			}
		}
		for k, v := range doc {
			walk(k, v)
		}
		for _, f := range []string{"process.pid", "winlog.version", "winlog.process.pid"} {
			if v, _ := doc.Get(f); reflect.TypeOf(v) != reflect.TypeOf(int64(0)) {
				t.Errorf("event %d: %s is %T, want int64", raw.EventID, f, v)
			}
		}
		if raw.EventID == 3 {
			for _, f := range []string{"source.port", "destination.port"} {
				if v, _ := doc.Get(f); reflect.TypeOf(v) != reflect.TypeOf(int64(0)) {
					t.Errorf("%s is %T, want int64", f, v)
				}
			}
		}
		if doc.Identity() != raw.Identity() {
			t.Errorf("document identity %q, raw identity %q", doc.Identity(), raw.Identity())
		}
	}
}

func withData(r *event.Raw, kv ...string) *event.Raw {
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for j := range r.Data {
			if r.Data[j].Name == kv[i] {
				r.Data[j].Value = kv[i+1]
				found = true
			}
		}
		if !found {
			r.Data = append(r.Data, event.Field{Name: kv[i], Value: kv[i+1]})
		}
	}
	return r
}

func without(r *event.Raw, names ...string) *event.Raw {
	out := r.Data[:0]
	for _, f := range r.Data {
		drop := false
		for _, n := range names {
			drop = drop || f.Name == n
		}
		if !drop {
			out = append(out, f)
		}
	}
	r.Data = out
	return r
}

// TestBadInput: the document is produced from what is valid, the problems
// are on it as error.message and in the returned *Error.
func TestBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		raw      *event.Raw
		problems []string       // substrings, one per expected problem, in order
		want     map[string]any // fields that must still be right
		absent   []string       // fields that must not be set
	}{
		{
			name:     "unparsable ports",
			raw:      withData(networkIngress(), "SourcePort", "49687x", "DestinationPort", "70000"),
			problems: []string{`SourcePort: "49687x" is not a number`, "DestinationPort: 70000 is not a port number"},
			want:     map[string]any{"destination.port": int64(70000), "source.ip": "10.20.30.40", "process.name": "mmc.exe"},
			absent:   []string{"source.port", "network.community_id", "winlog.event_data.SourcePort"},
		},
		{
			name:     "unparsable IP",
			raw:      withData(networkIngress(), "DestinationIp", "10.20.30.300"),
			problems: []string{`DestinationIp: "10.20.30.300" is not an IP address`},
			want:     map[string]any{"source.ip": "10.20.30.40", "destination.port": int64(50122)},
			absent:   []string{"destination.ip", "network.community_id", "winlog.event_data.DestinationIp"},
		},
		{
			name:     "unparsable UtcTime falls back to TimeCreated",
			raw:      withData(processCreate(), "UtcTime", "2024-02-30 14:22:31.468"),
			problems: []string{`UtcTime: "2024-02-30 14:22:31.468" is not a time`},
			want:     map[string]any{"@timestamp": "2024-03-05T14:22:31.476Z", "process.pid": int64(6544)},
			absent:   []string{"winlog.event_data.UtcTime"},
		},
		{
			name: "missing fields",
			raw:  without(processCreate(), "ParentImage", "ParentCommandLine", "UtcTime"),
			problems: []string{
				"UtcTime: missing from Sysmon event 1",
				"ParentImage: missing from Sysmon event 1",
				"ParentCommandLine: missing from Sysmon event 1",
			},
			want:   map[string]any{"@timestamp": "2024-03-05T14:22:31.476Z", "process.parent.pid": int64(5120)},
			absent: []string{"process.parent.name", "process.parent.args"},
		},
		{
			name:     "unparsable pid",
			raw:      withData(processCreate(), "ProcessId", "-"+"x"),
			problems: []string{`ProcessId: "-x" is not a number`},
			want:     map[string]any{"process.entity_id": "{3f1a2b4c-2a37-65e7-8f01-000000000a00}"},
			absent:   []string{"process.pid", "winlog.event_data.ProcessId"},
		},
		{
			name:     "broken Hashes keeps the pairs before the break",
			raw:      withData(processCreate(), "Hashes", "SHA1=1F92D8C1B4D0A7F0E3F2A6B9C8D7E6F5A4B3C2D1,MD5,SHA256=E1B8"),
			problems: []string{`Hashes: "MD5" has no "="`},
			want:     map[string]any{"process.hash.sha1": "1f92d8c1b4d0a7f0e3f2a6b9c8d7e6f5a4b3c2d1"},
			absent:   []string{"process.hash.sha256", "process.hash.md5"},
		},
		{
			name:     "unknown Sysmon event ID",
			raw:      sysmonRaw(42, 7, "2024-03-05T14:22:31Z", 1, fields("UtcTime", "2024-03-05 14:22:30.000", "Image", `C:\x\y.exe`)),
			problems: []string{"event.code: 42 is not a Sysmon event ID"},
			want:     map[string]any{"event.code": "42", "event.kind": "event", "process.name": "y.exe", "@timestamp": "2024-03-05T14:22:30.000Z"},
			absent:   []string{"event.category", "event.action", "winlog.task"},
		},
		{
			name:     "repeated field keeps the first value",
			raw:      appendData(networkIngress(), "SourcePort", "1", "Extra", "a", "Extra", "b"),
			problems: []string{"SourcePort: repeated", "Extra: repeated"},
			want:     map[string]any{"source.port": int64(49687), "winlog.event_data.Extra": "a"},
		},
		{
			name:     "empty System block",
			raw:      &event.Raw{EventID: 1, Data: fields("UtcTime", "2024-03-05 14:22:30.000")},
			problems: []string{"Provider: missing", "Computer: missing", "Channel: missing", "EventRecordID: missing", "TimeCreated: missing"},
			want:     map[string]any{"winlog.record_id": "0", "winlog.channel": "", "winlog.computer_name": "", "host.os.type": "windows"},
			absent:   []string{"host.id", "host.name", "@timestamp", "event.created"},
		},
		{
			// A Sysmon version that renamed DestinationIp and added a field:
			// the renamed field is reported missing and kept, unmapped, in
			// event_data with the new one.
			name:     "a Sysmon version with a renamed and an extra field",
			raw:      appendData(without(networkIngress(), "DestinationIp"), "DestinationIP", "10.20.30.7", "SourceProcessTag", "x"),
			problems: []string{"DestinationIp: missing from Sysmon event 3"},
			want: map[string]any{
				"winlog.event_data": map[string]any{"DestinationIP": "10.20.30.7", "SourceProcessTag": "x"},
				"source.ip":         "10.20.30.40", "destination.port": int64(50122), "network.direction": "ingress",
			},
			absent: []string{"destination.ip", "network.community_id"},
		},
		{
			name:     "both TargetProcessGuid spellings fail the pipeline",
			raw:      sysmonRaw(10, 9, "2024-03-05T14:22:31Z", 1, fields("UtcTime", "2024-03-05 14:22:30.000", "TargetProcessGuid", "{11111111-2222-3333-4444-555555555555}", "TargetProcessGUID", "{11111111-2222-3333-4444-666666666666}", "User", `A\b`)),
			problems: []string{"field [winlog.event_data.TargetProcessGUID] already exists"},
			want:     map[string]any{"event.kind": "pipeline_error", "user.name": "b", "winlog.event_data.User": `A\b`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := Normalize(tt.raw)
			var nerr *Error
			if !errors.As(err, &nerr) {
				t.Fatalf("error = %v, want *Error", err)
			}
			msgs, _ := doc.Get("error.message")
			list, _ := msgs.([]any)
			if len(list) != len(tt.problems) || len(nerr.Problems) != len(tt.problems) {
				t.Fatalf("problems = %q (doc %q), want %d", nerr.Problems, list, len(tt.problems))
			}
			for i, p := range tt.problems {
				if !strings.Contains(nerr.Problems[i], p) || list[i] != nerr.Problems[i] {
					t.Errorf("problem %d = %q (doc %q), want it to contain %q", i, nerr.Problems[i], list[i], p)
				}
			}
			for f, v := range tt.want {
				if got, _ := doc.Get(f); !reflect.DeepEqual(got, v) {
					t.Errorf("%s = %#v, want %#v", f, got, v)
				}
			}
			for _, f := range tt.absent {
				if got, ok := doc.Get(f); ok {
					t.Errorf("%s = %#v, want it absent", f, got)
				}
			}
			if !strings.Contains(err.Error(), "record ") {
				t.Errorf("error %q does not say which record", err)
			}
		})
	}
}

func appendData(r *event.Raw, kv ...string) *event.Raw {
	r.Data = append(r.Data, fields(kv...)...)
	return r
}
