// Package correlator runs Elastic detection rules over a stream of ECS
// documents and raises alerts. It loads rules in Elastic's detection-rules
// TOML layout (LoadRules, ParseRule, CheckRule, and the built-in
// SeedRules), compiles their EQL queries (package eql), puts each host's
// documents back into event-time order within a configurable lateness
// (package reorder), runs event queries, sequences (with missing events)
// and samples (Engine), and builds event.Alert values with deterministic
// ids, the matched documents, MITRE mappings and a one-line reason. Stage
// runs an Engine on the bus: on its own over every host, or as a member of
// a Group of correlators that share the ECS stream's host partitions and
// hand them over as members come and go (WithGroup), with its state
// rebuilt from the ECS stream after a restart or a handover (WithRebuild)
// and no alert published twice (WithAlertDedup).
//
// Every rule's filters are evaluated as a document arrives; a document no
// rule can use is dropped at once, without an allocation or even reading
// its @timestamp. Only the documents some rule uses are reordered.
//
// Decisions where Elastic's scheduled rules have no streaming equivalent:
//
//   - max_signals limits alerts per rule and host (the partition field)
//     per interval of event time (aligned windows of the rule's interval),
//     so a replay of old logs is limited like a live run, and a flood of
//     alerts from other hosts — invented ones, say — cannot use up the
//     limit of the host under attack; "| head N" lowers that limit to N,
//     as a scheduled rule returns at most N results per run; "| tail N"
//     needs the end of the input and is refused in a rule. Which alerts of
//     a full window are kept follows event time. A rule remembers the
//     counts of 4096 hosts at most, forgetting the one that alerted least
//     recently (Stats.Forgotten), which can only let that host alert again.
//     What is suppressed is counted (Stats.Suppressed) and logged per rule
//     and host (Options.Log), a few lines per 10 s however many.
//   - Sequence state is shared by all hosts (join keys decide what joins, as
//     in Elasticsearch) while ordering and maxspan expiry run per host.
//   - A sequence with trailing missing events is reported once its window
//     has closed: when a later event of its host passes it, when Tick finds
//     that the host has been quiet for that long (its event time taken to
//     move with the clock, less the lateness), or at Flush.
//   - A sample rule reports a join key's sample as soon as it has one
//     (Batch mode picks the events at Flush, exactly as Elasticsearch); a
//     key gives one alert.
//   - A Sigma correlation (sigmacorr.go) counted up to a lower bound alerts
//     with the event that reaches it; one bounded from above (lt, lte, eq,
//     neq) alerts when its window has closed, as a trailing missing event
//     is reported: when a later event of its host passes the window's end,
//     when Tick finds the host quiet that long, or at Flush.
package correlator
