// Package listentest helps test network sources and their senders: it
// makes a certificate authority with server and client certificates for
// loopback, opens a bus that keeps what it stores, and reads back the raw
// events stored on it.
package listentest
