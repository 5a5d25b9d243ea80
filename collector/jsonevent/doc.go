// Package jsonevent decodes Windows events that travel as JSON into the same
// event.Raw the XML and EVTX readers produce: Winlogbeat's event documents
// (what its Logstash output and the Beats protocol carry), OpenWEC's Json
// and RawJson output formats, and golang-evtx's map form (evtxdump -j). The
// form is detected per document, so one stream may mix them.
//
// Decode takes one document; ReadNDJSON reads a stream of them, one per
// line, and reports each line it cannot use with its line number, going on
// with the next.
package jsonevent
