// Package sinks delivers weft alerts to the outside world. Deliver runs one
// sink on its own durable consumer of the alert stream: it acknowledges an
// alert only once the receiver accepted it, redelivers failures with
// jittered backoff or the receiver's Retry-After, and gives up to the
// dead-letter queue, which DeadAlerts lists and ReplayToSink / ReplayToAll
// replay. The package also holds what every sink shares: the Sink
// interface, the resolution of secrets given in configuration, URL
// redaction for errors and logs, and Summarize, which picks the fields an
// on-call reader needs out of an alert's matched documents. The sinks
// themselves live in the subpackages jsonl, webhook, slack and syslog.
package sinks
