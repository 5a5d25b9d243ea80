package sinks

import "time"

// HTTPOptions configure delivery for the sinks that POST over HTTP
// (webhook, Slack). Their configs embed it inline, so the keys sit beside
// url. Zero values take the defaults noted.
type HTTPOptions struct {
	// Timeout bounds one request, dial to end of response. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// CAFile is a PEM bundle trusted instead of the system roots (private
	// CA, TLS-inspecting proxy). Verification is always on.
	CAFile string `yaml:"ca_file"`
	// Attempts is the number of tries per alert, first included. Default 3.
	Attempts int `yaml:"attempts"`
	// Backoff is the wait before the first retry; it doubles up to
	// MaxBackoff, each wait drawn from its upper half. Defaults 500ms, 5s.
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// MaxRetryAfter is the longest Retry-After (on 429 and 503) waited
	// for; a longer one fails the send at once. Default 30s.
	MaxRetryAfter time.Duration `yaml:"max_retry_after"`
}
