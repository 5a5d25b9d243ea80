// Package beats receives events over the Beats protocol (lumberjack
// version 2), so that Winlogbeat on a Windows Event Collector can use weft
// as its Logstash output. Each event a Beat sends is decoded by jsonevent
// (Winlogbeat's JSON, or any other form it knows) and stored on the bus.
//
// A window of events is acknowledged only after every event in it is
// stored in JetStream. While the bus is behind, the acknowledgement is
// withheld and empty keep-alive acknowledgements tell the Beat to wait, so
// the Beat holds on to its events instead of weft buffering them.
//
// The server side of the protocol is written here, on the frame format of
// github.com/elastic/go-lumber (whose client is the one Beats use): that
// library's server allocates whatever length a frame header claims, has
// no bound on what a compressed frame inflates to, and does not say which
// connection a batch came from, while weft must bound every event, name
// the peer in every error, and acknowledge only what is stored.
package beats
