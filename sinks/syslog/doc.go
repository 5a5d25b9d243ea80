// Package syslog is the syslog sink: each alert becomes one RFC 5424
// message (key fields as structured data, the alert JSON as MSG), or one
// with the RFC 3164 header, sent over UDP (RFC 5426), TCP with
// octet-counting framing (RFC 6587) or TLS (RFC 5425).
package syslog
