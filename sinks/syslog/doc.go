// Package syslog is the syslog sink: each alert becomes one RFC 5424
// message (key fields as structured data, the alert JSON as MSG) sent over
// UDP (RFC 5426) or TCP with octet-counting framing (RFC 6587).
package syslog
