package normalizer

import (
	"slices"
	"strings"
)

// What weft produces, for tools that judge a rule against it (weft rules
// check): a rule can fire only if some channel's documents carry every
// field it reads and, for an EQL rule, the event category it names.
//
// The API:
//
//   - Fields() lists every field any document can hold (the union over
//     channels).
//   - Channels() describes each channel weft maps, one Channel each, and
//     last the entry for every other channel (Name ""), which gets only the
//     fields Winlogbeat gives any event.
//   - ChannelOf(name) returns the Channel that an event of the channel
//     winlog.channel == name goes through (case-insensitive, as the
//     windows.forwarded pipeline routes), or the "" entry.
//   - Channel.Has(field) says whether the channel's documents can hold a
//     field; Channel.HasCategory(c) whether some event of the channel gets
//     event.category c; Channel.Events lists, per event.code, the
//     categorization weft sets.
//
// Field names follow Fields' convention: a name ending in ".*" stands for
// any field under that object (winlog.event_data.* for the event's
// EventData, kept under its own names). TestChannelsCoverDocuments
// normalizes events of every channel and checks that each document holds
// only fields and categories its Channel lists, so the lists do not
// overstate what is missing.

// Channel is what weft produces for the events of one event log channel.
type Channel struct {
	// Name is winlog.channel as Windows writes it ("Security"); "" is the
	// entry for every channel weft has no pipeline for.
	Name string
	// Providers are the providers whose events of the channel get the
	// channel's pipeline (Security: only the auditing and event log
	// providers, as windows.forwarded routes); none means every provider.
	Providers []string
	// Datasets are the Elastic data streams whose documents these are
	// ("system.security", "windows.forwarded"...): a rule whose index
	// pattern matches logs-<dataset>-*, or winlogbeat-*, reads them.
	Datasets []string
	// Events lists, per event.code, the event.action, event.category and
	// event.type weft sets; codes that get none are not listed.
	Events []EventKind
	// Fields lists every field a document of the channel can hold.
	Fields []string
}

// EventKind is the categorization of one event ID of a channel.
type EventKind struct {
	Code     string
	Action   string
	Category []string
	Type     []string
}

// Has reports whether the channel's documents can hold field.
func (c *Channel) Has(field string) bool {
	for _, f := range c.Fields {
		if f == field {
			return true
		}
		if p, ok := strings.CutSuffix(f, "*"); ok && strings.HasPrefix(field, p) {
			return true
		}
	}
	return false
}

// HasCategory reports whether some event of the channel gets event.category
// category.
func (c *Channel) HasCategory(category string) bool {
	for _, e := range c.Events {
		if slices.Contains(e.Category, category) {
			return true
		}
	}
	return false
}

// Fields lists the ECS fields a document from Normalize can hold, each
// once, so that other tools can tell which fields weft never produces (a
// rule reading one cannot fire). A name ending in ".*" stands for any
// field under that object: winlog.event_data.* for the event's EventData
// values, kept under their own names, and process.hash.* and file.hash.*
// for each algorithm of Sysmon's Hashes, lower-cased.
func Fields() []string {
	keys := strings.Fields(keyPaths)
	paths := make([]string, 0, len(keys))
	for i, p := range keys {
		switch {
		case wildcard(key(i)):
			paths = append(paths, p+".*")
		case key(i) == kWinlogAdcsRequest:
			// A tree whose leaves are known.
			paths = append(paths, strings.Fields(adcsRequestFields)...)
		case key(i) == kWinlogAdfs:
			paths = append(paths, strings.Fields(adfsFields)...)
		default:
			paths = append(paths, p)
		}
	}
	return paths
}

// wildcard reports the keys whose value is an object of names the event
// chooses.
func wildcard(k key) bool {
	switch k {
	case kWinlogEventData, kWinlogUserData, kProcessHash, kFileHash:
		return true
	}
	return false
}

// Channels describes every channel weft maps, and last the entry for every
// other channel.
func Channels() []Channel {
	out := make([]Channel, 0, numChannelKinds)
	for c := chanKind(1); c < numChannelKinds; c++ {
		out = append(out, c.describe())
	}
	return append(out, chanOther.describe())
}

// ChannelOf returns the Channel of winlog.channel name.
func ChannelOf(name string) Channel {
	return channelKind(name).describe()
}

// describe builds the Channel of c from the fields each channel's mapping
// sets (channelFields) and its categorization tables.
func (c chanKind) describe() Channel {
	ch := Channel{Name: c.name()}
	var fields string
	switch c {
	case chanSysmon:
		ch.Providers = []string{sysmonProvider}
		ch.Datasets = []string{"windows.sysmon_operational", "windows.forwarded"}
		fields = sysmonFields
		for id := range uint32(256) {
			if cat, ok := sysmonCategorization(id); ok {
				ch.Events = append(ch.Events, kindOf(cat))
			}
		}
	case chanSecurity:
		ch.Providers = []string{securityProvider, eventlogProvider, adfsProvider}
		ch.Datasets = []string{"system.security", "windows.forwarded"}
		fields = auditFields + " " + securityFields
		for id := range uint32(1 << 16) {
			if cat, ok := securityCategorization(id); ok {
				ch.Events = append(ch.Events, kindOf(cat))
			}
		}
		ch.Events = append(ch.Events, adfsEventKinds()...)
	case chanSystem:
		ch.Datasets = []string{"system.system", "windows.forwarded"}
		fields = auditFields
	case chanPowerShell:
		ch.Datasets = []string{"windows.powershell", "windows.forwarded"}
		fields = auditFields + " " + powershellFields
		ch.Events = []EventKind{
			{Code: "400", Category: []string{"process"}, Type: []string{"start"}},
			{Code: "403", Category: []string{"process"}, Type: []string{"end"}},
			{Code: "600", Category: []string{"process"}, Type: []string{"info"}},
			{Code: "800", Category: []string{"process"}, Type: []string{"info"}},
		}
	case chanPowerShellOperational:
		ch.Datasets = []string{"windows.powershell_operational", "windows.forwarded"}
		fields = auditFields + " " + powershellFields + " " + powershellOperationalFields
		ch.Events = []EventKind{
			{Code: "4103", Category: []string{"process"}, Type: []string{"info"}},
			{Code: "4104", Category: []string{"process"}, Type: []string{"info"}},
			{Code: "4105", Category: []string{"process"}, Type: []string{"start"}},
			{Code: "4106", Category: []string{"process"}, Type: []string{"end"}},
		}
	default:
		ch.Datasets = []string{"windows.forwarded"}
		fields = auditFields
	}
	ch.Fields = append(strings.Fields(winlogbeatFields), strings.Fields(fields)...)
	for i, f := range ch.Fields {
		if k, ok := keyOf(f); ok && wildcard(k) {
			ch.Fields[i] = f + ".*"
		}
	}
	slices.Sort(ch.Fields)
	ch.Fields = slices.Compact(ch.Fields)
	return ch
}

// kindOf turns a categorization table entry into an EventKind.
func kindOf(c categorization) EventKind {
	e := EventKind{Code: c.code.(string)}
	if a, ok := c.action.(string); ok {
		e.Action = a
	}
	for _, v := range c.category.values() {
		e.Category = append(e.Category, v.(string))
	}
	for _, v := range c.typ.values() {
		e.Type = append(e.Type, v.(string))
	}
	return e
}

// keyOf returns the key of an ECS path.
func keyOf(path string) (key, bool) {
	for i, p := range strings.Fields(keyPaths) {
		if p == path {
			return key(i), true
		}
	}
	return 0, false
}

// winlogbeatFields are the fields any event can get: what Winlogbeat sets,
// the problems found, and EventData.
const winlogbeatFields = `@timestamp ecs.version error.message
event.code event.created event.kind event.original event.provider
host.id host.name host.os.type log.level
winlog.activity_id winlog.channel winlog.computer_name winlog.event_data winlog.event_id winlog.opcode
winlog.process.pid winlog.process.thread.id winlog.provider_guid winlog.provider_name
winlog.record_id winlog.related_activity_id winlog.user.identifier winlog.version`

// sysmonFields are the fields the Sysmon pipeline adds.
const sysmonFields = `destination.domain destination.ip destination.port
dns.answers dns.question.name dns.question.registered_domain dns.question.subdomain
dns.question.top_level_domain dns.resolved_ip
error.code
event.action event.category event.dataset event.module event.outcome event.type
file.code_signature.status file.code_signature.subject_name file.code_signature.valid
file.directory file.extension file.hash file.name file.path file.pe.company file.pe.description
file.pe.file_version file.pe.imphash file.pe.original_file_name file.pe.product
message
network.community_id network.direction network.protocol network.transport network.type
process.args process.args_count process.command_line process.entity_id process.executable
process.hash process.name process.parent.args process.parent.args_count
process.parent.command_line process.parent.entity_id process.parent.executable
process.parent.name process.parent.pid process.pe.company process.pe.description
process.pe.file_version process.pe.imphash process.pe.original_file_name process.pe.product
process.pid process.thread.id process.working_directory
registry.data.strings registry.data.type registry.hive registry.key registry.path registry.value
related.hash related.hosts related.ip related.user
rule.name
source.domain source.ip source.port
sysmon.dns.status sysmon.file.archived sysmon.file.is_executable
user.domain user.id user.name user.roles
winlog.task`

// auditFields are what Winlogbeat sets from the audit keywords of any
// event but Sysmon's.
const auditFields = `event.outcome winlog.keywords`

// securityFields are the fields the Security pipeline adds.
const securityFields = `destination.ip destination.port
event.action event.category event.reason event.type
file.directory file.extension file.name file.path file.target_path
group.domain group.id group.name
network.direction network.iana_number network.transport
process.args process.args_count process.command_line process.executable process.name
process.parent.executable process.parent.name process.parent.pid process.pid
registry.path related.ip related.user
service.name service.type
source.domain source.ip source.port
tags
user.changes.name user.domain user.effective.domain user.effective.id user.effective.name user.id
user.name user.target.domain user.target.group.domain user.target.group.id user.target.group.name
user.target.id user.target.name
winlog.computerObject.domain winlog.computerObject.id winlog.computerObject.name
winlog.logon.failure.reason winlog.logon.failure.status winlog.logon.failure.sub_status
winlog.logon.id winlog.logon.type winlog.scheduled_task.name
winlog.scheduled_task.actions winlog.scheduled_task.principals winlog.scheduled_task.triggers
winlog.scheduled_task.settings.enabled winlog.scheduled_task.settings.hidden winlog.scheduled_task.uri
winlog.trustAttribute winlog.trustDirection winlog.trustType network.community_id winlog.task
winlog.user_data` + " " + adcsRequestFields + " " + adfsFields

// powershellFields are the fields both PowerShell pipelines add.
const powershellFields = `event.action event.category event.sequence event.type winlog.task
file.directory file.extension file.name file.path
powershell.command.invocation_details powershell.command.name powershell.command.path powershell.command.type powershell.command.value
powershell.engine.version powershell.pipeline_id powershell.process.executable_version
powershell.runspace_id powershell.sequence powershell.total
process.args process.args_count process.command_line process.entity_id process.title
related.user user.domain user.name user.roles
powershell.engine.new_state powershell.engine.previous_state
powershell.provider.name powershell.provider.new_state`

// powershellOperationalFields are the fields only the
// PowerShell/Operational pipeline adds.
const powershellOperationalFields = `destination.user.domain destination.user.name
powershell.file.script_block_hash powershell.file.script_block_id powershell.file.script_block_text powershell.id
powershell.file.script_block_entropy_bits powershell.file.script_block_entropy_normalized powershell.file.script_block_length
powershell.file.script_block_surprisal_stdev powershell.file.script_block_unique_symbols
process.pid source.user.domain source.user.name user.id`
