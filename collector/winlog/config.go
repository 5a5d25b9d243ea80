package winlog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/weft-dev/weft/internal/confkey"
)

// DefaultChannels returns the channels subscribed to when a config names
// none: ForwardedEvents and Sysmon's.
func DefaultChannels() []string {
	return []string{"ForwardedEvents", "Microsoft-Windows-Sysmon/Operational"}
}

// Where a channel without a bookmark starts.
const (
	StartOldest = "oldest" // every event the channel holds, then new ones
	StartNow    = "now"    // only events written from now on
)

// Config is a winlog source's section of weft.yaml.
type Config struct {
	// Channels to subscribe to; default DefaultChannels.
	Channels []string `yaml:"channels"`
	// Query is an XPath filter applied to every channel, as in Event
	// Viewer's XML filter: "*[System[(EventID=1 or EventID=3)]]". Empty
	// means every event.
	Query string `yaml:"query"`
	// StartAt is where a channel without a bookmark starts: oldest
	// (default) or now.
	StartAt string `yaml:"start_at"`
}

// IsZero reports whether no winlog key is set.
func (c Config) IsZero() bool { return len(c.Channels) == 0 && c.Query == "" && c.StartAt == "" }

// Validate checks the config without touching the system and reports
// every problem, each with its key (confkey).
func (c Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, ch := range c.Channels {
		key := fmt.Sprintf("channels[%d]", i)
		switch {
		case strings.TrimSpace(ch) == "":
			errs = append(errs, confkey.Errorf(key, "empty channel name"))
		case seen[strings.ToLower(ch)]:
			errs = append(errs, confkey.Errorf(key, "%q is listed twice", ch))
		}
		seen[strings.ToLower(ch)] = true
	}
	switch c.StartAt {
	case "", StartOldest, StartNow:
	default:
		errs = append(errs, confkey.Errorf("start_at", "%q: want oldest or now", c.StartAt))
	}
	return errors.Join(errs...)
}

func (c Config) channels() []string {
	if len(c.Channels) > 0 {
		return c.Channels
	}
	return DefaultChannels()
}

func (c Config) query() string {
	if strings.TrimSpace(c.Query) == "" {
		return "*"
	}
	return c.Query
}
