// Package tlstest makes the certificates of weft's TLS tests: the CA of an
// httptest TLS server, and a CA of its own that issues server and client
// certificates for chosen names (or, unused, stands for a CA that must not
// be able to vouch for a server). Tests of the sinks and of the listeners
// share it.
package tlstest
