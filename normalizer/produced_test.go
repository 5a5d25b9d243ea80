package normalizer

import (
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/event"
)

// eventDataValues gives every EventData name of Sysmon's events a value
// the pipeline accepts, so that each event maps to as many fields as it
// can.
var eventDataValues = []event.Field{
	{Name: "RuleName", Value: "technique_id=T1021"},
	{Name: "UtcTime", Value: "2024-05-01 10:00:00.123"},
	{Name: "ProcessGuid", Value: "{6b6c9a4e-1c2d-6630-3a05-000000000f00}"},
	{Name: "ProcessId", Value: "4242"},
	{Name: "Image", Value: `C:\Windows\System32\mmc.exe`},
	{Name: "FileVersion", Value: "10.0"},
	{Name: "Description", Value: "Microsoft Management Console"},
	{Name: "Product", Value: "Windows"},
	{Name: "Company", Value: "Microsoft Corporation"},
	{Name: "OriginalFileName", Value: "MMC.EXE"},
	{Name: "CommandLine", Value: `"C:\Windows\System32\mmc.exe" -Embedding`},
	{Name: "CurrentDirectory", Value: `C:\Windows\System32\`},
	{Name: "User", Value: `CORP\ann`},
	{Name: "Hashes", Value: "SHA1=0123456789ABCDEF0123456789ABCDEF01234567,MD5=0123456789ABCDEF0123456789ABCDEF,SHA256=0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF,IMPHASH=0123456789ABCDEF0123456789ABCDEF"},
	{Name: "Hash", Value: "SHA256=0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"},
	{Name: "ParentProcessGuid", Value: "{6b6c9a4e-1c2d-6630-3a05-000000000e00}"},
	{Name: "ParentProcessId", Value: "612"},
	{Name: "ParentImage", Value: `C:\Windows\System32\svchost.exe`},
	{Name: "ParentCommandLine", Value: `C:\Windows\system32\svchost.exe -k DcomLaunch`},
	{Name: "ParentUser", Value: `NT AUTHORITY\SYSTEM`},
	{Name: "TargetFilename", Value: `C:\Users\Public\o.txt`},
	{Name: "CreationUtcTime", Value: "2024-05-01 10:00:00.100"},
	{Name: "PreviousCreationUtcTime", Value: "2024-05-01 09:00:00.100"},
	{Name: "Protocol", Value: "tcp"},
	{Name: "Initiated", Value: "false"},
	{Name: "SourceIsIpv6", Value: "false"},
	{Name: "SourceIp", Value: "10.0.0.5"},
	{Name: "SourceHostname", Value: "wks.corp.local"},
	{Name: "SourcePort", Value: "49701"},
	{Name: "SourcePortName", Value: "-"},
	{Name: "DestinationIsIpv6", Value: "false"},
	{Name: "DestinationIp", Value: "10.0.0.99"},
	{Name: "DestinationHostname", Value: "peer.corp.local"},
	{Name: "DestinationPort", Value: "50122"},
	{Name: "DestinationPortName", Value: "-"},
	{Name: "ImageLoaded", Value: `C:\Windows\System32\kernel32.dll`},
	{Name: "Signed", Value: "true"},
	{Name: "Signature", Value: "Microsoft Windows"},
	{Name: "SignatureStatus", Value: "Valid"},
	{Name: "SourceProcessGuid", Value: "{6b6c9a4e-1c2d-6630-3a05-000000000d00}"},
	{Name: "SourceProcessGUID", Value: "{6b6c9a4e-1c2d-6630-3a05-000000000d00}"},
	{Name: "SourceProcessId", Value: "77"},
	{Name: "SourceThreadId", Value: "78"},
	{Name: "SourceImage", Value: `C:\Windows\System32\lsass.exe`},
	{Name: "TargetProcessGuid", Value: "{6b6c9a4e-1c2d-6630-3a05-000000000c00}"},
	{Name: "TargetProcessGUID", Value: "{6b6c9a4e-1c2d-6630-3a05-000000000c00}"},
	{Name: "TargetProcessId", Value: "88"},
	{Name: "TargetImage", Value: `C:\Windows\System32\notepad.exe`},
	{Name: "GrantedAccess", Value: "0x1410"},
	{Name: "CallTrace", Value: `C:\Windows\SYSTEM32\ntdll.dll+9d204`},
	{Name: "Device", Value: `\Device\HarddiskVolume2`},
	{Name: "EventType", Value: "SetValue"},
	{Name: "TargetObject", Value: `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\x`},
	{Name: "Details", Value: `C:\x.exe`},
	{Name: "NewName", Value: `HKLM\SOFTWARE\y`},
	{Name: "PipeName", Value: `\srvsvc`},
	{Name: "Operation", Value: "Created"},
	{Name: "EventNamespace", Value: `root\cimv2`},
	{Name: "Name", Value: "filter"},
	{Name: "Query", Value: "SELECT * FROM x"},
	{Name: "Type", Value: "Command Line"},
	{Name: "Destination", Value: `C:\x.exe`},
	{Name: "Consumer", Value: "consumer"},
	{Name: "Filter", Value: "filter"},
	{Name: "QueryName", Value: "example.com"},
	{Name: "QueryStatus", Value: "0"},
	{Name: "QueryResults", Value: "type:  5 example.net;::ffff:93.184.216.34;"},
	{Name: "IsExecutable", Value: "true"},
	{Name: "Archived", Value: "true"},
	{Name: "Session", Value: "1"},
	{Name: "ClientInfo", Value: "user: ann"},
	{Name: "State", Value: "Started"},
	{Name: "Version", Value: "15.0"},
	{Name: "SchemaVersion", Value: "4.90"},
	{Name: "ID", Value: "1"},
	{Name: "Configuration", Value: "sysmon.xml"},
	{Name: "ConfigurationFileHash", Value: "SHA256=00"},
}

func leafPaths(prefix string, m map[string]any, out map[string]bool) {
	for k, v := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		switch c := v.(type) {
		case map[string]any:
			leafPaths(p, c, out)
		case event.Document:
			leafPaths(p, c, out)
		default:
			out[p] = true
		}
	}
}

// TestFieldsCoverDocuments normalizes a Sysmon event of every event ID
// with every EventData value it can carry, and an event of another
// provider, and checks that Fields names every field of the documents.
func TestFieldsCoverDocuments(t *testing.T) {
	t.Parallel()
	listed := map[string]bool{}
	var prefixes []string
	for _, f := range Fields() {
		if p, ok := strings.CutSuffix(f, "*"); ok {
			prefixes = append(prefixes, p)
			continue
		}
		if listed[f] {
			t.Errorf("%s is listed twice", f)
		}
		listed[f] = true
	}
	covered := func(p string) bool {
		if listed[p] {
			return true
		}
		for _, pre := range prefixes {
			if strings.HasPrefix(p, pre) {
				return true
			}
		}
		return false
	}
	var raws []*event.Raw
	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	for id := 1; id <= 30; id++ {
		raws = append(raws, &event.Raw{
			Provider: "Microsoft-Windows-Sysmon", EventID: uint32(id), Version: 5, Level: 4, Task: uint32(id), Opcode: 0,
			TimeCreated: at, RecordID: uint64(id), ProcessID: 3000, ThreadID: 3100,
			Channel: "Microsoft-Windows-Sysmon/Operational", Computer: "WKS.corp.local", UserSID: "S-1-5-18",
			ProviderGUID: "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", Data: eventDataValues,
		})
	}
	raws = append(raws, &event.Raw{
		Provider: "Microsoft-Windows-Security-Auditing", EventID: 4624, Version: 2, TimeCreated: at, RecordID: 99,
		Channel: "Security", Computer: "DC1.corp.local",
		Data: []event.Field{{Name: "TargetUserName", Value: "ann"}, {Name: "LogonType", Value: "3"}},
	}, &event.Raw{})
	seen := map[string]bool{}
	for _, r := range raws {
		doc, _ := Normalize(r)
		leafPaths("", doc, seen)
	}
	var missing []string
	for p := range seen {
		if !covered(p) {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("documents hold fields Fields() does not list: %s", strings.Join(missing, ", "))
	}
	if !seen["winlog.event_data.LogonType"] || !covered("winlog.event_data.LogonType") {
		t.Error("EventData of other providers is not under winlog.event_data.*")
	}
	if len(seen) < len(listed)/2 {
		t.Errorf("only %s seen of %d listed: the events did not exercise the mapping", strconv.Itoa(len(seen)), len(listed))
	}
}

// TestChannels checks that each channel's description names only fields
// that documents can hold, and that ChannelOf routes as Channels says.
func TestChannels(t *testing.T) {
	t.Parallel()
	all := map[string]bool{}
	for _, f := range Fields() {
		all[f] = true
	}
	chans := Channels()
	if chans[len(chans)-1].Name != "" {
		t.Errorf("the last channel is %q, want the entry for other channels", chans[len(chans)-1].Name)
	}
	for _, c := range chans {
		for _, f := range c.Fields {
			if !all[f] {
				t.Errorf("channel %q lists %s, which Fields() does not", c.Name, f)
			}
		}
		if got := ChannelOf(strings.ToUpper(c.Name)); got.Name != c.Name {
			t.Errorf("ChannelOf(%q) = %q", strings.ToUpper(c.Name), got.Name)
		}
		if !c.Has("winlog.event_data.Anything") || !c.Has("event.code") {
			t.Errorf("channel %q lacks what every event gets", c.Name)
		}
	}
	sysmon := ChannelOf("Microsoft-Windows-Sysmon/Operational")
	if !sysmon.HasCategory("process") || !sysmon.Has("process.parent.executable") || sysmon.HasCategory("authentication") {
		t.Errorf("Sysmon channel: %+v", sysmon)
	}
	other := ChannelOf("Application")
	if other.Has("process.executable") || other.HasCategory("process") {
		t.Errorf("other channels: %+v", other)
	}
}

// TestChannelsCoverDocuments normalizes events of every channel — Sysmon
// events of every ID with every value they can carry, and the inputs of
// the goldens — and checks that each document holds only fields, and
// event.category values, that ChannelOf(its channel) lists.
func TestChannelsCoverDocuments(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	var raws []*event.Raw
	for id := 1; id <= 30; id++ {
		raws = append(raws, &event.Raw{
			Provider: "Microsoft-Windows-Sysmon", EventID: uint32(id), Version: 5, Level: 4, Task: uint32(id),
			TimeCreated: at, RecordID: uint64(id), ProcessID: 3000, ThreadID: 3100,
			Channel: "Microsoft-Windows-Sysmon/Operational", Computer: "WKS.corp.local", UserSID: "S-1-5-18",
			ProviderGUID: "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", Data: eventDataValues,
		})
	}
	raws = append(raws, goldenInputs(t)...)
	n := New()
	for _, r := range raws {
		doc, _ := n.Normalize(r)
		c := ChannelOf(r.Channel)
		seen := map[string]bool{}
		leafPaths("", doc, seen)
		for p := range seen {
			if !c.Has(p) {
				t.Errorf("%s event %d: %s is not listed for channel %q", r.Channel, r.EventID, p, c.Name)
			}
		}
		if ev, ok := doc["event"].(map[string]any); ok {
			cats, _ := ev["category"].([]any)
			for _, cat := range cats {
				if !c.HasCategory(cat.(string)) {
					t.Errorf("%s event %d: category %v is not listed for channel %q", r.Channel, r.EventID, cat, c.Name)
				}
			}
		}
	}
}
