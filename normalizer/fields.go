package normalizer

import (
	"slices"
	"strings"
)

// key numbers the ECS fields the mapping can set. The mapping writes typed
// values into an array indexed by key, so setting or testing a field is an
// index, not a map operation; the document (maps or msgpack) is written
// from the array once the mapping is done.
type key uint8

const (
	kTimestamp key = iota
	kMessage
	kECSVersion
	kEventKind
	kEventCode
	kEventProvider
	kEventModule
	kEventDataset
	kEventCreated
	kEventCategory
	kEventType
	kEventOutcome
	kEventAction
	kLogLevel
	kHostName
	kHostID
	kHostOSType
	kWinlogChannel
	kWinlogComputerName
	kWinlogRecordID
	kWinlogEventID
	kWinlogProviderName
	kWinlogProviderGUID
	kWinlogVersion
	kWinlogOpcode
	kWinlogTask
	kWinlogProcessPID
	kWinlogProcessThreadID
	kWinlogUserIdentifier
	kWinlogEventData
	kErrorCode
	kErrorMessage
	kRuleName
	kProcessEntityID
	kProcessPID
	kProcessExecutable
	kProcessThreadID
	kProcessCommandLine
	kProcessWorkingDirectory
	kProcessArgs
	kProcessArgsCount
	kProcessName
	kProcessHash
	kProcessPEImphash
	kProcessPEOriginalFileName
	kProcessPECompany
	kProcessPEDescription
	kProcessPEFileVersion
	kProcessPEProduct
	kParentEntityID
	kParentPID
	kParentExecutable
	kParentCommandLine
	kParentArgs
	kParentArgsCount
	kParentName
	kFileHash
	kFilePEImphash
	kFilePEOriginalFileName
	kFilePECompany
	kFilePEDescription
	kFilePEFileVersion
	kFilePEProduct
	kFilePath
	kFileName
	kFileDirectory
	kFileExtension
	kFileSignatureSubject
	kFileSignatureStatus
	kFileSignatureValid
	kNetworkTransport
	kNetworkProtocol
	kNetworkDirection
	kNetworkType
	kNetworkCommunityID
	kSourceIP
	kSourceDomain
	kSourcePort
	kDestinationIP
	kDestinationDomain
	kDestinationPort
	kDNSQuestionName
	kDNSAnswers
	kDNSResolvedIP
	kRelatedHash
	kRelatedHosts
	kRelatedUser
	kRelatedIP
	kUserID
	kUserDomain
	kUserName
	kUserRoles
	kSysmonDNSStatus
	kSysmonFileArchived
	kSysmonFileIsExecutable
	kRegistryPath
	kRegistryHive
	kRegistryKey
	kRegistryValue
	kRegistryDataStrings
	kRegistryDataType
	numKeys
)

// keyPaths lists the ECS path of each key, in key order; a constant, so the
// schema is no package-level state.
const keyPaths = `@timestamp message ecs.version
event.kind event.code event.provider event.module event.dataset event.created
event.category event.type event.outcome event.action log.level
host.name host.id host.os.type
winlog.channel winlog.computer_name winlog.record_id winlog.event_id
winlog.provider_name winlog.provider_guid winlog.version winlog.opcode winlog.task
winlog.process.pid winlog.process.thread.id winlog.user.identifier winlog.event_data
error.code error.message rule.name
process.entity_id process.pid process.executable process.thread.id
process.command_line process.working_directory process.args process.args_count
process.name process.hash process.pe.imphash process.pe.original_file_name
process.pe.company process.pe.description process.pe.file_version process.pe.product
process.parent.entity_id process.parent.pid process.parent.executable
process.parent.command_line process.parent.args process.parent.args_count process.parent.name
file.hash file.pe.imphash file.pe.original_file_name file.pe.company file.pe.description
file.pe.file_version file.pe.product file.path file.name file.directory file.extension
file.code_signature.subject_name file.code_signature.status file.code_signature.valid
network.transport network.protocol network.direction network.type network.community_id
source.ip source.domain source.port destination.ip destination.domain destination.port
dns.question.name dns.answers dns.resolved_ip
related.hash related.hosts related.user related.ip
user.id user.domain user.name user.roles
sysmon.dns.status sysmon.file.archived sysmon.file.is_executable
registry.path registry.hive registry.key registry.value registry.data.strings registry.data.type`

// node is an object or a leaf of the document tree.
type node struct {
	name   string
	parent int16
	leaf   bool
	key    key     // the leaf's key
	sorted []int16 // an object's children, ordered by name as msgpack's sorted maps are
}

// schema is the document tree of every key, built once per Normalizer.
type schema struct {
	nodes  []node // nodes[0] is the root; a parent comes before its children
	leafOf [numKeys]int16
}

func newSchema() *schema {
	s := &schema{nodes: []node{{parent: -1}}}
	objects := map[string]int16{}
	// TestSchema checks that keyPaths names every key exactly once.
	for k, path := range strings.Fields(keyPaths) {
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
				s.nodes = append(s.nodes, node{name: path[start:end], parent: parent})
				objects[path[:end]] = idx
			}
			parent, start = idx, end+1
		}
		s.leafOf[k] = int16(len(s.nodes))
		s.nodes = append(s.nodes, node{name: path[start:], parent: parent, leaf: true, key: key(k)})
	}
	for i := range s.nodes {
		if p := s.nodes[i].parent; p >= 0 {
			s.nodes[p].sorted = append(s.nodes[p].sorted, int16(i))
		}
	}
	for i := range s.nodes {
		slices.SortFunc(s.nodes[i].sorted, func(a, b int16) int { return strings.Compare(s.nodes[a].name, s.nodes[b].name) })
	}
	return s
}
