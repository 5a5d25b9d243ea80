// Package httppost posts a body to an HTTP endpoint with the delivery
// policy the webhook and Slack sinks share: TLS verification with an
// optional private CA, no redirects, a per-request timeout, and a bounded
// number of tries with jittered exponential backoff that honours a short
// Retry-After. Its final error tells the caller's redelivery what the
// receiver said: a rejected body is sinks.Permanent, a Retry-After is
// attached with sinks.WithRetryAfter. Errors never contain the endpoint's
// URL beyond scheme and host.
package httppost
