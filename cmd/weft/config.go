package main

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/collector/listen"
	"github.com/weft-dev/weft/collector/winlog"
	"github.com/weft-dev/weft/correlator"
	"github.com/weft-dev/weft/internal/confkey"
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
// type) and the options of that type, which the type decides
// (configDecoder.sink).
type sinkConfig struct {
	Name string
	Type string
	// options is a pointer to the Config of the sink's package
	// (sinkTypes).
	options sinkOptions
	// delivery is the sink's delivery section: concurrency, retries and
	// when an alert goes to the dead-letter queue.
	delivery sinks.DeliveryOptions
}

// sinkOptions is the Config of a sink package, which checks itself.
type sinkOptions interface{ Validate() error }

// sinkTypes are the sink types of weft.yaml and their options.
var sinkTypes = map[string]func() sinkOptions{
	"jsonl":   func() sinkOptions { return &jsonl.Config{} },
	"stdout":  func() sinkOptions { return &jsonl.Config{} },
	"file":    func() sinkOptions { return &jsonl.Config{} },
	"webhook": func() sinkOptions { return &webhook.Config{} },
	"slack":   func() sinkOptions { return &slack.Config{} },
	"syslog":  func() sinkOptions { return &syslog.Config{} },
}

func sinkTypeNames() []string { return []string{"jsonl", "webhook", "slack", "syslog"} }

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

// loadConfig reads a weft.yaml with the WEFT_* environment over it, as
// weft run does (readConfig); its error lists every problem.
func loadConfig(path string) (*config, error) {
	a := &app{getenv: os.Getenv}
	return a.loadConfig(path, nil)
}

// validate checks every section with its stage's own Validate; each
// problem carries its key path from the top of the file (confkey).
func (c *config) validate() error {
	var errs []error
	errs = append(errs, confkey.Under("bus", c.Bus.Validate()))
	for i, s := range c.Sources {
		errs = append(errs, confkey.Under(fmt.Sprintf("sources[%d]", i), s.validate()))
	}
	errs = append(errs, confkey.Under("rules.sigma", correlator.LoadOptions{Statuses: c.Rules.Sigma.Status, MinLevel: c.Rules.Sigma.Level}.Validate()))
	errs = append(errs, confkey.Under("correlator", c.Correlator.validate()))
	names := map[string]int{}
	for i, s := range c.Sinks {
		key := fmt.Sprintf("sinks[%d]", i)
		if first, ok := names[s.Name]; ok {
			errs = append(errs, confkey.Errorf(key, "name %q is also sinks[%d]'s; give each sink a distinct name", s.Name, first))
		} else {
			names[s.Name] = i
		}
		if s.options != nil {
			errs = append(errs, confkey.Under(key, s.options.Validate()))
		}
		errs = append(errs, confkey.Under(key+".delivery", s.delivery.Validate()))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, confkey.Errorf("shutdown_timeout", "must not be negative"))
	}
	return errors.Join(errs...)
}

// validate checks a source: its type, the keys of its type, and no key
// of another type.
func (s sourceConfig) validate() error {
	switch s.Type {
	case "files", "watch", "tcp", "http", "beats", "winlog":
	case "":
		return confkey.Errorf("type", "is required (%s)", strings.Join(sourceTypes, ", "))
	default:
		if best := confkey.Suggest(s.Type, sourceTypes); best != "" {
			return confkey.Errorf("type", "unknown type %q (did you mean %q?)", s.Type, best)
		}
		return confkey.Errorf("type", "unknown type %q (want %s)", s.Type, strings.Join(sourceTypes, ", "))
	}
	var errs []error
	foreign := func(v any, owners string) {
		for _, k := range setKeys(v) {
			errs = append(errs, confkey.Errorf(k, "is for %s sources, not %s", owners, s.Type))
		}
	}
	if s.Type != "files" && len(s.Paths) > 0 {
		errs = append(errs, confkey.Errorf("paths", "is for files sources, not %s", s.Type))
	}
	if s.Type != "watch" {
		foreign(struct {
			Path    string        `yaml:"path"`
			Pattern string        `yaml:"pattern"`
			Settle  time.Duration `yaml:"settle"`
		}{s.Path, s.Pattern, s.Settle}, "watch")
	}
	network := s.Type == "tcp" || s.Type == "http" || s.Type == "beats"
	if !network {
		foreign(s.Listen, "tcp, http and beats")
	}
	if s.Type != "winlog" {
		foreign(s.Winlog, "winlog")
	}
	switch {
	case s.Type == "files" && len(s.Paths) == 0:
		errs = append(errs, confkey.Errorf("paths", "is required: the files, folders or globs to read"))
	case s.Type == "watch":
		errs = append(errs, s.watch().Validate())
	case network:
		errs = append(errs, s.Listen.Validate(s.Type))
	case s.Type == "winlog":
		errs = append(errs, s.Winlog.Validate())
	}
	return errors.Join(errs...)
}

var sourceTypes = []string{"files", "watch", "tcp", "http", "beats", "winlog"}

// setKeys lists the keys of a config struct that are set (not zero), by
// their YAML names.
func setKeys(v any) []string {
	rv := reflect.ValueOf(v)
	var out []string
	for name, f := range configFields(rv.Type()) {
		if !rv.FieldByIndex(f.index).IsZero() {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func (c correlatorConfig) validate() error {
	var errs []error
	errs = append(errs, correlator.Options{Lateness: c.Lateness, MaxPending: c.MaxPending}.Validate())
	if c.Group != "" || c.GroupTTL != 0 || c.Member != "" {
		g := correlator.Group{Name: c.Group, TTL: c.GroupTTL, Member: c.Member}
		if g.Name == "" {
			g.Name = correlator.DefaultGroup
		}
		errs = append(errs, g.Validate())
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
	if err := s.delivery.Validate(); err != nil {
		return nil, fmt.Errorf("sink %q: %w", s.Name, err)
	}
	var out sinks.Sink
	var err error
	switch o := s.options.(type) {
	case *jsonl.Config:
		out, err = jsonl.New(*o)
	case *webhook.Config:
		c := *o
		c.Version = version
		out, err = webhook.New(c)
	case *slack.Config:
		c := *o
		c.Version = version
		out, err = slack.New(c)
	case *syslog.Config:
		out, err = syslog.New(*o)
	default:
		return nil, fmt.Errorf("sink %q: unknown type %q (want %s)", s.Name, s.Type, strings.Join(sinkTypeNames(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("sink %q: %w", s.Name, err)
	}
	return sinks.WithDelivery(out, s.delivery), nil
}
