// Package sinks delivers weft alerts to the outside world. It holds what
// every sink shares: the Sink interface, the resolution of secrets given in
// configuration, URL redaction for error messages, and Summarize, which
// picks the fields an on-call reader needs (host, remote peer, processes)
// out of an alert's matched documents. The sinks themselves live in the
// subpackages jsonl, webhook, slack and syslog.
package sinks
