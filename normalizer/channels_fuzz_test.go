package normalizer

import (
	"testing"
	"time"

	"github.com/weft-dev/weft/event"
)

// FuzzChannels feeds the Security and PowerShell pipelines untrusted
// EventData: the values their scripts parse (PowerShell's key=value blocks
// and ContextInfo, hex numbers, MemberName, CommandLine, UAC and privilege
// lists…). Every event must map without a fault, and the msgpack the stage
// publishes must be bus.Encode of the document Normalize returns.
func FuzzChannels(f *testing.F) {
	f.Add(uint8(0), uint16(4624), "3", "0x1F4", "::ffff:10.0.0.1", `cmd.exe /c "a  b"`, "CN=a\\,b,OU=x,DC=c,DC=d")
	f.Add(uint8(0), uint16(4720), "%%2080\n\t%%2082", "0x15", "SeDebugPrivilege\n\t\tSeTcbPrivilege", "alice@corp", "0x40810010")
	f.Add(uint8(0), uint16(4670), "%%1537 0x10", "0x4", "%{S-1-5-32-544}\n\t%{S-1-5-21-1-2-3-512}", "D:AI(A;;FA;;;SY)(A;;0x1200a9;;;S-1-5-21-1-500)", "O:BAG:DUD:(D;;SD;;;WD)S:(AU;SA;FA;;;WD)")
	f.Add(uint8(0), uint16(5136), "user", "0x0", "S-1-0-0", "x", "CN=Smith\\, E\\41ve,OU=x")
	f.Add(uint8(1), uint16(400), "\tNewEngineState=Available\n\tHostApplication=powershell -enc AA", "x", "\tA=\tB=1", "", "")
	f.Add(uint8(1), uint16(800), "Get-Process", "\tUserId=CORP\\bob\n\tScriptName=C:\\a\\b.ps1", "x=y", "", "")
	f.Add(uint8(2), uint16(4103), "        Host Application = powershell\n        Connected User = D\\u\n  more", "Payload", "", "", "")
	f.Add(uint8(2), uint16(4104), "IEX 'x'", "C:\\x.ps1", "1", "2", "{6f1d3b2a-9c8e-4d7f-a1b2-c3d4e5f60718}")
	f.Fuzz(func(t *testing.T, channel uint8, id uint16, a, b, c, d, e string) {
		r := &event.Raw{
			EventID: uint32(id), TimeCreated: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), RecordID: 7,
			Computer: "WKS", Keywords: "0x8020000000000000", ProcessID: 42, UserSID: "S-1-5-18",
		}
		switch channel % 3 {
		case 0:
			r.Channel, r.Provider = "Security", securityProvider
			r.Data = []event.Field{
				{Name: "LogonType", Value: a}, {Name: "UserAccountControl", Value: a}, {Name: "AuditPolicyChanges", Value: a},
				{Name: "ProcessId", Value: b}, {Name: "NewUacValue", Value: b}, {Name: "TicketOptions", Value: e},
				{Name: "IpAddress", Value: c}, {Name: "IpPort", Value: b}, {Name: "PrivilegeList", Value: c},
				{Name: "CommandLine", Value: d}, {Name: "TargetUserName", Value: d}, {Name: "MemberName", Value: e},
				{Name: "AccessList", Value: a}, {Name: "Status", Value: b}, {Name: "SubcategoryGuid", Value: e},
				{Name: "DestAddress", Value: c}, {Name: "SourceAddress", Value: c}, {Name: "Protocol", Value: b},
				{Name: "Direction", Value: a}, {Name: "ShareLocalPath", Value: d}, {Name: "RelativeTargetName", Value: e},
				{Name: "OldSd", Value: d}, {Name: "NewSd", Value: e}, {Name: "SidList", Value: c}, {Name: "AccessMask", Value: a},
				{Name: "ObjectDN", Value: e}, {Name: "ObjectClass", Value: a}, {Name: "RemoteUserID", Value: c},
			}
		case 1:
			r.Channel, r.Provider = "Windows PowerShell", "PowerShell"
			r.Data = []event.Field{{Value: a}, {Value: b}, {Value: c}}
		default:
			r.Channel, r.Provider = "Microsoft-Windows-PowerShell/Operational", "Microsoft-Windows-PowerShell"
			r.Data = []event.Field{
				{Name: "ContextInfo", Value: a}, {Name: "Payload", Value: b}, {Name: "MessageNumber", Value: c},
				{Name: "ScriptBlockText", Value: d}, {Name: "ScriptBlockId", Value: e}, {Name: "Path", Value: b},
			}
		}
		fuzzStageAgrees(t, r)
	})
}
