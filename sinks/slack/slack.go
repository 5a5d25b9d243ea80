package slack

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks"
	"github.com/weft-dev/weft/sinks/internal/httppost"
)

// SampleConfig is a commented example of this sink's configuration.
//
//go:embed sample.yaml
var SampleConfig string

// Config configures the Slack sink. Zero values take the documented
// defaults.
type Config struct {
	// URL is the incoming-webhook URL (https). It is a secret: give it
	// through url_env or url_file rather than inline. Errors show only
	// its scheme and host.
	URL     string `yaml:"url"`
	URLEnv  string `yaml:"url_env"`
	URLFile string `yaml:"url_file"`
	// HTTPOptions: timeout, ca_file, attempts, backoff, max_backoff,
	// max_retry_after.
	sinks.HTTPOptions `yaml:",inline"`
	// Version goes into User-Agent (weft/<version>). The CLI sets it from
	// the build; it is not read from the file. Default "dev".
	Version string `yaml:"-"`
}

type sink struct {
	url    string
	ua     string
	client *httppost.Client
}

// New validates cfg and builds the sink.
func New(cfg Config) (sinks.Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	s, err := build(cfg)
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
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
	u, err := url.Parse(target)
	if err != nil {
		return nil, errors.New("url is not a valid URL")
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("url must be an https URL, got %s", sinks.RedactURL(target))
	}
	client, err := httppost.New(cfg.HTTPOptions)
	if err != nil {
		return nil, err
	}
	version := cfg.Version
	if version == "" {
		version = "dev"
	}
	return &sink{url: target, ua: "weft/" + version, client: client}, nil
}

func (s *sink) Name() string { return "slack" }

// Send posts the alert's message. Slack answers "ok" with 200; anything
// else is an error with Slack's reason (e.g. invalid_payload, no_service).
func (s *sink) Send(ctx context.Context, a *event.Alert) error {
	if a == nil {
		return sinks.Permanent(errors.New("slack: nil alert"))
	}
	body, err := encode(render(a))
	if err != nil {
		return sinks.Permanent(fmt.Errorf("slack: alert %s: %w", a.Event.ID, err))
	}
	err = s.client.Post(ctx, s.url, body, func(h http.Header) {
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("User-Agent", s.ua)
	})
	if err != nil {
		return fmt.Errorf("slack: alert %s: %w", a.Event.ID, err)
	}
	return nil
}

// encode writes the message without HTML escaping so the payload reads as
// Slack will show it; mrkdwn escaping has already dealt with <, > and &.
func encode(m message) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (s *sink) Close() error {
	s.client.Close()
	return nil
}
