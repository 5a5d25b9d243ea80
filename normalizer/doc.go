// Package normalizer turns raw Windows events into ECS documents, field for
// field as Winlogbeat followed by Elastic's ingest pipelines would store
// them, so that Elastic's detection rules run on them as written. Events are
// routed the way Elastic's windows.forwarded data stream routes them
// (dispatch.go): Sysmon events get the windows.sysmon_operational pipeline
// (../shared/reference/elastic-sysmon-ingest-pipeline.yml, pipeline.go);
// Security events of the auditing and event log providers the security
// pipeline (security_standard.yml and security_common.yml, security.go,
// with tables and per-event-ID processor sets generated from the YAML);
// System events the System integration's (Winlogbeat's fields); Windows
// PowerShell and PowerShell/Operational events their pipelines
// (powershell.go). Other events get the fields Winlogbeat gives every event
// (winlog.*, event.code, event.provider, event.kind, event.created,
// log.level, @timestamp, host.*, ecs.version, and event.outcome from the
// audit keywords). Channels and ChannelOf say per channel what is
// produced (produced.go). README.md describes the documents for users.
//
// A Normalizer maps an event into a typed record of the fields it sets,
// then writes the record either as an event.Document (Normalize) or as the
// msgpack bytes bus.Encode would write for that document (AppendMsgpack),
// which is what the stage publishes: no map is built on the hot path, and
// nothing is allocated on it either — values keep pointing into the raw
// event with the form they are written in (text.go), and the map headers
// and names of each set of fields are worked out once (msgpack.go).
// dns.question.name is split with the public suffix list (package
// publicsuffix) as the pipeline's registered_domain processor does.
// Serve runs the stage on the bus, unpartitioned or with host partitions
// that keep each host's events in order across instances (Options).
// FromWinlogbeat turns Winlogbeat JSON back into the raw event it read.
//
// Beyond the pipeline:
//
//   - host.name is the event's Computer, host.os.type is "windows", and
//     host.id is HostID(Computer): the name-based UUID (version 5, SHA-1) of
//     the lower-cased computer name in the weft namespace
//     0ac44fd3-84de-5978-87d4-77d15a381e72 (itself the version 5 UUID of
//     "https://github.com/weft-dev/weft/host.id" in the URL namespace).
//     EVTX files carry no agent id, so the name is the stable key.
//   - @timestamp is Sysmon's UtcTime when it parses, else TimeCreated;
//     event.created is TimeCreated. Both are UTC with milliseconds, as
//     Elasticsearch stores dates ("2024-03-05T14:22:31.468Z").
//   - EventData values are canonicalised whichever parser read them: GUIDs
//     as {lower-case} (Windows' XML rendering), hex integers as 0x3e7, and
//     timestamps as 2006-01-02T15:04:05.0000000Z.
//   - Values the pipeline drops silently (an unparsable port, IP, pid or
//     UtcTime, a broken Hashes list) are dropped too, but also recorded in
//     error.message, as are missing fields of event IDs 1 and 3, unknown
//     Sysmon event IDs and repeated EventData names in Sysmon events (other
//     providers' flattened UserData repeats names: the first value is
//     kept, quietly). Normalize returns the same list as an *Error.
//
// Numbers are int64, booleans bool, and lists []any, so that JSON or
// msgpack encoding gives what Elasticsearch would hold in _source.
package normalizer

//go:generate go run ./internal/gentables -spec ../../shared/reference/elastic-sysmon-ingest-pipeline.yml -out tables_gen.go
//go:generate go run ./internal/gentables -security ../../shared/reference/elastic-windows/forwarded/security_standard.yml -out tables_security_gen.go
