package sinks

import (
	"net"
	"strings"

	"github.com/weft-dev/weft/event"
)

// Summary holds the fields of an alert a responder reads first. Empty
// strings mean the alert's documents do not carry the field.
type Summary struct {
	Host string
	// Source and Destination are the network event's source.* and
	// destination.* as the documents carry them.
	Source, Destination Endpoint
	// Remote is the peer on the other side of the network connection, and
	// Local the monitored host's own end (see Summarize).
	Remote, Local Endpoint
	// Direction is the network event's network.direction.
	Direction string
	// Parent is the process that owns the network connection when the alert
	// has one and a later event, else the last event's process.parent.*.
	Parent Process
	// Process is the last matched event's process.*.
	Process Process
}

// Endpoint is one end of a network connection.
type Endpoint struct {
	IP, Port, Domain string
}

// String renders the endpoint as ip:port ([ip]:port for IPv6), or what of
// it is known.
func (e Endpoint) String() string {
	switch {
	case e.IP == "":
		return ""
	case e.Port == "":
		return e.IP
	}
	return net.JoinHostPort(e.IP, e.Port)
}

// Process identifies a process in ECS terms.
type Process struct {
	Name, EntityID, Executable, CommandLine, PID string
}

// Summarize reads the summary fields from an alert's matched documents.
//
// The network event is the first document with a source.ip or
// destination.ip. Which of its ends is remote is decided by evidence first:
// when exactly one end's domain (Sysmon's SourceHostname or
// DestinationHostname) names the alert's host, that end is local. Without
// such evidence the destination is taken as the remote peer: Sysmon records
// the local endpoint as source.* for outgoing connections and, for the
// incoming DCOM/RPC connections the seed rule matches, for incoming ones as
// well.
func Summarize(a *event.Alert) Summary {
	var s Summary
	if a == nil {
		return s
	}
	s.Host = a.Host.Name
	evs := a.Weft.Events
	if len(evs) == 0 {
		return s
	}
	last := evs[len(evs)-1]
	if s.Host == "" {
		s.Host = last.String("host.name")
	}
	s.Process = processAt(last, "process")
	netIdx := -1
	for i, d := range evs {
		if fieldString(d, "source.ip") != "" || fieldString(d, "destination.ip") != "" {
			netIdx = i
			break
		}
	}
	if netIdx >= 0 {
		n := evs[netIdx]
		s.Source = endpointAt(n, "source")
		s.Destination = endpointAt(n, "destination")
		s.Direction = fieldString(n, "network.direction")
		host := s.Host
		if host == "" {
			host = n.String("host.name")
		}
		s.Local, s.Remote = s.Source, s.Destination
		if sameHost(s.Destination.Domain, host) && !sameHost(s.Source.Domain, host) {
			s.Local, s.Remote = s.Destination, s.Source
		}
	}
	if netIdx >= 0 && netIdx < len(evs)-1 {
		s.Parent = processAt(evs[netIdx], "process")
	} else {
		s.Parent = processAt(last, "process.parent")
	}
	return s
}

func processAt(d event.Document, prefix string) Process {
	return Process{
		Name:        fieldString(d, prefix+".name"),
		EntityID:    fieldString(d, prefix+".entity_id"),
		Executable:  fieldString(d, prefix+".executable"),
		CommandLine: fieldString(d, prefix+".command_line"),
		PID:         fieldString(d, prefix+".pid"),
	}
}

func endpointAt(d event.Document, prefix string) Endpoint {
	return Endpoint{
		IP:     fieldString(d, prefix+".ip"),
		Port:   fieldString(d, prefix+".port"),
		Domain: fieldString(d, prefix+".domain"),
	}
}

// sameHost compares host names by their first label, case-insensitively,
// since Sysmon and the event's Computer disagree on domain suffixes.
func sameHost(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	first := func(s string) string {
		if i := strings.IndexByte(s, '.'); i > 0 {
			return s[:i]
		}
		return s
	}
	return strings.EqualFold(first(a), first(b))
}

// fieldString renders a document field as text: strings as they are,
// integral numbers without a fraction (ports and pids arrive as float64
// from JSON and as int64 or uint16 from msgpack), the first element of a
// multi-valued field.
func fieldString(d event.Document, path string) string {
	v, ok := d.Get(path)
	if !ok {
		return ""
	}
	return event.Text(v)
}
