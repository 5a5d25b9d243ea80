package sinks

import (
	"errors"
	"time"
)

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks a Send error that no retry can fix for this alert: the
// receiver rejected the alert itself (HTTP 400, 413, 415, 422), or the
// alert cannot be formatted for the sink. Deliver moves such an alert to
// the dead-letter queue at once instead of retrying it.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (r retryAfterError) Error() string { return r.err.Error() }
func (r retryAfterError) Unwrap() error { return r.err }

// WithRetryAfter attaches to a Send error the wait the receiver asked for
// (HTTP Retry-After on 429 and 503). Deliver waits that long before the
// next delivery instead of its own backoff.
func WithRetryAfter(err error, after time.Duration) error {
	return retryAfterError{err, after}
}

// RetryAfter returns the wait attached by WithRetryAfter.
func RetryAfter(err error) (time.Duration, bool) {
	var r retryAfterError
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}
