// Package normalizer turns raw Windows events into ECS documents, field for
// field as Winlogbeat followed by Elastic's windows.sysmon_operational
// ingest pipeline (../shared/reference/elastic-sysmon-ingest-pipeline.yml)
// would store them, so that Elastic's detection rules run on them as
// written. Sysmon events get the whole pipeline; other events get the
// fields Winlogbeat gives every event (winlog.*, event.code, event.provider,
// event.kind, event.created, log.level, @timestamp, host.*, ecs.version).
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
//     Sysmon event IDs and repeated EventData names. Normalize returns the
//     same list as an *Error.
//
// Numbers are int64, booleans bool, and lists []any, so that JSON or
// msgpack encoding gives what Elasticsearch would hold in _source.
package normalizer

//go:generate go run ./internal/gentables -spec ../../shared/reference/elastic-sysmon-ingest-pipeline.yml -out tables_gen.go
