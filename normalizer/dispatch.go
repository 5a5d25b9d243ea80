package normalizer

import "strings"

// chanKind is the pipeline an event goes through, chosen the way Elastic's
// windows.forwarded data stream routes events (forwarded/default.yml): by
// channel, compared case-insensitively, and for Security by provider too.
type chanKind uint8

const (
	chanOther chanKind = iota // Winlogbeat's fields only
	chanSysmon
	chanSecurity
	chanSystem
	chanPowerShell
	chanPowerShellOperational
	numChannelKinds
)

// channelKind is the kind of a channel by its name alone.
func channelKind(channel string) chanKind {
	switch {
	case strings.EqualFold(channel, sysmonChannel):
		return chanSysmon
	case strings.EqualFold(channel, "Security"):
		return chanSecurity
	case strings.EqualFold(channel, "System"):
		return chanSystem
	case strings.EqualFold(channel, "Windows PowerShell"):
		return chanPowerShell
	case strings.EqualFold(channel, "Microsoft-Windows-PowerShell/Operational"):
		return chanPowerShellOperational
	}
	return chanOther
}

// name is the channel's name as Windows writes it.
func (c chanKind) name() string {
	switch c {
	case chanSysmon:
		return sysmonChannel
	case chanSecurity:
		return "Security"
	case chanSystem:
		return "System"
	case chanPowerShell:
		return "Windows PowerShell"
	case chanPowerShellOperational:
		return "Microsoft-Windows-PowerShell/Operational"
	}
	return ""
}

// kindOf is the pipeline of an event: Sysmon's for Sysmon's provider or
// channel (as before the other channels were mapped), Security's only for
// the auditing and event log providers, as windows.forwarded routes.
func (n *Normalizer) kindOf() chanKind {
	if n.sysmon {
		return chanSysmon
	}
	r := n.r
	c := channelKind(r.Channel)
	switch c {
	case chanSysmon:
		return chanOther
	case chanSecurity:
		// AD FS's audits are weft's choice (normalizer/README.md): the
		// stored default.yml does not route them, security_adfs.yml maps them.
		if r.Provider != securityProvider && r.Provider != eventlogProvider && !adfsEvent(r.Provider, r.EventID) {
			return chanOther
		}
	}
	return c
}
