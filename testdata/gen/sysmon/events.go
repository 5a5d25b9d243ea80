package sysmon

import (
	"time"

	"github.com/weft-dev/weft/testdata/gen/evtxwrite"
)

// Event data of the Sysmon events this package writes. Field names are
// Sysmon's; each type's fields are in the order Sysmon writes them.

// utcTime is how Sysmon writes UtcTime and CreationUtcTime.
const utcTime = "2006-01-02 15:04:05.000"

func str(s string) evtxwrite.Value          { return evtxwrite.String(s) }
func ts(t time.Time) evtxwrite.Value        { return evtxwrite.String(t.UTC().Format(utcTime)) }
func u32(v uint32) evtxwrite.Value          { return evtxwrite.UInt32(v) }
func u16(v uint16) evtxwrite.Value          { return evtxwrite.UInt16(v) }
func guid(g evtxwrite.GUID) evtxwrite.Value { return g.Value() }

// ProcessCreate is event 1.
type ProcessCreate struct {
	RuleName          string
	UtcTime           time.Time
	ProcessGuid       evtxwrite.GUID
	ProcessId         uint32
	Image             string
	FileVersion       string
	Description       string
	Product           string
	Company           string
	OriginalFileName  string
	CommandLine       string
	CurrentDirectory  string
	User              string
	LogonGuid         evtxwrite.GUID
	LogonId           uint64
	TerminalSessionId uint32
	IntegrityLevel    string
	Hashes            string
	ParentProcessGuid evtxwrite.GUID
	ParentProcessId   uint32
	ParentImage       string
	ParentCommandLine string
	ParentUser        string
}

// EventID is 1.
func (*ProcessCreate) EventID() uint16 { return 1 }

func (d *ProcessCreate) values(v []evtxwrite.Value) []evtxwrite.Value {
	return append(v, str(d.RuleName), ts(d.UtcTime), guid(d.ProcessGuid), u32(d.ProcessId), str(d.Image),
		str(d.FileVersion), str(d.Description), str(d.Product), str(d.Company), str(d.OriginalFileName),
		str(d.CommandLine), str(d.CurrentDirectory), str(d.User), guid(d.LogonGuid), evtxwrite.HexInt64(d.LogonId),
		u32(d.TerminalSessionId), str(d.IntegrityLevel), str(d.Hashes), guid(d.ParentProcessGuid),
		u32(d.ParentProcessId), str(d.ParentImage), str(d.ParentCommandLine), str(d.ParentUser))
}

// NetworkConnect is event 3. Sysmon puts the local endpoint in Source*
// whichever side initiated the connection.
type NetworkConnect struct {
	RuleName            string
	UtcTime             time.Time
	ProcessGuid         evtxwrite.GUID
	ProcessId           uint32
	Image               string
	User                string
	Protocol            string
	Initiated           bool
	SourceIsIpv6        bool
	SourceIp            string
	SourceHostname      string
	SourcePort          uint16
	SourcePortName      string
	DestinationIsIpv6   bool
	DestinationIp       string
	DestinationHostname string
	DestinationPort     uint16
	DestinationPortName string
}

// EventID is 3.
func (*NetworkConnect) EventID() uint16 { return 3 }

func (d *NetworkConnect) values(v []evtxwrite.Value) []evtxwrite.Value {
	return append(v, str(d.RuleName), ts(d.UtcTime), guid(d.ProcessGuid), u32(d.ProcessId), str(d.Image),
		str(d.User), str(d.Protocol), evtxwrite.Bool(d.Initiated), evtxwrite.Bool(d.SourceIsIpv6), str(d.SourceIp),
		str(d.SourceHostname), u16(d.SourcePort), str(d.SourcePortName), evtxwrite.Bool(d.DestinationIsIpv6),
		str(d.DestinationIp), str(d.DestinationHostname), u16(d.DestinationPort), str(d.DestinationPortName))
}

// ProcessTerminate is event 5.
type ProcessTerminate struct {
	RuleName    string
	UtcTime     time.Time
	ProcessGuid evtxwrite.GUID
	ProcessId   uint32
	Image       string
	User        string
}

// EventID is 5.
func (*ProcessTerminate) EventID() uint16 { return 5 }

func (d *ProcessTerminate) values(v []evtxwrite.Value) []evtxwrite.Value {
	return append(v, str(d.RuleName), ts(d.UtcTime), guid(d.ProcessGuid), u32(d.ProcessId), str(d.Image), str(d.User))
}

// ImageLoad is event 7.
type ImageLoad struct {
	RuleName         string
	UtcTime          time.Time
	ProcessGuid      evtxwrite.GUID
	ProcessId        uint32
	Image            string
	ImageLoaded      string
	FileVersion      string
	Description      string
	Product          string
	Company          string
	OriginalFileName string
	Hashes           string
	Signed           string // "true" or "false": Sysmon writes a string here
	Signature        string
	SignatureStatus  string
	User             string
}

// EventID is 7.
func (*ImageLoad) EventID() uint16 { return 7 }

func (d *ImageLoad) values(v []evtxwrite.Value) []evtxwrite.Value {
	return append(v, str(d.RuleName), ts(d.UtcTime), guid(d.ProcessGuid), u32(d.ProcessId), str(d.Image),
		str(d.ImageLoaded), str(d.FileVersion), str(d.Description), str(d.Product), str(d.Company),
		str(d.OriginalFileName), str(d.Hashes), str(d.Signed), str(d.Signature), str(d.SignatureStatus), str(d.User))
}

// FileCreate is event 11.
type FileCreate struct {
	RuleName        string
	UtcTime         time.Time
	ProcessGuid     evtxwrite.GUID
	ProcessId       uint32
	Image           string
	TargetFilename  string
	CreationUtcTime time.Time
	User            string
}

// EventID is 11.
func (*FileCreate) EventID() uint16 { return 11 }

func (d *FileCreate) values(v []evtxwrite.Value) []evtxwrite.Value {
	return append(v, str(d.RuleName), ts(d.UtcTime), guid(d.ProcessGuid), u32(d.ProcessId), str(d.Image),
		str(d.TargetFilename), ts(d.CreationUtcTime), str(d.User))
}

// DNSQuery is event 22.
type DNSQuery struct {
	RuleName     string
	UtcTime      time.Time
	ProcessGuid  evtxwrite.GUID
	ProcessId    uint32
	QueryName    string
	QueryStatus  string
	QueryResults string
	Image        string
	User         string
}

// EventID is 22.
func (*DNSQuery) EventID() uint16 { return 22 }

func (d *DNSQuery) values(v []evtxwrite.Value) []evtxwrite.Value {
	return append(v, str(d.RuleName), ts(d.UtcTime), guid(d.ProcessGuid), u32(d.ProcessId), str(d.QueryName),
		str(d.QueryStatus), str(d.QueryResults), str(d.Image), str(d.User))
}

// schema is an event id's layout: its System version and task, and its
// EventData field names and types.
type schema struct {
	version uint8
	names   []string
	types   []evtxwrite.Type
}

const (
	tS = evtxwrite.TypeString
	tG = evtxwrite.TypeGUID
	tU = evtxwrite.TypeUInt32
	tP = evtxwrite.TypeUInt16
	tB = evtxwrite.TypeBool
	tH = evtxwrite.TypeHexInt64
)

func fields(pairs ...any) (names []string, types []evtxwrite.Type) {
	for i := 0; i < len(pairs); i += 2 {
		names = append(names, pairs[i].(string))
		types = append(types, pairs[i+1].(evtxwrite.Type))
	}
	return names, types
}

// schemaOf describes event id. Only the ids with a Data type here exist.
func schemaOf(id uint16) (schema, bool) {
	var s schema
	switch id {
	case 1:
		s.version = 5
		s.names, s.types = fields("RuleName", tS, "UtcTime", tS, "ProcessGuid", tG, "ProcessId", tU, "Image", tS,
			"FileVersion", tS, "Description", tS, "Product", tS, "Company", tS, "OriginalFileName", tS,
			"CommandLine", tS, "CurrentDirectory", tS, "User", tS, "LogonGuid", tG, "LogonId", tH,
			"TerminalSessionId", tU, "IntegrityLevel", tS, "Hashes", tS, "ParentProcessGuid", tG,
			"ParentProcessId", tU, "ParentImage", tS, "ParentCommandLine", tS, "ParentUser", tS)
	case 3:
		s.version = 5
		s.names, s.types = fields("RuleName", tS, "UtcTime", tS, "ProcessGuid", tG, "ProcessId", tU, "Image", tS,
			"User", tS, "Protocol", tS, "Initiated", tB, "SourceIsIpv6", tB, "SourceIp", tS, "SourceHostname", tS,
			"SourcePort", tP, "SourcePortName", tS, "DestinationIsIpv6", tB, "DestinationIp", tS,
			"DestinationHostname", tS, "DestinationPort", tP, "DestinationPortName", tS)
	case 5:
		s.version = 3
		s.names, s.types = fields("RuleName", tS, "UtcTime", tS, "ProcessGuid", tG, "ProcessId", tU, "Image", tS, "User", tS)
	case 7:
		s.version = 3
		s.names, s.types = fields("RuleName", tS, "UtcTime", tS, "ProcessGuid", tG, "ProcessId", tU, "Image", tS,
			"ImageLoaded", tS, "FileVersion", tS, "Description", tS, "Product", tS, "Company", tS,
			"OriginalFileName", tS, "Hashes", tS, "Signed", tS, "Signature", tS, "SignatureStatus", tS, "User", tS)
	case 11:
		s.version = 2
		s.names, s.types = fields("RuleName", tS, "UtcTime", tS, "ProcessGuid", tG, "ProcessId", tU, "Image", tS,
			"TargetFilename", tS, "CreationUtcTime", tS, "User", tS)
	case 22:
		s.version = 5
		s.names, s.types = fields("RuleName", tS, "UtcTime", tS, "ProcessGuid", tG, "ProcessId", tU,
			"QueryName", tS, "QueryStatus", tS, "QueryResults", tS, "Image", tS, "User", tS)
	default:
		return s, false
	}
	return s, true
}
