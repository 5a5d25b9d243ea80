package normalizer

import "strings"

// chanKind is the pipeline an event goes through, chosen the way Elastic's
// windows.forwarded data stream routes events (forwarded/default.yml): by
// channel, compared case-insensitively, and for Security by provider too.
type chanKind uint8

const (
	chanOther chanKind = iota // Winlogbeat's fields only
	chanSysmon
	numChannelKinds
)

// channelKind is the kind of a channel by its name alone.
func channelKind(channel string) chanKind {
	if strings.EqualFold(channel, sysmonChannel) {
		return chanSysmon
	}
	return chanOther
}

// name is the channel's name as Windows writes it.
func (c chanKind) name() string {
	switch c {
	case chanSysmon:
		return sysmonChannel
	}
	return ""
}
