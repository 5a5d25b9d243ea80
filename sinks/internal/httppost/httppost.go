package httppost

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/weft-dev/weft/sinks"
)

// Defaults for the zero values of sinks.HTTPOptions.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultAttempts      = 3
	DefaultBackoff       = 500 * time.Millisecond
	DefaultMaxBackoff    = 5 * time.Second
	DefaultMaxRetryAfter = 30 * time.Second
)

// snippetLen bounds how much of an error response goes into an error.
const snippetLen = 200

// Client posts with retries. It is safe for concurrent use.
type Client struct {
	http *http.Client
	opts sinks.HTTPOptions
}

// New validates opts, fills defaults and builds a Client.
func New(opts sinks.HTTPOptions) (*Client, error) {
	if opts.Timeout < 0 || opts.Attempts < 0 || opts.Backoff < 0 || opts.MaxBackoff < 0 || opts.MaxRetryAfter < 0 {
		return nil, errors.New("timeout, attempts, backoff, max_backoff and max_retry_after must not be negative")
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Attempts == 0 {
		opts.Attempts = DefaultAttempts
	}
	if opts.Backoff == 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.Backoff)
	}
	if opts.MaxRetryAfter == 0 {
		opts.MaxRetryAfter = DefaultMaxRetryAfter
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file: %s holds no PEM certificate", opts.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	return &Client{
		opts: opts,
		http: &http.Client{
			Transport: tr,
			Timeout:   opts.Timeout,
			// A 301/302/303 would turn the POST into a GET that "succeeds"
			// without delivering, and a redirect elsewhere would hand the
			// signature and headers to another host: a redirect is an error.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Code int
	// Snippet is the start of the response body, cleaned for logs.
	Snippet string
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	msg := "status " + strconv.Itoa(e.Code) + " " + http.StatusText(e.Code)
	if e.Snippet != "" {
		msg += ": " + strconv.Quote(e.Snippet)
	}
	return msg
}

// Post sends body to target, calling header before each attempt to set
// the request headers (so time-dependent ones such as signatures are fresh
// on every retry). It returns nil on a 2xx answer. It retries network
// errors, 408, 429 and 5xx answers up to the configured attempts, and
// stops early when ctx ends.
func (c *Client) Post(ctx context.Context, target string, body []byte, header func(http.Header)) error {
	redacted := sinks.RedactURL(target)
	var last error
	for attempt := 1; ; attempt++ {
		wait, retry, err := c.try(ctx, target, redacted, body, header)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("attempt %d: %w", attempt, err)
		if !retry || attempt >= c.opts.Attempts {
			return classify(fmt.Errorf("post %s: %w", redacted, last))
		}
		if wait == 0 {
			wait = c.backoff(attempt)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return classify(fmt.Errorf("post %s: %w; giving up: deadline is before the next attempt", redacted, last))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("post %s: %w; giving up: %w", redacted, last, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// try makes one attempt. It reports how long the server asked to wait
// (zero for "use backoff") and whether a retry may help.
func (c *Client) try(ctx context.Context, target, redacted string, body []byte, header func(http.Header)) (time.Duration, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		// NewRequest errors quote the URL.
		return 0, false, fmt.Errorf("invalid request to %s", redacted)
	}
	header(req.Header)
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// url.Error prints the full URL; keep its cause only.
			err = fmt.Errorf("%s %s: %w", ue.Op, redacted, ue.Err)
		}
		return 0, ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, snippetLen*4))
	// Drain a little more so the connection can be reused; a huge error
	// page is not worth reading to the end.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, false, nil
	}
	se := &StatusError{Code: resp.StatusCode, Snippet: snippet(head)}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc, err := resp.Location(); err == nil {
			se.Snippet = "redirect to " + sinks.RedactURL(loc.String()) + " not followed"
		}
		return 0, false, se
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		if !ok {
			return 0, true, se
		}
		se.RetryAfter = ra
		if ra > c.opts.MaxRetryAfter {
			// Not waited for here, where it would hold a delivery slot;
			// the redelivery waits for it.
			return 0, false, fmt.Errorf("%w (retry-after %s exceeds max_retry_after %s)", se, ra, c.opts.MaxRetryAfter)
		}
		// "Retry-After: 0" means at once; a nonzero wait keeps Post from
		// substituting its own backoff for the server's answer.
		return max(ra, time.Millisecond), true, se
	case http.StatusRequestTimeout:
		return 0, true, se
	}
	return 0, resp.StatusCode >= 500, se
}

// classify marks the final error of Post for the caller's redelivery: an
// answer that rejects this body for good is permanent, and a Retry-After
// (too long to wait for here, or still asked for on the last attempt) is
// passed on.
func classify(err error) error {
	var se *StatusError
	if !errors.As(err, &se) {
		return err
	}
	switch {
	case se.RetryAfter > 0:
		return sinks.WithRetryAfter(err, se.RetryAfter)
	case rejectsBody(se.Code):
		return sinks.Permanent(err)
	}
	return err
}

// rejectsBody reports whether a status refuses the request's content
// itself, so sending the same body again cannot succeed. Other 4xx
// answers (401, 403, 404, …) usually mean configuration or an endpoint
// being deployed, which can be fixed while the alert waits.
func rejectsBody(code int) bool {
	switch code {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// backoff is the wait before retry n (n = 1 for the first retry).
func (c *Client) backoff(n int) time.Duration {
	d := c.opts.Backoff
	for i := 1; i < n && d < c.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.opts.MaxBackoff)
	half := d / 2
	return half + rand.N(half+1)
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// snippet makes the start of a response body safe to log: valid UTF-8,
// whitespace runs collapsed, control characters dropped, bounded length.
func snippet(b []byte) string {
	var sb strings.Builder
	space := false
	for len(b) > 0 && sb.Len() < snippetLen {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case unicode.IsSpace(r):
			space = sb.Len() > 0
			continue
		case r == utf8.RuneError || !unicode.IsPrint(r):
			continue
		}
		if space {
			sb.WriteByte(' ')
			space = false
		}
		sb.WriteRune(r)
	}
	if len(b) > 0 {
		sb.WriteString("…")
	}
	return sb.String()
}

// Close releases idle connections.
func (c *Client) Close() {
	c.http.CloseIdleConnections()
}
