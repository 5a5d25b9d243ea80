// Package tlstest writes CA files for the TLS tests of the HTTP sinks: the
// certificate of an httptest TLS server, and an unrelated CA that must not
// be able to vouch for it.
package tlstest
