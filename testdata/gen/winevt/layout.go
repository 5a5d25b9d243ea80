// Package winevt lays out Windows' own events — the Security log, the
// System log and the two PowerShell logs — as EVTX template instances:
// provider names and GUIDs, channels, System fields and the EventData (or
// UserData) names, types and order of each event id as Windows 10 and
// Server 2019 write them. Package scenario fills them with a domain's
// activity; package evtxwrite writes the records.
//
// Where the corpus of real logs holds an event id, its layout was checked
// against it (TestLayoutMatchesWindows); the others follow Microsoft's
// event documentation and the manifests of the providers.
package winevt

import (
	"fmt"

	"github.com/weft-dev/weft/testdata/gen/evtxwrite"
)

// The channels this package writes.
const (
	Security     = "Security"
	System       = "System"
	PowerShell   = "Windows PowerShell"
	PowerShellOp = "Microsoft-Windows-PowerShell/Operational"
)

// Provider is an event provider as the System block names it. A classic
// (eventlog) provider has no GUID; EventSourceName is written by the
// providers that register both ways (the Service Control Manager).
type Provider struct {
	Name            string
	GUID            *evtxwrite.GUID
	EventSourceName string
}

func guid(s string) *evtxwrite.GUID {
	g, err := evtxwrite.ParseGUID(s)
	if err != nil {
		panic(err) // the constants below are well-formed
	}
	return &g
}

// The providers.
var (
	SecurityAuditing = Provider{Name: "Microsoft-Windows-Security-Auditing", GUID: guid("{54849625-5478-4994-a5ba-3e3b0328c30d}")}
	Eventlog         = Provider{Name: "Microsoft-Windows-Eventlog", GUID: guid("{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}")}
	SCM              = Provider{Name: "Service Control Manager", GUID: guid("{555908d1-a6d7-4695-8e1e-26931d2012f4}"), EventSourceName: "Service Control Manager"}
	ClassicPS        = Provider{Name: "PowerShell"}
	PowerShellETW    = Provider{Name: "Microsoft-Windows-PowerShell", GUID: guid("{a0c1853b-5c40-4b15-8766-3cf1c58f985a}")}
)

// Layout is an event id's shape: its System constants and its event data.
type Layout struct {
	Provider   Provider
	Channel    string
	ID         uint16
	Version    uint8
	Level      uint8
	Task       uint16
	Opcode     uint8
	Keywords   uint64
	Qualifiers int // -1: none (manifest providers)
	// Names and Types are the event data fields in order. An empty name
	// is an unnamed <Data> (classic providers).
	Names []string
	Types []evtxwrite.Type
	// UserData, when set, is the element the fields go under inside
	// <UserData>, with namespace UserDataNS, instead of <EventData>.
	UserData, UserDataNS string
}

const (
	tS   = evtxwrite.TypeString
	tSID = evtxwrite.TypeSID
	tH   = evtxwrite.TypeHexInt64 // HexInt32 and HexInt64 and pointers: Windows renders all as 0x…
	tU   = evtxwrite.TypeUInt32
	tG   = evtxwrite.TypeGUID
)

func fields(pairs ...any) ([]string, []evtxwrite.Type) {
	var names []string
	var types []evtxwrite.Type
	for i := 0; i < len(pairs); i += 2 {
		names = append(names, pairs[i].(string))
		types = append(types, pairs[i+1].(evtxwrite.Type))
	}
	return names, types
}

// Keywords of the Security log: audit success and audit failure.
const (
	AuditSuccess = uint64(0x8020000000000000)
	AuditFailure = uint64(0x8010000000000000)
)

var subject = []any{"SubjectUserSid", tSID, "SubjectUserName", tS, "SubjectDomainName", tS, "SubjectLogonId", tH}

func cat(parts ...[]any) []any {
	var out []any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func sec(id uint16, version uint8, task uint16, kw uint64, f ...any) *Layout {
	l := &Layout{Provider: SecurityAuditing, Channel: Security, ID: id, Version: version, Task: task, Keywords: kw, Qualifiers: -1}
	l.Names, l.Types = fields(f...)
	return l
}

var groupChange = cat([]any{"MemberName", tS, "MemberSid", tSID, "TargetUserName", tS, "TargetDomainName", tS, "TargetSid", tSID}, subject, []any{"PrivilegeList", tS})

var task = cat(subject, []any{"TaskName", tS, "TaskContent", tS, "ClientProcessStartKey", evtxwrite.TypeUInt64,
	"ClientProcessId", tU, "ParentProcessId", tU, "RpcCallClientLocality", tU, "FQDN", tS})

// layouts is every event this package writes, by channel and id.
var layouts = func() map[string]map[uint16]*Layout {
	all := []*Layout{
		sec(4624, 2, 12544, AuditSuccess, cat(subject, []any{"TargetUserSid", tSID, "TargetUserName", tS, "TargetDomainName", tS,
			"TargetLogonId", tH, "LogonType", tU, "LogonProcessName", tS, "AuthenticationPackageName", tS, "WorkstationName", tS,
			"LogonGuid", tG, "TransmittedServices", tS, "LmPackageName", tS, "KeyLength", tU, "ProcessId", tH, "ProcessName", tS,
			"IpAddress", tS, "IpPort", tS, "ImpersonationLevel", tS, "RestrictedAdminMode", tS, "TargetOutboundUserName", tS,
			"TargetOutboundDomainName", tS, "VirtualAccount", tS, "TargetLinkedLogonId", tH, "ElevatedToken", tS})...),
		sec(4625, 0, 12544, AuditFailure, cat(subject, []any{"TargetUserSid", tSID, "TargetUserName", tS, "TargetDomainName", tS,
			"Status", tH, "FailureReason", tS, "SubStatus", tH, "LogonType", tU, "LogonProcessName", tS, "AuthenticationPackageName", tS,
			"WorkstationName", tS, "TransmittedServices", tS, "LmPackageName", tS, "KeyLength", tU, "ProcessId", tH, "ProcessName", tS,
			"IpAddress", tS, "IpPort", tS})...),
		sec(4634, 0, 12545, AuditSuccess, "TargetUserSid", tSID, "TargetUserName", tS, "TargetDomainName", tS, "TargetLogonId", tH, "LogonType", tU),
		sec(4647, 0, 12545, AuditSuccess, "TargetUserSid", tSID, "TargetUserName", tS, "TargetDomainName", tS, "TargetLogonId", tH),
		sec(4648, 0, 12544, AuditSuccess, cat(subject, []any{"LogonGuid", tG, "TargetUserName", tS, "TargetDomainName", tS, "TargetLogonGuid", tG,
			"TargetServerName", tS, "TargetInfo", tS, "ProcessId", tH, "ProcessName", tS, "IpAddress", tS, "IpPort", tS})...),
		sec(4672, 0, 12548, AuditSuccess, cat(subject, []any{"PrivilegeList", tS})...),
		sec(4688, 2, 13312, AuditSuccess, cat(subject, []any{"NewProcessId", tH, "NewProcessName", tS, "TokenElevationType", tS,
			"ProcessId", tH, "CommandLine", tS, "TargetUserSid", tSID, "TargetUserName", tS, "TargetDomainName", tS, "TargetLogonId", tH,
			"ParentProcessName", tS, "MandatoryLabel", tSID})...),
		sec(4689, 0, 13313, AuditSuccess, cat(subject, []any{"Status", tH, "ProcessId", tH, "ProcessName", tS})...),
		sec(4697, 1, 12289, AuditSuccess, cat(subject, []any{"ServiceName", tS, "ServiceFileName", tS, "ServiceType", tH,
			"ServiceStartType", tU, "ServiceAccount", tS, "ClientProcessStartKey", evtxwrite.TypeUInt64, "ClientProcessId", tU,
			"ParentProcessId", tU})...),
		sec(4698, 1, 12804, AuditSuccess, task...),
		sec(4699, 1, 12804, AuditSuccess, task...),
		sec(4719, 0, 13568, AuditSuccess, cat(subject, []any{"CategoryId", tS, "SubcategoryId", tS, "SubcategoryGuid", tG, "AuditPolicyChanges", tS})...),
		sec(4720, 0, 13824, AuditSuccess, cat([]any{"TargetUserName", tS, "TargetDomainName", tS, "TargetSid", tSID}, subject,
			[]any{"PrivilegeList", tS, "SamAccountName", tS, "DisplayName", tS, "UserPrincipalName", tS, "HomeDirectory", tS,
				"HomePath", tS, "ScriptPath", tS, "ProfilePath", tS, "UserWorkstations", tS, "PasswordLastSet", tS, "AccountExpires", tS,
				"PrimaryGroupId", tS, "AllowedToDelegateTo", tS, "OldUacValue", tS, "NewUacValue", tS, "UserAccountControl", tS,
				"UserParameters", tS, "SidHistory", tS, "LogonHours", tS})...),
		sec(4726, 0, 13824, AuditSuccess, cat([]any{"TargetUserName", tS, "TargetDomainName", tS, "TargetSid", tSID}, subject, []any{"PrivilegeList", tS})...),
		sec(4728, 0, 13826, AuditSuccess, groupChange...),
		sec(4732, 0, 13826, AuditSuccess, groupChange...),
		sec(4756, 0, 13826, AuditSuccess, groupChange...),
		sec(4768, 0, 14339, AuditSuccess, "TargetUserName", tS, "TargetDomainName", tS, "TargetSid", tSID, "ServiceName", tS, "ServiceSid", tSID,
			"TicketOptions", tH, "Status", tH, "TicketEncryptionType", tH, "PreAuthType", tS, "IpAddress", tS, "IpPort", tS,
			"CertIssuerName", tS, "CertSerialNumber", tS, "CertThumbprint", tS),
		sec(4769, 0, 14337, AuditSuccess, "TargetUserName", tS, "TargetDomainName", tS, "ServiceName", tS, "ServiceSid", tSID,
			"TicketOptions", tH, "TicketEncryptionType", tH, "IpAddress", tS, "IpPort", tS, "Status", tH, "LogonGuid", tG, "TransmittedServices", tS),
		sec(4771, 0, 14339, AuditFailure, "TargetUserName", tS, "TargetSid", tSID, "ServiceName", tS, "TicketOptions", tH, "Status", tH,
			"PreAuthType", tS, "IpAddress", tS, "IpPort", tS, "CertIssuerName", tS, "CertSerialNumber", tS, "CertThumbprint", tS),
		sec(4776, 0, 14336, AuditFailure, "PackageName", tS, "TargetUserName", tS, "Workstation", tS, "Status", tH),
		{Provider: Eventlog, Channel: Security, ID: 1102, Version: 0, Level: 4, Task: 104, Keywords: 0x4020000000000000, Qualifiers: -1,
			UserData: "LogFileCleared", UserDataNS: "http://manifests.microsoft.com/win/2004/08/windows/eventlog"},
		{Provider: Eventlog, Channel: System, ID: 104, Version: 0, Level: 4, Task: 104, Keywords: 0x8000000000000000, Qualifiers: -1,
			UserData: "LogFileCleared", UserDataNS: "http://manifests.microsoft.com/win/2004/08/windows/eventlog"},
		{Provider: SCM, Channel: System, ID: 7045, Level: 4, Keywords: 0x8080000000000000, Qualifiers: 16384},
		{Provider: SCM, Channel: System, ID: 7036, Level: 4, Keywords: 0x8080000000000000, Qualifiers: 16384},
		{Provider: ClassicPS, Channel: PowerShell, ID: 400, Level: 4, Task: 4, Keywords: 0x80000000000000, Qualifiers: 0},
		{Provider: ClassicPS, Channel: PowerShell, ID: 403, Level: 4, Task: 4, Keywords: 0x80000000000000, Qualifiers: 0},
		{Provider: ClassicPS, Channel: PowerShell, ID: 600, Level: 4, Task: 6, Keywords: 0x80000000000000, Qualifiers: 0},
		{Provider: ClassicPS, Channel: PowerShell, ID: 800, Level: 4, Task: 8, Keywords: 0x80000000000000, Qualifiers: 0},
		{Provider: PowerShellETW, Channel: PowerShellOp, ID: 4103, Version: 1, Level: 4, Task: 106, Opcode: 20, Qualifiers: -1},
		{Provider: PowerShellETW, Channel: PowerShellOp, ID: 4104, Version: 1, Level: 5, Task: 2, Opcode: 15, Qualifiers: -1},
	}
	set := func(id uint16, ch string, f ...any) {
		for _, l := range all {
			if l.ID == id && l.Channel == ch {
				l.Names, l.Types = fields(f...)
			}
		}
	}
	set(1102, Security, cat(subject)...)
	set(104, System, "SubjectUserName", tS, "SubjectDomainName", tS, "Channel", tS, "BackupPath", tS)
	set(7045, System, "ServiceName", tS, "ImagePath", tS, "ServiceType", tS, "StartType", tS, "AccountName", tS)
	set(7036, System, "param1", tS, "param2", tS)
	for _, id := range []uint16{400, 403, 600, 800} {
		set(id, PowerShell, "", tS, "", tS, "", tS)
	}
	set(4103, PowerShellOp, "ContextInfo", tS, "UserData", tS, "Payload", tS)
	set(4104, PowerShellOp, "MessageNumber", evtxwrite.TypeUInt32, "MessageTotal", evtxwrite.TypeUInt32, "ScriptBlockText", tS,
		"ScriptBlockId", tS, "Path", tS)
	out := map[string]map[uint16]*Layout{}
	for _, l := range all {
		if out[l.Channel] == nil {
			out[l.Channel] = map[uint16]*Layout{}
		}
		if len(l.Names) == 0 {
			panic(fmt.Sprintf("winevt: %s %d has no fields", l.Channel, l.ID))
		}
		out[l.Channel][l.ID] = l
	}
	return out
}()

// LayoutOf is the layout of channel's event id; ok is false for events
// the package does not write.
func LayoutOf(channel string, id uint16) (*Layout, bool) {
	l, ok := layouts[channel][id]
	return l, ok
}

// Channels lists the channels in a fixed order.
func Channels() []string { return []string{Security, System, PowerShell, PowerShellOp} }

// IDs lists the event ids the package writes on channel, ascending.
func IDs(channel string) []uint16 {
	var out []uint16
	for id := range layouts[channel] {
		out = append(out, id)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
