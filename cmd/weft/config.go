package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/collector/listen"
	"github.com/weft-dev/weft/collector/winlog"
	"github.com/weft-dev/weft/sinks"
	"github.com/weft-dev/weft/sinks/jsonl"
	"github.com/weft-dev/weft/sinks/slack"
	"github.com/weft-dev/weft/sinks/syslog"
	"github.com/weft-dev/weft/sinks/webhook"
)

// config is weft.yaml: one section per stage.
type config struct {
	Bus        bus.Config       `yaml:"bus"`
	Sources    []sourceConfig   `yaml:"sources"`
	Rules      rulesConfig      `yaml:"rules"`
	Correlator correlatorConfig `yaml:"correlator"`
	Sinks      []sinkConfig     `yaml:"sinks"`
	// ShutdownTimeout bounds weft run's drain on SIGINT or SIGTERM (default
	// 30s, under the shipped systemd unit's TimeoutStopSec); what is not
	// through by then stays in the streams for the next start.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// sourceConfig is one input. type "files" reads EVTX and XML files,
// folders and globs once at start; type "watch" reads each file that
// appears in a folder (archived logs, dropped backups) once it is complete.
// Both keep checkpoints: a restart resumes where the last run stopped.
type sourceConfig struct {
	Type  string   `yaml:"type"`
	Paths []string `yaml:"paths"`
	// watch: the folder (with its subfolders), a pattern for file names
	// (e.g. "Archive-*.evtx"), and how long a file must stay unchanged
	// before it is read (default 5s).
	Path    string        `yaml:"path"`
	Pattern string        `yaml:"pattern"`
	Settle  time.Duration `yaml:"settle"`
	// tcp, http and beats: forwarded events taken on a network listener
	// (listen, tls, max_event_size, ...; collector/listen/README.md).
	Listen listen.Config `yaml:",inline"`
	// winlog: channels subscribed to live on Windows (channels, query,
	// start_at).
	Winlog winlog.Config `yaml:",inline"`
}

func (s sourceConfig) watch() collector.WatchConfig {
	return collector.WatchConfig{Dir: s.Path, Pattern: s.Pattern, Settle: s.Settle}
}

type rulesConfig struct {
	// Paths are rule files or folders in Elastic's detection-rules TOML.
	Paths []string `yaml:"paths"`
	// Seed runs the embedded seed rule too (default true).
	Seed *bool `yaml:"seed"`
	// Sigma chooses the Sigma rules of Paths by status and level.
	Sigma sigmaConfig `yaml:"sigma"`
}

type correlatorConfig struct {
	// Lateness is how far out of event-time order a host's events may
	// arrive and still be evaluated in order.
	Lateness time.Duration `yaml:"lateness"`
	// MaxPending caps partial sequences per rule.
	MaxPending int `yaml:"max_pending"`
	// Group, GroupTTL and Member place a weft correlate process among the
	// correlators that share the hosts (its --group, --group-ttl and
	// --member flags win over them).
	Group    string        `yaml:"group"`
	GroupTTL time.Duration `yaml:"group_ttl"`
	Member   string        `yaml:"member"`
}

// sinkConfig is one alert destination: its type, a name (default: the
// type) and the options of that type, kept as YAML until the type is known.
type sinkConfig struct {
	Name    string
	Type    string
	options yaml.Node
	// delivery is the sink's delivery section (sinks.DeliveryOptions):
	// concurrency, retries and when an alert goes to the dead-letter queue.
	delivery yaml.Node
}

func (s *sinkConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a sink is a mapping with a type", n.Line)
	}
	rest := yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "type":
			s.Type = v.Value
		case "name":
			s.Name = v.Value
		case "delivery":
			s.delivery = *v
		default:
			rest.Content = append(rest.Content, k, v)
		}
	}
	if s.Type == "" {
		return fmt.Errorf("line %d: sink without a type (jsonl, webhook, slack or syslog)", n.Line)
	}
	if s.Name == "" {
		s.Name = s.Type
	}
	s.options = rest
	return nil
}

const defaultLateness = 5 * time.Second

// defaultShutdownTimeout leaves the TimeoutStopSec=60 of
// docs/weft.service room for the stop after the drain, before systemd
// sends SIGKILL.
const defaultShutdownTimeout = 30 * time.Second

func (c *config) shutdownTimeout() time.Duration {
	if c.ShutdownTimeout == 0 {
		return defaultShutdownTimeout
	}
	return c.ShutdownTimeout
}

// loadConfig reads a weft.yaml. Unknown keys are errors, so a typo is not
// silently ignored.
func loadConfig(path string) (*config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var cfg config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &cfg, nil
}

func (c *config) validate() error {
	var errs []error
	for i, s := range c.Sources {
		if err := s.validateLive(); err != nil {
			errs = append(errs, fmt.Errorf("sources[%d] (%s): %w", i, s.Type, err))
		}
		switch s.Type {
		case "tcp", "http", "beats", "winlog":
		case "files":
			if len(s.Paths) == 0 {
				errs = append(errs, fmt.Errorf("sources[%d]: files source without paths", i))
			}
		case "watch":
			if err := s.watch().Validate(); err != nil {
				errs = append(errs, fmt.Errorf("sources[%d]: %w", i, err))
			}
		default:
			errs = append(errs, fmt.Errorf("sources[%d].type %q: want files, watch, tcp, http, beats or winlog", i, s.Type))
		}
	}
	names := map[string]bool{}
	for i, s := range c.Sinks {
		if names[s.Name] {
			errs = append(errs, fmt.Errorf("sinks[%d]: name %q is used twice; give each sink a distinct name", i, s.Name))
		}
		names[s.Name] = true
	}
	if c.Correlator.Lateness < 0 || c.Correlator.MaxPending < 0 {
		errs = append(errs, errors.New("correlator: lateness and max_pending must not be negative"))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, errors.New("shutdown_timeout must not be negative"))
	}
	return errors.Join(errs...)
}

func (c *config) lateness() time.Duration {
	if c.Correlator.Lateness == 0 {
		return defaultLateness
	}
	return c.Correlator.Lateness
}

func (r rulesConfig) seed() bool { return r.Seed == nil || *r.Seed }

// openSink builds the sink a sinkConfig describes, with its delivery
// options.
func openSink(s sinkConfig, version string) (sinks.Sink, error) {
	var opts sinks.DeliveryOptions
	if s.delivery.Kind != 0 {
		data, err := yaml.Marshal(&s.delivery)
		if err != nil {
			return nil, err
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&opts); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("sink %q (%s): delivery: %w", s.Name, s.Type, err)
		}
	}
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("sink %q (%s): %w", s.Name, s.Type, err)
	}
	out, err := newSink(s, version)
	if err != nil {
		return nil, err
	}
	return sinks.WithDelivery(out, opts), nil
}

// newSink builds the sink of a sinkConfig's type from its options.
func newSink(s sinkConfig, version string) (sinks.Sink, error) {
	decode := func(v any) error {
		data, err := yaml.Marshal(&s.options)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("sink %q (%s): %w", s.Name, s.Type, err)
		}
		return nil
	}
	switch s.Type {
	case "jsonl", "stdout", "file":
		var cfg jsonl.Config
		if err := decode(&cfg); err != nil {
			return nil, err
		}
		return jsonl.New(cfg)
	case "webhook":
		var cfg webhook.Config
		if err := decode(&cfg); err != nil {
			return nil, err
		}
		cfg.Version = version
		return webhook.New(cfg)
	case "slack":
		var cfg slack.Config
		if err := decode(&cfg); err != nil {
			return nil, err
		}
		cfg.Version = version
		return slack.New(cfg)
	case "syslog":
		var cfg syslog.Config
		if err := decode(&cfg); err != nil {
			return nil, err
		}
		return syslog.New(cfg)
	}
	return nil, fmt.Errorf("sink %q: unknown type %q (want jsonl, webhook, slack or syslog)", s.Name, s.Type)
}
