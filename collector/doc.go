// Package collector turns Windows event logs into event.Raw values: EVTX
// files (live logs and backups, damaged ones included) and the rendered
// event XML that wevtutil, PowerShell and Windows Event Forwarding produce.
//
// Readers call emit once per event, in record order, and report once per
// problem; a damaged record or chunk is skipped with an *Error that says
// where (file, chunk, record, offset) and why, and everything readable
// around it still comes out. EVTX chunks are decoded in parallel with a
// bounded amount of memory. Expand turns command-line paths, folders and
// patterns into inputs; Watch hands over the files that appear in a
// folder once they are complete.
//
// Publisher sends what the readers emit to the bus, and with Checkpoints
// (a JetStream key-value bucket keyed by FileID, a file's identity by
// content) resumes each file after the last event that reached the bus.
//
// EVTX records are decoded by weft's own BinXML decoder (bx*.go): each
// template of a file is compiled once into a plan of literal parts and
// substitution slots, and each record is then only its substitution values
// read into an event.Raw. github.com/0xrawsec/golang-evtx stays as the
// reference (Options.Decoder) and as the fallback for a record weft's
// decoder rejects; it writes a line (and often a stack trace) to the
// standard library's logger for each damaged record it meets, so programs
// that log otherwise should point that logger elsewhere (log.SetOutput). README.md in this folder is the user
// guide: damage handling, exit codes, watch mode, checkpoints, performance.
package collector
