// Package sigma reads Sigma rules (https://sigmahq.io, specification
// v2.1) and compiles their detections onto weft's EQL program
// (correlator/eql), so that a Sigma rule runs on the same streaming engine,
// with the same ordering, lateness, restart and handover guarantees, as an
// Elastic EQL rule. It is not a second interpreter: Parse reads the YAML,
// Rule.Query builds an eql.Query (an event query whose condition is the
// detection, the log source's channels and event IDs included), and the
// correlator compiles and runs that like any other query.
//
// Fields. Sigma's Windows rules name the raw Windows fields (Image,
// CommandLine, TargetObject, EventID, Channel, Provider_Name ...), which
// Elastic's pipelines rename or remove. The normalizer, when asked
// (normalizer.Options.RawFields, turned on by weft whenever a Sigma rule is
// loaded), keeps them in every ECS document: weft.event_data holds the
// EventData (or flattened UserData) names and values exactly as the event
// carries them, empty values included, and weft.system the System fields
// under the names Sigma's conventions give them (EventID, Channel,
// Provider_Name, Provider_Guid, Computer, Security_UserID, Level, Task,
// Opcode, Keywords, EventRecordID, Version, Execution_ProcessID,
// Execution_ThreadID, Correlation_ActivityID,
// Correlation_RelatedActivityID). A Sigma field name in SystemFields reads
// weft.system, every other name weft.event_data. All values are the
// event's strings; numbers compare as numbers where a modifier asks for it.
//
// Log sources. A rule's logsource becomes a test of weft.system.Channel and
// weft.system.EventID, from the table SigmaHQ's own regression runner uses
// (THOR's, tests/thor.yml in the SigmaHQ repository): a category names the
// events that serve it, a service its channels. Where another channel
// serves a category under other field names (process_creation from
// Security 4688), the detection is compiled once per source with that
// source's field mapping (Image → NewProcessName, ParentImage →
// ParentProcessName) and the two are joined with or. LogSources lists the
// table, so the engine can index rules by channel and event ID.
//
// Values follow Sigma: matching is case-insensitive unless |cased; '*' and
// '?' are wildcards and '\' escapes them (and itself); null tests absence;
// ” tests an empty value. Every modifier of the appendix is supported:
// contains, startswith, endswith, all, windash, base64, base64offset,
// utf16, utf16le, utf16be, wide, re (with i, m and s), cidr, exists,
// expand (placeholders from Options.Placeholders), fieldref, gt, gte, lt,
// lte, neq and cased. The time modifiers (minute ... year) are reported as
// unsupported: Windows event fields hold no dates they could apply to.
// Keywords (a search that is a list of values, or a field name left empty)
// match when any EventData value contains the keyword, as full-text search
// does.
//
// Conditions: and, or, not, parentheses, "1 of"/"any of"/"all of" with a
// search name, a name with '*' wildcards, or "them" (every search whose
// name does not start with '_').
//
// Correlations (event_count, value_count, temporal, temporal_ordered, with
// group-by, aliases, timespan, conditions gt, gte, lt, lte, eq, neq and
// ranges, generate, and correlations of correlations) compile with
// Correlation.Plan into the conditions of the rules they use and the
// fields that group their events; the correlator runs the plan on its
// engine (correlator/sigmacorr.go). The metric types value_sum, value_avg
// and value_percentile are reported unsupported.
package sigma
