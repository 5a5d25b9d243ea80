// Package jsonl is the JSON-lines sink: each alert becomes exactly one
// line holding its JSON object, written to stdout, an io.Writer, or a file
// opened for appending.
package jsonl
