package normalizer

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/weft-dev/weft/event"
)

// TestSysmonEvents covers the pipeline's mappings beyond events 1 and 3;
// each expectation is read off the pipeline spec.
func TestSysmonEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		raw    *event.Raw
		want   map[string]any // dotted path -> value; nil means absent
		issues int
	}{
		{
			name: "3 with both port names: the destination's wins",
			raw: withData(networkIngress(),
				"SourcePortName", "epmap", "DestinationPortName", "https"),
			want: map[string]any{
				"network.protocol":                  "https",
				"winlog.event_data":                 nil, // SourcePortName, left by the failed rename, is cleaned up
				"network.community_id":              "1:t13WTYAL9Xz0mu3c/a7fJMtcQ40=",
				"winlog.event_data.SourcePortName":  nil,
				"winlog.event_data.DestinationPort": nil,
			},
		},
		{
			name: "5 process terminated",
			raw: sysmonRaw(5, 11, "2024-03-05T14:30:00.0000001Z", 1, fields(
				"RuleName", "-", "UtcTime", "2024-03-05 14:29:59.990",
				"ProcessGuid", "3F1A2B4C-2A37-65E7-8F01-000000000A00", "ProcessId", "6544",
				"Image", `C:\Windows\System32\cmd.exe`, "User", `CORP\alice`)),
			want: map[string]any{
				"event.category":    []any{"process"},
				"event.type":        []any{"end"},
				"event.action":      "Process terminated",
				"winlog.task":       "Process terminated (rule: ProcessTerminate)",
				"process.entity_id": "{3f1a2b4c-2a37-65e7-8f01-000000000a00}",
				"process.name":      "cmd.exe",
				"related.user":      []any{"alice"},
				"winlog.event_data": nil,
			},
		},
		{
			name: "7 image loaded maps to file.*",
			raw: sysmonRaw(7, 12, "2024-03-05T14:30:00Z", 1, fields(
				"RuleName", "-", "UtcTime", "2024-03-05 14:29:59.000",
				"ProcessGuid", "{9f32b55f-d9de-5f98-f006-000000000600}", "ProcessId", "5184",
				"Image", `C:\Windows\System32\dllhost.exe`, "ImageLoaded", `C:\Windows\System32\IDStore.dll`,
				"FileVersion", "10.0.17763.1", "Description", "Identity Store", "Product", "Windows",
				"Company", "Microsoft Corporation", "OriginalFileName", "IdStore.dll",
				"Hashes", "SHA1=9955A1C0,MD5=C7C45610,SHA256=4808F110,IMPHASH=194F3797",
				"Signed", "true", "Signature", "Microsoft Windows", "SignatureStatus", "Valid",
				"User", `DOMAIN\username`)),
			want: map[string]any{
				"file.path":                        `C:\Windows\System32\IDStore.dll`,
				"file.name":                        "IDStore.dll",
				"file.directory":                   `C:\Windows\System32`,
				"file.extension":                   "dll",
				"file.hash":                        map[string]any{"sha1": "9955a1c0", "md5": "c7c45610", "sha256": "4808f110"},
				"file.pe.imphash":                  "194f3797",
				"file.pe.original_file_name":       "IdStore.dll",
				"file.pe.company":                  "Microsoft Corporation",
				"file.code_signature.subject_name": "Microsoft Windows",
				"file.code_signature.status":       "Valid",
				"file.code_signature.valid":        true,
				"file.code_signature.signed":       nil,
				"process.pe":                       nil,
				"process.hash":                     nil,
				"related.hash":                     []any{"4808f110", "9955a1c0", "c7c45610", "194f3797"},
				"winlog.event_data.Signed":         "true",
				"winlog.event_data.Company":        "Microsoft Corporation",
			},
		},
		{
			name: "10 process access: source process, target GUID renamed",
			raw: sysmonRaw(10, 13, "2024-03-05T14:30:00Z", 1, fields(
				"RuleName", "-", "UtcTime", "2024-03-05 14:29:59.000",
				"SourceProcessGUID", "3F1A2B4C-2A37-65E7-8F01-000000000A00", "SourceProcessId", "6544",
				"SourceThreadId", "0x1a2c", "SourceImage", `C:\Windows\System32\cmd.exe`,
				"TargetProcessGuid", "3F1A2B4C-0001-65E7-0B00-000000000A00", "TargetProcessId", "724",
				"TargetImage", `C:\Windows\system32\lsass.exe`, "GrantedAccess", "0x00001010",
				"CallTrace", `C:\Windows\SYSTEM32\ntdll.dll+9d1e4`)),
			want: map[string]any{
				"process.entity_id":                   "{3f1a2b4c-2a37-65e7-8f01-000000000a00}",
				"process.pid":                         int64(6544),
				"process.thread.id":                   int64(0x1a2c),
				"process.executable":                  `C:\Windows\System32\cmd.exe`,
				"process.name":                        "cmd.exe",
				"winlog.event_data.TargetProcessGUID": "{3f1a2b4c-0001-65e7-0b00-000000000a00}",
				"winlog.event_data.TargetProcessGuid": nil,
				"winlog.event_data.GrantedAccess":     "0x1010",
				"winlog.event_data.SourceThreadId":    nil,
			},
		},
		{
			name: "13 registry value set with a DWORD",
			raw: sysmonRaw(13, 14, "2024-03-05T14:30:00Z", 1, fields(
				"RuleName", "-", "EventType", "SetValue", "UtcTime", "2024-03-05 14:29:59.000",
				"ProcessGuid", "{3f1a2b4c-2a37-65e7-8f01-000000000a00}", "ProcessId", "6544",
				"Image", `C:\Windows\regedit.exe`,
				"TargetObject", `HKLM\SYSTEM\CurrentControlSet\Services\Svc\Start`,
				"Details", "DWORD (0x00000002)")),
			want: map[string]any{
				"registry.path":     `HKLM\SYSTEM\CurrentControlSet\Services\Svc\Start`,
				"registry.hive":     "HKLM",
				"registry.key":      `SYSTEM\CurrentControlSet\Services\Svc\Start`,
				"registry.value":    "Start",
				"registry.data":     map[string]any{"strings": []any{"0x00000002"}, "type": "SZ_DWORD"},
				"event.category":    []any{"configuration", "registry"},
				"winlog.event_data": map[string]any{"EventType": "SetValue", "Details": "DWORD (0x00000002)"},
			},
		},
		{
			name: "13 registry QWORD keeps the script's 8-bit shift",
			raw: sysmonRaw(13, 15, "2024-03-05T14:30:00Z", 1, fields(
				"UtcTime", "2024-03-05 14:29:59.000",
				"TargetObject", `\REGISTRY\MACHINE\x`, "Details", "QWORD (0x00000001-0x00000002)")),
			want: map[string]any{
				"registry.hive":  nil,
				"registry.key":   nil,
				"registry.value": "x",
				"registry.data":  map[string]any{"strings": []any{"258"}, "type": "SZ_QWORD"},
			},
		},
		{
			name: "22 DNS query",
			raw: sysmonRaw(22, 67, "2019-07-18T03:34:02.0252377Z", 1684, fields(
				"RuleName", "", "UtcTime", "2019-07-18 03:34:01.261",
				"ProcessGuid", "{fa4a0de6-e8a9-5d2f-0000-001053699900}", "ProcessId", "2736",
				"QueryName", "www.msn.com", "QueryStatus", "0",
				"QueryResults", "type:  5 www-msn-com.a-0003.a-msedge.net;type:  5 a-0003.a-msedge.net;::ffff:204.79.197.203;",
				"Image", `C:\Program Files (x86)\Internet Explorer\iexplore.exe`)),
			want: map[string]any{
				"@timestamp":        "2019-07-18T03:34:01.261Z",
				"event.created":     "2019-07-18T03:34:02.025Z",
				"event.type":        []any{"connection", "protocol", "info"},
				"network.protocol":  "dns",
				"dns.question.name": "www.msn.com",
				"dns.resolved_ip":   []any{"204.79.197.203"},
				"dns.answers": []any{
					map[string]any{"data": "www-msn-com.a-0003.a-msedge.net", "type": "CNAME"},
					map[string]any{"data": "a-0003.a-msedge.net", "type": "CNAME"},
					map[string]any{"data": "204.79.197.203", "type": "A"},
				},
				"related.hosts":        []any{"www-msn-com.a-0003.a-msedge.net", "a-0003.a-msedge.net", "www.msn.com"},
				"related.ip":           []any{"204.79.197.203"},
				"sysmon.dns.status":    "SUCCESS",
				"process.name":         "iexplore.exe",
				"process.pid":          int64(2736),
				"winlog.event_data":    nil,
				"network.community_id": nil,
			},
		},
		{
			name: "23 file delete archived",
			raw: sysmonRaw(23, 612, "2020-05-07T08:14:44.4899785Z", 2360, fields(
				"RuleName", "-", "UtcTime", "2020-05-07 08:14:44.489",
				"ProcessGuid", "{42f11c3b-c36f-5eb3-2c07-290000000000}", "ProcessId", "2184",
				"User", `VAGRANT-2012-R2\vagrant`,
				"Image", `C:\Users\vagrant\.gvm\versions\go1.13.10.windows.amd64\bin\go.exe`,
				"TargetFilename", `C:\Users\vagrant\AppData\Local\Temp\1\go-build583768550\b001\test.test.exe`,
				"Hashes", "MD5=199E1CF5B2250BD515ECCCF4CA686301,IMPHASH=D90D8C7812AEC8DA0FA173AFA1293AB2",
				"IsExecutable", "true", "Archived", "true")),
			want: map[string]any{
				"event.category":            []any{"file"},
				"event.type":                []any{"deletion"},
				"process.hash":              map[string]any{"md5": "199e1cf5b2250bd515ecccf4ca686301"},
				"process.pe.imphash":        "d90d8c7812aec8da0fa173afa1293ab2",
				"related.hash":              []any{"199e1cf5b2250bd515ecccf4ca686301", "d90d8c7812aec8da0fa173afa1293ab2"},
				"related.user":              []any{"vagrant"},
				"file.name":                 "test.test.exe",
				"file.extension":            "exe",
				"file.directory":            `C:\Users\vagrant\AppData\Local\Temp\1\go-build583768550\b001`,
				"sysmon.file.archived":      true,
				"sysmon.file.is_executable": true,
				"user.domain":               "VAGRANT-2012-R2",
				"winlog.event_data":         nil,
			},
		},
		{
			name: "255 error",
			raw: sysmonRaw(255, 16, "2024-03-05T14:30:00Z", 1, fields(
				"UtcTime", "2024-03-05 14:29:59.000", "ID", "DriverCommunication",
				"Description", "Failed to access the driver")),
			want: map[string]any{
				"error.code":             "DriverCommunication",
				"event.outcome":          []any{"failure"},
				"event.category":         []any{"process"},
				"event.type":             nil,
				"process.pe.description": "Failed to access the driver",
				"winlog.task":            "Error report",
			},
		},
		{
			name: "a user without a domain sets no user.name",
			raw:  withData(networkIngress(), "User", "alice"),
			want: map[string]any{"user.name": nil, "user.domain": nil, "user.id": "S-1-5-18", "related.user": nil},
		},
		{
			name: "a user name is escaped as the pipeline's template escapes it",
			raw:  withData(networkIngress(), "User", `CORP\o"brien`),
			want: map[string]any{"user.name": `o\"brien`, "related.user": []any{`o\\\"brien`}},
		},
		{
			name: "all-zero hashes leave an empty process.hash",
			raw:  withData(processCreate(), "Hashes", "SHA1=0000000000000000000000000000000000000000"),
			want: map[string]any{"process.hash": map[string]any{}, "related.hash": nil, "process.pe.imphash": nil},
		},
		{
			name: "an all-blank command line has no arguments",
			raw:  withData(processCreate(), "CommandLine", "   "),
			want: map[string]any{"process.command_line": "   ", "process.args": []any{}, "process.args_count": int64(0)},
		},
		{
			name: "unnamed values become paramN, Windows line endings are trimmed",
			raw:  appendData(processCreate(), "", "first\r\nsecond\r\n", "Data", "x"),
			want: map[string]any{"winlog.event_data.param24": "first\nsecond", "winlog.event_data.param25": "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := Normalize(tt.raw)
			if err != nil {
				t.Errorf("unexpected problems: %v", err)
			}
			for path, want := range tt.want {
				got, ok := doc.Get(path)
				if want == nil {
					if ok {
						t.Errorf("%s = %#v, want it absent", path, got)
					}
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", path, got, want)
				}
			}
			if t.Failed() {
				j, _ := json.MarshalIndent(doc, "", "  ")
				t.Logf("document:\n%s", j)
			}
		})
	}
}

// TestOtherProviders: events of a channel weft has no pipeline for get
// Winlogbeat's fields only, and so do events of the Security channel from
// a provider the windows.forwarded pipeline does not route to its security
// pipeline (the Sysmon mapping, or the Security one, would be wrong for
// them).
func TestOtherProviders(t *testing.T) {
	t.Parallel()
	r := &event.Raw{
		Provider:     "Microsoft-Windows-Other-Auditing",
		ProviderGUID: "54849625-5478-4994-A5BA-3E3B0328C30D",
		EventID:      4624,
		Version:      2,
		Level:        0,
		Task:         12544,
		TimeCreated:  mustTime("2024-03-05T14:22:29.1234567Z"),
		RecordID:     991,
		ProcessID:    640,
		ThreadID:     700,
		Channel:      "Security",
		Computer:     "DC01.corp.example.com",
		Data: fields(
			"SubjectUserSid", "S-1-0-0", "SubjectUserName", "-", "TargetUserName", "alice",
			"TargetLogonId", "0x00b4d7c0", "LogonGuid", "00000000-0000-0000-0000-000000000000",
			"Image", `C:\x.exe`, "UtcTime", "2024-03-05 14:22:28.000", "ProcessId", "4"),
	}
	doc, err := Normalize(r)
	if err != nil {
		t.Fatalf("unexpected problems: %v", err)
	}
	want := map[string]any{
		"@timestamp":           "2024-03-05T14:22:29.123Z",
		"event.created":        "2024-03-05T14:22:29.123Z",
		"event.code":           "4624",
		"event.kind":           "event",
		"event.provider":       "Microsoft-Windows-Other-Auditing",
		"ecs.version":          "8.0.0",
		"log.level":            "information",
		"host.name":            "DC01.corp.example.com",
		"host.id":              HostID("dc01.corp.example.com"),
		"host.os.type":         "windows",
		"winlog.provider_guid": "{54849625-5478-4994-a5ba-3e3b0328c30d}",
		"winlog.record_id":     "991",
		"winlog.version":       int64(2),
		"winlog.opcode":        "Info",
		"winlog.process.pid":   int64(640),
		"winlog.event_data": map[string]any{
			"SubjectUserSid": "S-1-0-0", "SubjectUserName": "-", "TargetUserName": "alice",
			"TargetLogonId": "0xb4d7c0", "LogonGuid": zeroGUID,
			"Image": `C:\x.exe`, "UtcTime": "2024-03-05 14:22:28.000", "ProcessId": "4",
		},
	}
	for path, v := range want {
		if got, _ := doc.Get(path); !reflect.DeepEqual(got, v) {
			t.Errorf("%s = %#v, want %#v", path, got, v)
		}
	}
	for _, path := range []string{"event.module", "event.dataset", "event.category", "process", "user", "winlog.task", "related"} {
		if got, ok := doc.Get(path); ok {
			t.Errorf("%s = %#v, want it absent", path, got)
		}
	}
}

func TestNilEvent(t *testing.T) {
	t.Parallel()
	doc, err := Normalize(nil)
	if err == nil || doc == nil {
		t.Fatalf("Normalize(nil) = %v, %v", doc, err)
	}
	if _, ok := doc.Get("error.message"); !ok {
		t.Error("no error.message")
	}
}
