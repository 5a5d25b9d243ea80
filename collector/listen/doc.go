// Package listen receives forwarded Windows events over the network and
// stores them on the bus: a TCP listener for streams of rendered event XML
// or NDJSON (what OpenWEC's TCP output, NXLog's om_tcp and wevtutil piped
// through a socket send), and an HTTP endpoint, POST /v1/events, for XML or
// NDJSON bodies (NXLog's om_http, curl, scripts).
//
// It also holds what every network source shares, the Beats protocol
// included: the listening socket (loopback unless told otherwise), TLS with
// optional client certificates, slots for connections that a silent peer
// cannot hold, per-peer limits, handshake, idle and event timeouts, and
// the rule that a sender is acknowledged only once its events are stored
// in JetStream. When the bus is slow or away, listeners push back — TCP
// stops reading, HTTP answers 503 with Retry-After — rather than buffer
// without bound or drop.
package listen
