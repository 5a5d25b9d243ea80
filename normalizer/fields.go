package normalizer

import (
	"math/bits"
	"strings"
)

// key numbers the ECS fields the mapping can set. The mapping writes typed
// values into an array indexed by key, so setting or testing a field is an
// index, not a map operation; the document (maps or msgpack) is written
// from the array once the mapping is done.
type key uint8

const (
	kTimestamp key = iota
	kDestinationDomain
	kDestinationIP
	kDestinationPort
	kDestinationUserDomain
	kDestinationUserName
	kDNSAnswers
	kDNSQuestionName
	kDNSQuestionRegisteredDomain
	kDNSQuestionSubdomain
	kDNSQuestionTopLevelDomain
	kDNSResolvedIP
	kECSVersion
	kErrorCode
	kErrorMessage
	kEventAction
	kEventCategory
	kEventCode
	kEventCreated
	kEventDataset
	kEventKind
	kEventModule
	kEventOriginal
	kEventOutcome
	kEventProvider
	kEventReason
	kEventSequence
	kEventType
	kFileSignatureStatus
	kFileSignatureSubject
	kFileSignatureValid
	kFileDirectory
	kFileExtension
	kFileHash
	kFileName
	kFilePath
	kFilePECompany
	kFilePEDescription
	kFilePEFileVersion
	kFilePEImphash
	kFilePEOriginalFileName
	kFilePEProduct
	kFileTargetPath
	kGroupDomain
	kGroupID
	kGroupName
	kHostID
	kHostName
	kHostOSType
	kLogFilePath
	kLogLevel
	kLogSourceAddress
	kMessage
	kNetworkCommunityID
	kNetworkDirection
	kNetworkIanaNumber
	kNetworkProtocol
	kNetworkTransport
	kNetworkType
	kPowershellCommandInvocationDetails
	kPowershellCommandName
	kPowershellCommandPath
	kPowershellCommandType
	kPowershellCommandValue
	kPowershellEngineNewState
	kPowershellEnginePreviousState
	kPowershellEngineVersion
	kPowershellFileScriptBlockEntropyBits
	kPowershellFileScriptBlockEntropyNormalized
	kPowershellFileScriptBlockHash
	kPowershellFileScriptBlockID
	kPowershellFileScriptBlockLength
	kPowershellFileScriptBlockSurprisalStdev
	kPowershellFileScriptBlockText
	kPowershellFileScriptBlockUniqueSymbols
	kPowershellID
	kPowershellPipelineID
	kPowershellProcessExecutableVersion
	kPowershellProviderName
	kPowershellProviderNewState
	kPowershellRunspaceID
	kPowershellSequence
	kPowershellTotal
	kProcessArgs
	kProcessArgsCount
	kProcessCommandLine
	kProcessEntityID
	kProcessExecutable
	kProcessHash
	kProcessName
	kParentArgs
	kParentArgsCount
	kParentCommandLine
	kParentEntityID
	kParentExecutable
	kParentName
	kParentPID
	kProcessPECompany
	kProcessPEDescription
	kProcessPEFileVersion
	kProcessPEImphash
	kProcessPEOriginalFileName
	kProcessPEProduct
	kProcessPID
	kProcessThreadID
	kProcessTitle
	kProcessWorkingDirectory
	kRegistryDataStrings
	kRegistryDataType
	kRegistryHive
	kRegistryKey
	kRegistryPath
	kRegistryValue
	kRelatedHash
	kRelatedHosts
	kRelatedIP
	kRelatedUser
	kRuleName
	kServiceName
	kServiceType
	kSourceDomain
	kSourceIP
	kSourcePort
	kSourceUserDomain
	kSourceUserName
	kSysmonDNSStatus
	kSysmonFileArchived
	kSysmonFileIsExecutable
	kTags
	kUserChangesName
	kUserDomain
	kUserEffectiveDomain
	kUserEffectiveID
	kUserEffectiveName
	kUserID
	kUserName
	kUserRoles
	kUserTargetDomain
	kUserTargetGroupDomain
	kUserTargetGroupID
	kUserTargetGroupName
	kUserTargetID
	kUserTargetName
	kWinlogActivityID
	kWinlogAdcsRequest
	kWinlogAdfs
	kWinlogChannel
	kWinlogComputerObjectDomain
	kWinlogComputerObjectID
	kWinlogComputerObjectName
	kWinlogComputerName
	kWinlogEventData
	kWinlogEventID
	kWinlogKeywords
	kWinlogLogonFailureReason
	kWinlogLogonFailureStatus
	kWinlogLogonFailureSubStatus
	kWinlogLogonID
	kWinlogLogonType
	kWinlogOpcode
	kWinlogProcessPID
	kWinlogProcessThreadID
	kWinlogProviderGUID
	kWinlogProviderName
	kWinlogRecordID
	kWinlogRelatedActivityID
	kWinlogScheduledTaskActions
	kWinlogScheduledTaskName
	kWinlogScheduledTaskPrincipals
	kWinlogScheduledTaskSettingsEnabled
	kWinlogScheduledTaskSettingsHidden
	kWinlogScheduledTaskTriggers
	kWinlogScheduledTaskURI
	kWinlogTask
	kWinlogTrustAttribute
	kWinlogTrustDirection
	kWinlogTrustType
	kWinlogUserIdentifier
	kWinlogUserData
	kWinlogVersion
	numKeys
)

// keyPaths lists the ECS path of each key, in key order; a constant, so the
// schema is no package-level state. The order is that of a document whose
// objects have their keys sorted, as msgpack's sorted maps and JSON's
// encoder write them: the writers go through the keys that are set in key
// order and so write each object's entries in order, without sorting or
// looking at the keys that are not set. TestSchema checks the order.
const keyPaths = `@timestamp
destination.domain destination.ip destination.port destination.user.domain destination.user.name
dns.answers dns.question.name dns.question.registered_domain dns.question.subdomain
dns.question.top_level_domain dns.resolved_ip
ecs.version
error.code error.message
event.action event.category event.code event.created event.dataset event.kind event.module
event.original event.outcome event.provider event.reason event.sequence event.type
file.code_signature.status file.code_signature.subject_name file.code_signature.valid file.directory
file.extension file.hash file.name file.path file.pe.company file.pe.description
file.pe.file_version file.pe.imphash file.pe.original_file_name file.pe.product file.target_path
group.domain group.id group.name
host.id host.name host.os.type
log.file.path log.level log.source.address
message
network.community_id network.direction network.iana_number network.protocol network.transport
network.type
powershell.command.invocation_details powershell.command.name powershell.command.path powershell.command.type powershell.command.value
powershell.engine.new_state powershell.engine.previous_state powershell.engine.version
powershell.file.script_block_entropy_bits powershell.file.script_block_entropy_normalized
powershell.file.script_block_hash powershell.file.script_block_id powershell.file.script_block_length
powershell.file.script_block_surprisal_stdev powershell.file.script_block_text powershell.file.script_block_unique_symbols
powershell.id
powershell.pipeline_id powershell.process.executable_version powershell.provider.name
powershell.provider.new_state powershell.runspace_id powershell.sequence powershell.total
process.args process.args_count process.command_line process.entity_id process.executable
process.hash process.name process.parent.args process.parent.args_count process.parent.command_line
process.parent.entity_id process.parent.executable process.parent.name process.parent.pid
process.pe.company process.pe.description process.pe.file_version process.pe.imphash
process.pe.original_file_name process.pe.product process.pid process.thread.id process.title
process.working_directory
registry.data.strings registry.data.type registry.hive registry.key registry.path registry.value
related.hash related.hosts related.ip related.user
rule.name
service.name service.type
source.domain source.ip source.port source.user.domain source.user.name
sysmon.dns.status sysmon.file.archived sysmon.file.is_executable
tags
user.changes.name user.domain user.effective.domain user.effective.id user.effective.name user.id
user.name user.roles user.target.domain user.target.group.domain user.target.group.id
user.target.group.name user.target.id user.target.name
winlog.activity_id winlog.adcs.request winlog.adfs winlog.channel winlog.computerObject.domain winlog.computerObject.id winlog.computerObject.name
winlog.computer_name winlog.event_data winlog.event_id winlog.keywords winlog.logon.failure.reason
winlog.logon.failure.status winlog.logon.failure.sub_status winlog.logon.id winlog.logon.type
winlog.opcode winlog.process.pid winlog.process.thread.id winlog.provider_guid winlog.provider_name
winlog.record_id winlog.related_activity_id winlog.scheduled_task.actions winlog.scheduled_task.name
winlog.scheduled_task.principals winlog.scheduled_task.settings.enabled
winlog.scheduled_task.settings.hidden winlog.scheduled_task.triggers winlog.scheduled_task.uri
winlog.task winlog.trustAttribute winlog.trustDirection
winlog.trustType winlog.user.identifier winlog.user_data winlog.version`

// maxDepth bounds the objects above a field ("winlog.process.thread.id"
// has three).
const maxDepth = 4

// node is an object of the document tree.
type node struct {
	name   string
	mpName string // name as a msgpack string
	parent int16
}

// place is where a key goes in the document tree.
type place struct {
	name   string
	mpName string // name as a msgpack string
	// chain is the key's objects below the root, outermost first; depth is
	// how many there are.
	chain [maxDepth]int16
	depth int
	// path is chain packed 16 bits an object, outermost in the low bits,
	// zero past depth; node ids are never zero (the root is not in a chain),
	// so two keys share as many objects as their paths share low 16-bit
	// words.
	path uint64
}

// schema is the document tree of every key, built once per Normalizer.
type schema struct {
	nodes  []node // nodes[0] is the root; a parent comes before its children
	places [numKeys]place
}

func newSchema() *schema {
	s := &schema{nodes: []node{{parent: -1}}}
	objects := map[string]int16{}
	// TestSchema checks that keyPaths names every key exactly once, in
	// document order.
	for k, path := range strings.Fields(keyPaths) {
		f := &s.places[k]
		parent, start := int16(0), 0
		for {
			i := strings.IndexByte(path[start:], '.')
			if i < 0 {
				break
			}
			end := start + i
			idx, ok := objects[path[:end]]
			if !ok {
				idx = int16(len(s.nodes))
				name := path[start:end]
				s.nodes = append(s.nodes, node{name: name, mpName: string(appendString(nil, name)), parent: parent})
				objects[path[:end]] = idx
			}
			f.chain[f.depth] = idx
			f.path |= uint64(uint16(idx)) << (16 * f.depth)
			f.depth++
			parent, start = idx, end+1
		}
		f.name = path[start:]
		f.mpName = string(appendString(nil, f.name))
	}
	return s
}

// shared is how many objects, from the outermost, keys placed at a and b
// have in common.
func shared(a, b *place) int {
	x := a.path ^ b.path
	if x == 0 {
		return a.depth
	}
	return bits.TrailingZeros64(x) / 16
}

// parent is the object node that holds k.
func (s *schema) parent(k key) int16 {
	f := &s.places[k]
	if f.depth == 0 {
		return 0
	}
	return f.chain[f.depth-1]
}
