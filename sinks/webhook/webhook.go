package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks"
	"github.com/weft-dev/weft/sinks/internal/httppost"
)

// SampleConfig is a commented example of this sink's configuration.
//
//go:embed sample.yaml
var SampleConfig string

// Config configures the webhook sink. Zero values take the documented
// defaults.
type Config struct {
	// URL is the endpoint, http or https. Required, given here or through
	// url_env / url_file (a URL may embed a token).
	URL     string `yaml:"url"`
	URLEnv  string `yaml:"url_env"`
	URLFile string `yaml:"url_file"`
	// Secret is the HMAC-SHA256 key; when set, requests carry
	// X-Weft-Timestamp and X-Weft-Signature. Inline, or secret_env /
	// secret_file.
	Secret     string `yaml:"secret"`
	SecretEnv  string `yaml:"secret_env"`
	SecretFile string `yaml:"secret_file"`
	// Headers are extra request headers, e.g. an API key.
	Headers map[string]string `yaml:"headers"`
	// HeadersEnv are extra headers whose values come from environment
	// variables: header name to variable name (for Authorization tokens).
	HeadersEnv map[string]string `yaml:"headers_env"`
	// HTTPOptions: timeout, ca_file, attempts, backoff, max_backoff,
	// max_retry_after.
	sinks.HTTPOptions `yaml:",inline"`
	// Version goes into User-Agent (weft/<version>). The CLI sets it from
	// the build; it is not read from the file. Default "dev".
	Version string `yaml:"-"`
}

// sink posts alerts to one webhook.
type sink struct {
	url     string
	secret  []byte
	headers http.Header
	ua      string
	client  *httppost.Client
}

// New validates cfg and builds the sink.
func New(cfg Config) (sinks.Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	s, err := build(cfg)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	return s, nil
}

func build(cfg Config) (*sink, error) {
	target, err := sinks.ResolveSecret("url", cfg.URL, cfg.URLEnv, cfg.URLFile)
	if err != nil {
		return nil, err
	}
	if target == "" {
		return nil, errors.New("url is required (url, url_env or url_file)")
	}
	if err := checkURL(target); err != nil {
		return nil, err
	}
	secret, err := sinks.ResolveSecret("secret", cfg.Secret, cfg.SecretEnv, cfg.SecretFile)
	if err != nil {
		return nil, err
	}
	headers, err := buildHeaders(cfg.Headers, cfg.HeadersEnv)
	if err != nil {
		return nil, err
	}
	client, err := httppost.New(cfg.HTTPOptions)
	if err != nil {
		return nil, err
	}
	version := cfg.Version
	if version == "" {
		version = "dev"
	}
	s := &sink{url: target, headers: headers, ua: "weft/" + version, client: client}
	if secret != "" {
		s.secret = []byte(secret)
	}
	return s, nil
}

// checkURL accepts absolute http and https URLs. Its errors show the
// scheme and host at most.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("url is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("url has no host")
	}
	return nil
}

func buildHeaders(inline, fromEnv map[string]string) (http.Header, error) {
	h := http.Header{}
	add := func(name, value, where string) error {
		if !validName(name) {
			return fmt.Errorf("%s: %q is not a valid header name", where, name)
		}
		if reservedHeader(name) {
			return fmt.Errorf("%s: header %s is set by weft", where, http.CanonicalHeaderKey(name))
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			return fmt.Errorf("%s: header %s has a line break or NUL in its value", where, name)
		}
		if h.Get(name) != "" {
			return fmt.Errorf("%s: header %s is configured twice", where, name)
		}
		h.Set(name, value)
		return nil
	}
	for _, name := range sortedKeys(inline) {
		if err := add(name, inline[name], "headers"); err != nil {
			return nil, err
		}
	}
	for _, name := range sortedKeys(fromEnv) {
		v, ok := os.LookupEnv(fromEnv[name])
		if !ok || v == "" {
			return nil, fmt.Errorf("headers_env: environment variable %s for header %s is not set or empty", fromEnv[name], name)
		}
		if err := add(name, v, "headers_env"); err != nil {
			return nil, err
		}
	}
	return h, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// reservedHeader reports whether weft sets the header itself; configuring
// it is an error rather than a silent override.
func reservedHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Content-Type", "Content-Length", "Host", "User-Agent", "Idempotency-Key", "X-Weft-Timestamp", "X-Weft-Signature":
		return true
	}
	return false
}

// validName reports whether s is an RFC 9110 token.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func (s *sink) Name() string { return "webhook" }

// Send posts the alert, retrying as configured. A receiver that answers
// 413 (Content Too Large) gets the alert again in smaller forms
// (sinks.Reductions: without the investigation guide, without the matched
// documents, long strings cut and marked), each at most three quarters of
// the size of the one it refused, listed in weft.omitted and
// weft.truncated, until it takes one; only a receiver that refuses even
// the smallest form sends the alert to the dead-letter queue.
func (s *sink) Send(ctx context.Context, a *event.Alert) error {
	if a == nil {
		return sinks.Permanent(errors.New("webhook: nil alert"))
	}
	key := a.Event.ID
	if !validKey(key) {
		// An id that cannot be a header value would fail every request;
		// the derived id is as stable across retries and replays.
		key = event.AlertID(a.Rule.ID, a.Weft.Events)
	}
	refused := -1 // size of the last body refused as too large
	var err error
	for r := range sinks.Reductions(a) {
		var body []byte
		if body, err = encode(r); err != nil {
			return sinks.Permanent(fmt.Errorf("webhook: encode alert %s: %w", a.Event.ID, err))
		}
		if refused >= 0 && len(body) > refused*3/4 {
			continue
		}
		err = s.post(ctx, key, body)
		var se *httppost.StatusError
		if err == nil || !errors.As(err, &se) || se.Code != http.StatusRequestEntityTooLarge {
			break
		}
		refused = len(body)
	}
	if err != nil {
		return fmt.Errorf("webhook: alert %s: %w", key, err)
	}
	return nil
}

// reduced is the JSON of a smaller form of an alert: the alert, with what
// was left out or cut listed under weft.
type reduced struct {
	*event.Alert
	Weft reducedWeft `json:"weft"`
}

type reducedWeft struct {
	event.AlertWeft
	Omitted   []string `json:"omitted,omitempty"`
	Truncated []string `json:"truncated,omitempty"`
}

// encode writes form r of an alert; the whole alert is its plain JSON.
func encode(r sinks.Reduced) ([]byte, error) {
	if len(r.Omitted) == 0 && len(r.Truncated) == 0 {
		return json.Marshal(r.Alert)
	}
	return json.Marshal(reduced{Alert: r.Alert, Weft: reducedWeft{AlertWeft: r.Alert.Weft, Omitted: r.Omitted, Truncated: r.Truncated}})
}

// post sends one body, retrying as configured.
func (s *sink) post(ctx context.Context, key string, body []byte) error {
	return s.client.Post(ctx, s.url, body, func(h http.Header) {
		for k, v := range s.headers {
			h[k] = v
		}
		h.Set("Content-Type", "application/json")
		h.Set("User-Agent", s.ua)
		h.Set("Idempotency-Key", key)
		if s.secret != nil {
			ts := time.Now().Unix()
			h.Set("X-Weft-Timestamp", strconv.FormatInt(ts, 10))
			h.Set("X-Weft-Signature", Signature(s.secret, ts, body))
		}
	})
}

// validKey reports whether an alert id can be sent as Idempotency-Key:
// 1 to 200 printable ASCII characters.
func validKey(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Signature is the X-Weft-Signature value for a body sent at timestamp
// (Unix seconds): "sha256=" and the hex HMAC-SHA256 under key of the
// decimal timestamp, ".", and the body. Signing the timestamp lets
// receivers reject replays outside a tolerance window.
func Signature(key []byte, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Close releases idle connections.
func (s *sink) Close() error {
	s.client.Close()
	return nil
}
