// Package collector turns Windows event logs into event.Raw values: EVTX
// files (live logs and backups, damaged ones included) and the rendered
// event XML that wevtutil, PowerShell and Windows Event Forwarding produce.
//
// Readers call emit once per event, in record order, and report once per
// record they cannot use; a damaged record or chunk is skipped with an
// *Error that says where, and everything readable around it still comes out.
// Expand turns command-line paths, folders and patterns into inputs.
//
// EVTX decoding uses github.com/0xrawsec/golang-evtx, which writes a line
// (and often a stack trace) to the standard library's logger for each
// damaged record it meets; programs that log otherwise should point that
// logger elsewhere (log.SetOutput).
package collector
