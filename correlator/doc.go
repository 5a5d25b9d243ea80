// Package correlator runs Elastic detection rules over a stream of ECS
// documents and raises alerts. It loads rules in Elastic's detection-rules
// TOML layout (LoadRules, ParseRule, and the built-in SeedRules), compiles
// their EQL queries (package eql), puts each host's documents back into
// event-time order within a configurable lateness (package reorder), runs
// event queries and sequence state machines (Engine) and builds event.Alert
// values with deterministic ids, the matched documents, MITRE mappings and a
// one-line reason. It knows nothing of the bus: the caller feeds documents
// and forwards alerts.
//
// Decisions where Elastic's scheduled rules have no streaming equivalent:
// max_signals limits alerts per rule per interval of event time (aligned
// windows of the rule's interval), so a replay of old logs is limited like a
// live run; sequence state is shared by all hosts (join keys decide what
// joins, as in Elasticsearch) while ordering and maxspan expiry run per host.
package correlator
