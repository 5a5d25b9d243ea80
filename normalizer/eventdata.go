package normalizer

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/weft-dev/weft/event"
)

// slot numbers the EventData names the pipeline reads, so each lookup is an
// array index instead of a scan of the event's fields.
type slot uint8

const (
	sUtcTime slot = iota
	sID
	sRuleName
	sType
	sHash
	sHashes
	sProcessGuid
	sProcessId
	sImage
	sSourceProcessGuid
	sSourceProcessGUID
	sSourceProcessId
	sSourceThreadId
	sSourceImage
	sDestination
	sCommandLine
	sCurrentDirectory
	sParentProcessGuid
	sParentProcessId
	sParentImage
	sParentCommandLine
	sOriginalFileName
	sCompany
	sDescription
	sFileVersion
	sProduct
	sTargetFilename
	sDevice
	sPipeName
	sImageLoaded
	sSignature
	sSignatureStatus
	sProtocol
	sDestinationPortName
	sSourcePortName
	sSourceIp
	sSourceHostname
	sSourcePort
	sDestinationIp
	sDestinationHostname
	sDestinationPort
	sQueryName
	sInitiated
	sSourceIsIpv6
	sDestinationIsIpv6
	sQueryResults
	sUser
	sMemberUserName
	sMemberDomain
	sMemberAccountType
	sQueryStatus
	sArchived
	sIsExecutable
	sTargetObject
	sDetails
	sTargetProcessGuid
	sTargetProcessGUID
	sSubjectUserSid
	sSubjectUserName
	sSubjectDomainName
	sSubjectLogonId
	sTargetUserSid
	sTargetSid
	sTargetUserName
	sTargetDomainName
	sTargetLogonId
	sLogonType
	sStatus
	sSubStatus
	sFailureReason
	sProcessName
	sIpAddress
	sIpPort
	sWorkstationName
	sClientAddress
	sClientName
	sAccountName
	sAccountDomain
	sLogonID
	sNewProcessId
	sNewProcessName
	sParentProcessName
	sMemberName
	sPrivilegeList
	sServiceName
	sServiceType
	sTicketOptions
	sTicketEncryptionType
	sSubcategoryGuid
	sAuditPolicyChanges
	sNewUacValue
	sUserAccountControl
	sOldTargetUserName
	sNewTargetUserName
	sTaskName
	sDestAddress
	sSourceAddress
	sDestPort
	sApplication
	sDirection
	sLayerName
	sTdoType
	sTdoDirection
	sTdoAttributes
	sOperationType
	sObjectName
	sObjectType
	sRelativeTargetName
	sShareLocalPath
	sShareName
	sAccessList
	sAccessMask
	sContextInfo
	sPayload
	sSequenceNumber
	sHostID
	sHostId
	sHostApplication
	sHostName
	sHostVersion
	sConnectedUser
	sUserId
	sMessageNumber
	sMessageTotal
	sShellID
	sEngineVersion
	sPipelineID
	sPipelineId
	sRunspaceID
	sRunspaceId
	sCommandName
	sCommandPath
	sCommandType
	sScriptBlockId
	sScriptBlockText
	sPath
	sScriptName
	sNewEngineState
	sPreviousEngineState
	sNewProviderState
	sProviderName
	sDetailTotal
	sDetailSequence
	sSeverity
	sParam1
	sParam2
	sParam3
	sRemoteMachineID
	sRemoteUserID
	numSlots
)

// slotNames lists the EventData name of each slot, comma-separated, in slot
// order; it is a constant so that no table is package-level mutable state.
const slotNames = "UtcTime,ID,RuleName,Type,Hash,Hashes,ProcessGuid,ProcessId,Image," +
	"SourceProcessGuid,SourceProcessGUID,SourceProcessId,SourceThreadId,SourceImage,Destination," +
	"CommandLine,CurrentDirectory,ParentProcessGuid,ParentProcessId,ParentImage,ParentCommandLine," +
	"OriginalFileName,Company,Description,FileVersion,Product,TargetFilename,Device,PipeName," +
	"ImageLoaded,Signature,SignatureStatus,Protocol,DestinationPortName,SourcePortName,SourceIp," +
	"SourceHostname,SourcePort,DestinationIp,DestinationHostname,DestinationPort,QueryName,Initiated," +
	"SourceIsIpv6,DestinationIsIpv6,QueryResults,User,_MemberUserName,_MemberDomain,_MemberAccountType," +
	"QueryStatus,Archived,IsExecutable,TargetObject,Details,TargetProcessGuid,TargetProcessGUID" +
	",SubjectUserSid,SubjectUserName,SubjectDomainName,SubjectLogonId,TargetUserSid" +
	",TargetSid,TargetUserName,TargetDomainName,TargetLogonId,LogonType,Status" +
	",SubStatus,FailureReason,ProcessName,IpAddress,IpPort,WorkstationName" +
	",ClientAddress,ClientName,AccountName,AccountDomain,LogonID,NewProcessId" +
	",NewProcessName,ParentProcessName,MemberName,PrivilegeList,ServiceName" +
	",ServiceType,TicketOptions,TicketEncryptionType,SubcategoryGuid" +
	",AuditPolicyChanges,NewUacValue,UserAccountControl,OldTargetUserName" +
	",NewTargetUserName,TaskName,DestAddress,SourceAddress,DestPort,Application" +
	",Direction,LayerName,TdoType,TdoDirection,TdoAttributes,OperationType,ObjectName" +
	",ObjectType,RelativeTargetName,ShareLocalPath,ShareName,AccessList,AccessMask" +
	",ContextInfo,Payload,SequenceNumber,HostID,HostId,HostApplication,HostName" +
	",HostVersion,ConnectedUser,UserId,MessageNumber,MessageTotal,ShellID" +
	",EngineVersion,PipelineID,PipelineId,RunspaceID,RunspaceId,CommandName" +
	",CommandPath,CommandType,ScriptBlockId,ScriptBlockText,Path,ScriptName" +
	",NewEngineState,PreviousEngineState,NewProviderState,ProviderName,DetailTotal" +
	",DetailSequence,Severity,param1,param2,param3" +
	",RemoteMachineID,RemoteUserID"

// name is the EventData name of s.
func (s slot) name() string {
	rest := slotNames
	for i := slot(0); i < s; i++ {
		rest = rest[strings.IndexByte(rest, ',')+1:]
	}
	if i := strings.IndexByte(rest, ','); i >= 0 {
		return rest[:i]
	}
	return rest
}

// slotOf returns the slot of an EventData name, or numSlots when the
// pipeline does not read that name.
func slotOf(name string) slot {
	switch name {
	case "UtcTime":
		return sUtcTime
	case "ID":
		return sID
	case "RuleName":
		return sRuleName
	case "Type":
		return sType
	case "Hash":
		return sHash
	case "Hashes":
		return sHashes
	case "ProcessGuid":
		return sProcessGuid
	case "ProcessId":
		return sProcessId
	case "Image":
		return sImage
	case "SourceProcessGuid":
		return sSourceProcessGuid
	case "SourceProcessGUID":
		return sSourceProcessGUID
	case "SourceProcessId":
		return sSourceProcessId
	case "SourceThreadId":
		return sSourceThreadId
	case "SourceImage":
		return sSourceImage
	case "Destination":
		return sDestination
	case "CommandLine":
		return sCommandLine
	case "CurrentDirectory":
		return sCurrentDirectory
	case "ParentProcessGuid":
		return sParentProcessGuid
	case "ParentProcessId":
		return sParentProcessId
	case "ParentImage":
		return sParentImage
	case "ParentCommandLine":
		return sParentCommandLine
	case "OriginalFileName":
		return sOriginalFileName
	case "Company":
		return sCompany
	case "Description":
		return sDescription
	case "FileVersion":
		return sFileVersion
	case "Product":
		return sProduct
	case "TargetFilename":
		return sTargetFilename
	case "Device":
		return sDevice
	case "PipeName":
		return sPipeName
	case "ImageLoaded":
		return sImageLoaded
	case "Signature":
		return sSignature
	case "SignatureStatus":
		return sSignatureStatus
	case "Protocol":
		return sProtocol
	case "DestinationPortName":
		return sDestinationPortName
	case "SourcePortName":
		return sSourcePortName
	case "SourceIp":
		return sSourceIp
	case "SourceHostname":
		return sSourceHostname
	case "SourcePort":
		return sSourcePort
	case "DestinationIp":
		return sDestinationIp
	case "DestinationHostname":
		return sDestinationHostname
	case "DestinationPort":
		return sDestinationPort
	case "QueryName":
		return sQueryName
	case "Initiated":
		return sInitiated
	case "SourceIsIpv6":
		return sSourceIsIpv6
	case "DestinationIsIpv6":
		return sDestinationIsIpv6
	case "QueryResults":
		return sQueryResults
	case "User":
		return sUser
	case "_MemberUserName":
		return sMemberUserName
	case "_MemberDomain":
		return sMemberDomain
	case "_MemberAccountType":
		return sMemberAccountType
	case "QueryStatus":
		return sQueryStatus
	case "Archived":
		return sArchived
	case "IsExecutable":
		return sIsExecutable
	case "TargetObject":
		return sTargetObject
	case "Details":
		return sDetails
	case "TargetProcessGuid":
		return sTargetProcessGuid
	case "TargetProcessGUID":
		return sTargetProcessGUID
	case "SubjectUserSid":
		return sSubjectUserSid
	case "SubjectUserName":
		return sSubjectUserName
	case "SubjectDomainName":
		return sSubjectDomainName
	case "SubjectLogonId":
		return sSubjectLogonId
	case "TargetUserSid":
		return sTargetUserSid
	case "TargetSid":
		return sTargetSid
	case "TargetUserName":
		return sTargetUserName
	case "TargetDomainName":
		return sTargetDomainName
	case "TargetLogonId":
		return sTargetLogonId
	case "LogonType":
		return sLogonType
	case "Status":
		return sStatus
	case "SubStatus":
		return sSubStatus
	case "FailureReason":
		return sFailureReason
	case "ProcessName":
		return sProcessName
	case "IpAddress":
		return sIpAddress
	case "IpPort":
		return sIpPort
	case "WorkstationName":
		return sWorkstationName
	case "ClientAddress":
		return sClientAddress
	case "ClientName":
		return sClientName
	case "AccountName":
		return sAccountName
	case "AccountDomain":
		return sAccountDomain
	case "LogonID":
		return sLogonID
	case "NewProcessId":
		return sNewProcessId
	case "NewProcessName":
		return sNewProcessName
	case "ParentProcessName":
		return sParentProcessName
	case "MemberName":
		return sMemberName
	case "PrivilegeList":
		return sPrivilegeList
	case "ServiceName":
		return sServiceName
	case "ServiceType":
		return sServiceType
	case "TicketOptions":
		return sTicketOptions
	case "TicketEncryptionType":
		return sTicketEncryptionType
	case "SubcategoryGuid":
		return sSubcategoryGuid
	case "AuditPolicyChanges":
		return sAuditPolicyChanges
	case "NewUacValue":
		return sNewUacValue
	case "UserAccountControl":
		return sUserAccountControl
	case "OldTargetUserName":
		return sOldTargetUserName
	case "NewTargetUserName":
		return sNewTargetUserName
	case "TaskName":
		return sTaskName
	case "DestAddress":
		return sDestAddress
	case "SourceAddress":
		return sSourceAddress
	case "DestPort":
		return sDestPort
	case "Application":
		return sApplication
	case "Direction":
		return sDirection
	case "LayerName":
		return sLayerName
	case "TdoType":
		return sTdoType
	case "TdoDirection":
		return sTdoDirection
	case "TdoAttributes":
		return sTdoAttributes
	case "OperationType":
		return sOperationType
	case "ObjectName":
		return sObjectName
	case "ObjectType":
		return sObjectType
	case "RelativeTargetName":
		return sRelativeTargetName
	case "ShareLocalPath":
		return sShareLocalPath
	case "ShareName":
		return sShareName
	case "AccessList":
		return sAccessList
	case "AccessMask":
		return sAccessMask
	case "ContextInfo":
		return sContextInfo
	case "Payload":
		return sPayload
	case "SequenceNumber":
		return sSequenceNumber
	case "HostID":
		return sHostID
	case "HostId":
		return sHostId
	case "HostApplication":
		return sHostApplication
	case "HostName":
		return sHostName
	case "HostVersion":
		return sHostVersion
	case "ConnectedUser":
		return sConnectedUser
	case "UserId":
		return sUserId
	case "MessageNumber":
		return sMessageNumber
	case "MessageTotal":
		return sMessageTotal
	case "ShellID":
		return sShellID
	case "EngineVersion":
		return sEngineVersion
	case "PipelineID":
		return sPipelineID
	case "PipelineId":
		return sPipelineId
	case "RunspaceID":
		return sRunspaceID
	case "RunspaceId":
		return sRunspaceId
	case "CommandName":
		return sCommandName
	case "CommandPath":
		return sCommandPath
	case "CommandType":
		return sCommandType
	case "ScriptBlockId":
		return sScriptBlockId
	case "ScriptBlockText":
		return sScriptBlockText
	case "Path":
		return sPath
	case "ScriptName":
		return sScriptName
	case "NewEngineState":
		return sNewEngineState
	case "PreviousEngineState":
		return sPreviousEngineState
	case "NewProviderState":
		return sNewProviderState
	case "ProviderName":
		return sProviderName
	case "DetailTotal":
		return sDetailTotal
	case "DetailSequence":
		return sDetailSequence
	case "Severity":
		return sSeverity
	case "param1":
		return sParam1
	case "param2":
		return sParam2
	case "param3":
		return sParam3
	case "RemoteMachineID":
		return sRemoteMachineID
	case "RemoteUserID":
		return sRemoteUserID
	}
	return numSlots
}

type field struct {
	name  string
	value text
	gone  bool
	// isList says the value is the list items, not value: a field the
	// pipeline split or built as a list. items keeps its backing array
	// from one event to the next.
	isList bool
	items  []text
	// isNull says the value is null: a script's lookup that missed
	// (params[key] of a key the table lacks) writes one.
	isNull bool
	// sortKey is the first eight bytes of name, big-endian and padded with
	// zeros, so that most names compare as one number; finishEventData
	// sets it for the fields that are left.
	sortKey uint64
}

func sortKey(name string) uint64 {
	if len(name) >= 8 {
		return binary.BigEndian.Uint64([]byte(name[:8]))
	}
	var b [8]byte
	copy(b[:], name)
	return binary.BigEndian.Uint64(b[:])
}

// before orders fields by name.
func (f *field) before(g *field) bool {
	if f.sortKey != g.sortKey {
		return f.sortKey < g.sortKey
	}
	return f.name < g.name
}

// eventData is winlog.event_data while the pipeline works on it: the
// fields in event order, with the ones renamed or removed marked gone.
type eventData struct {
	fields []field
	at     [numSlots]uint8 // index+1 into fields; 0 when absent
	// present has bit s set when the event carried slot s at all, even
	// with a value the pipeline later drops; only the Sysmon pipeline's
	// slots, the first 64, are tracked.
	present uint64
}

// load builds event_data as Winlogbeat does: empty values are skipped,
// unnamed values are called paramN (N counting from 1 over all values),
// Windows line endings become \n with trailing newlines trimmed (except in
// CommandLine and ParentCommandLine, kept as they are), and when
// a name repeats the first value is kept. Values are then canonicalised.
// It returns the names that repeated.
func (d *eventData) load(data []event.Field) (dups []string) {
	if cap(d.fields) < len(data) {
		d.fields = make([]field, 0, len(data))
	}
	d.fields = d.fields[:0]
	d.at = [numSlots]uint8{}
	d.present = 0
	for i := range data {
		name, value := data[i].Name, data[i].Value
		s := slotOf(name)
		if value == "" {
			// Present though empty: not missing, but not kept either.
			if s < 64 {
				d.present |= 1 << s
			}
			continue
		}
		if name == "" || name == "Data" {
			name = "param" + strconv.Itoa(i+1)
			s = slotOf(name)
		}
		// Most values are none of the forms canonicalText rewrites and
		// have no line ending: tell them without a call.
		var t text
		switch l := len(value); {
		case (s == sCommandLine || s == sParentCommandLine) && hasNewline(value):
			// A command line stays as the process got it, CR included:
			// an EVTX record keeps it, the XML reader keeps it, and a
			// rule or a responder may care (Winlogbeat would make CR LF
			// LF and trim the last line end).
			t = plain(value)
		case l == 36 || l == 38 || (l > 2 && value[0] == '0' && value[1] == 'x'):
			t = loadValue(value)
		case hasNewline(value):
			t = canonicalText(removeWindowsLineEndings(value))
		case l >= 15 && isDigit(value[0]):
			t = timeOrPlain(value)
		default:
			t = plain(value)
		}
		if s < numSlots {
			if d.at[s] != 0 {
				dups = append(dups, name)
				continue
			}
			// Past 255 fields the index no longer fits; such a field
			// stays in event_data but the pipeline does not map it.
			if len(d.fields) < 255 {
				d.at[s] = uint8(len(d.fields) + 1)
				if s < 64 {
					d.present |= 1 << s
				}
			}
		}
		d.add(name, t)
	}
	return dups
}

// add appends a field. It sets the new element in place: building the
// struct and copying it in stalls on every field (store forwarding).
func (d *eventData) add(name string, t text) {
	i := len(d.fields)
	if i == cap(d.fields) {
		d.fields = append(d.fields, field{})
	} else {
		d.fields = d.fields[:i+1]
	}
	f := &d.fields[i]
	f.name, f.value.s, f.value.form, f.gone, f.isList, f.isNull = name, t.s, t.form, false, false, false
}

// put sets event_data's name to t, as ctx.winlog.event_data[name] = t does:
// a live field of that name is overwritten, else one is added.
func (d *eventData) put(name string, t text) {
	if t.s == "" {
		// The pipeline's removal of empty values comes after.
		if f := d.live(name); f != nil {
			f.gone = true
		}
		return
	}
	f := d.field(name)
	f.value, f.isList, f.isNull = t, false, false
}

// putNull sets event_data's name to null, as a script's put of a lookup
// that missed does.
func (d *eventData) putNull(name string) {
	f := d.field(name)
	f.value, f.isList, f.isNull = text{}, false, true
}

// live returns the live field called name, or nil.
func (d *eventData) live(name string) *field {
	s := slotOf(name)
	if s < numSlots {
		if i := d.at[s]; i != 0 && !d.fields[i-1].gone {
			return &d.fields[i-1]
		}
		return nil
	}
	for i := range d.fields {
		if f := &d.fields[i]; !f.gone && f.name == name {
			return f
		}
	}
	return nil
}

// putList sets event_data's name to an empty list and returns the field,
// for the caller to append to its items.
func (d *eventData) putList(name string) *field {
	f := d.field(name)
	f.isList, f.isNull, f.items = true, false, f.items[:0]
	return f
}

// field returns the live field called name, adding it when there is none.
func (d *eventData) field(name string) *field {
	if f := d.live(name); f != nil {
		return f
	}
	s := slotOf(name)
	d.add(name, text{})
	if s < numSlots && len(d.fields) <= 255 {
		d.at[s] = uint8(len(d.fields))
	}
	return &d.fields[len(d.fields)-1]
}

// loadValue is canonicalText(removeWindowsLineEndings(v)), looking at v as
// few times as it can: a GUID or a hex integer has no line ending.
func loadValue(v string) text {
	if t, ok := guidOrHex(v); ok {
		return t
	}
	if w := removeWindowsLineEndings(v); len(w) != len(v) {
		return canonicalText(w)
	}
	return timeOrPlain(v)
}

func removeWindowsLineEndings(s string) string {
	if !hasNewline(s) {
		return s
	}
	return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
}

// text returns the live value of slot s.
func (d *eventData) text(s slot) (text, bool) {
	i := d.at[s]
	if i == 0 || d.fields[i-1].gone {
		return text{}, false
	}
	return d.fields[i-1].value, true
}

// get returns the live value of slot s as it is written.
func (d *eventData) get(s slot) (string, bool) {
	t, ok := d.text(s)
	if t.form == asIs {
		return t.s, ok
	}
	return t.String(), ok
}

// take returns the live value of slot s and removes it, as a rename does.
func (d *eventData) take(s slot) (text, bool) {
	i := d.at[s]
	if i == 0 || d.fields[i-1].gone {
		return text{}, false
	}
	d.fields[i-1].gone = true
	return d.fields[i-1].value, true
}

func (d *eventData) remove(s slot) {
	if i := d.at[s]; i != 0 {
		d.fields[i-1].gone = true
	}
}

// renameKey renames a field within event_data; like Elasticsearch's rename
// it fails when the target already exists.
func (d *eventData) renameKey(from, to slot) bool {
	i := d.at[from]
	if i == 0 || d.fields[i-1].gone {
		return false
	}
	if _, exists := d.text(to); exists {
		return false
	}
	d.fields[i-1].name = to.name()
	d.at[to], d.at[from] = i, 0
	return true
}

// removeEmpty removes what the pipeline's first script removes: "-" and
// the all-zero GUID (empty values were never kept).
func (d *eventData) removeEmpty() {
	for i := range d.fields {
		f := &d.fields[i]
		if f.gone {
			continue
		}
		switch v := f.value; v.form {
		case asIs:
			f.gone = v.s == "-" || v.s == zeroGUID
		case guidForm:
			// Only a bare GUID can be the zero GUID not in Windows' form.
			f.gone = v.s == zeroGUID[1:37]
		}
	}
}

// hasNewline is strings.IndexByte(s, '\n') >= 0 without the call, eight
// bytes at a time, for the short values most EventData fields hold.
func hasNewline(s string) bool {
	const ones, highs, newlines = 0x0101010101010101, 0x8080808080808080, 0x0a0a0a0a0a0a0a0a
	// A zero byte of x is a newline of s.
	newline := func(x uint64) bool { x ^= newlines; return (x-ones)&^x&highs != 0 }
	switch {
	case len(s) > 64:
		return strings.IndexByte(s, '\n') >= 0
	case len(s) < 8:
		for i := 0; i < len(s); i++ {
			if s[i] == '\n' {
				return true
			}
		}
		return false
	}
	// The last word overlaps the one before it when the length is not a
	// multiple of eight.
	for i := 0; i+8 < len(s); i += 8 {
		if newline(binary.LittleEndian.Uint64([]byte(s[i : i+8]))) {
			return true
		}
	}
	return newline(binary.LittleEndian.Uint64([]byte(s[len(s)-8:])))
}
