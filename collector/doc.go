// Package collector turns Windows event logs into event.Raw values: EVTX
// files (live logs and backups, damaged ones included) and the rendered
// event XML that wevtutil, PowerShell and Windows Event Forwarding produce.
//
// Readers call emit once per event, in record order, and report once per
// record they cannot use; a damaged record or chunk is skipped with an
// *Error that says where, and everything readable around it still comes out.
// The package knows nothing of the bus: the caller publishes what emit gets.
package collector
