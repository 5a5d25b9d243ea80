// Package webhook is the generic webhook sink: it POSTs each alert as JSON
// with an Idempotency-Key (the alert id, stable across replays) and, when a
// secret is configured, an HMAC-SHA256 signature receivers can verify.
package webhook
