package correlator

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/weft-dev/weft/event"
)

// buildAlert makes the alert for a rule's match. The rule metadata and
// threat slices are shared between alerts; receivers must not modify them.
func buildAlert(rs *ruleState, docs []event.Document, keys []any, at, now time.Time) event.Alert {
	r := rs.rule
	first := docs[0]
	return event.Alert{
		Timestamp: at,
		Message:   reason(r, docs),
		Event: event.AlertEvent{
			Kind:      "alert",
			ID:        event.AlertID(r.ID, docs),
			Created:   now,
			Severity:  event.SeverityNumber(r.Severity),
			RiskScore: r.RiskScore,
		},
		Rule:   rs.meta,
		Threat: r.Threat,
		Host: event.Host{
			Name: first.String("host.name"),
			ID:   first.String("host.id"),
			OS:   event.HostOS{Type: first.String("host.os.type")},
		},
		Weft: alertWeft(keys, docs),
	}
}

// alertWeft holds the matched documents and where each was read; an alert
// of one event has that event's origin on its own too.
func alertWeft(keys []any, docs []event.Document) event.AlertWeft {
	w := event.AlertWeft{JoinKeys: keys, Events: docs, Origins: make([]event.EventOrigin, len(docs))}
	for i, d := range docs {
		w.Origins[i] = event.OriginOf(d)
	}
	if len(docs) == 1 {
		w.Origin = &w.Origins[0]
	}
	return w
}

// reason is the alert's one-line message (message.go says how each kind
// of event is told). A network connection followed by a process start
// reads as what happened ("mmc.exe on WS1 accepted TCP from
// 10.0.0.9:50112 and started cmd.exe /c whoami"); one event is the rule's
// name and what the event did; the events of a sequence follow each
// other, the host named once when they share it.
func reason(r *Rule, docs []event.Document) string {
	host := clip(hostLabel(docs[0]))
	if s := networkProcessReason(docs, host); s != "" {
		return bound(s)
	}
	name := clip(r.Name, "rule")
	if len(docs) == 1 {
		return bound(name + ": " + describe(docs[0], host))
	}
	same := true
	for _, d := range docs[1:] {
		if hostLabel(d) != hostLabel(docs[0]) {
			same = false
			break
		}
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(": ")
	b.WriteString(plural(len(docs), "event"))
	if same {
		b.WriteString(" on " + host)
	}
	b.WriteString(": ")
	// A long sequence (an event count, say) shows its first two events
	// and its last.
	shown := docs
	if len(docs) > 4 {
		shown = []event.Document{docs[0], docs[1], docs[len(docs)-1]}
	}
	for i, d := range shown {
		if i > 0 {
			b.WriteString("; then ")
		}
		if len(shown) < len(docs) && i == len(shown)-1 {
			fmt.Fprintf(&b, "%d more; then ", len(docs)-len(shown))
		}
		on := ""
		if !same {
			on = clip(hostLabel(d))
		}
		b.WriteString(describe(d, on))
		if b.Len() > maxMessage {
			break
		}
	}
	return bound(b.String())
}

func networkProcessReason(docs []event.Document, host string) string {
	ni := -1
	for i, d := range docs {
		if hasCategory(d, "network") {
			ni = i
			break
		}
	}
	if ni < 0 {
		return ""
	}
	var proc event.Document
	for _, d := range docs[ni+1:] {
		if hasCategory(d, "process") && commandOf(d) != "" {
			proc = d
			break
		}
	}
	if proc == nil {
		return ""
	}
	netDoc := docs[ni]
	actor := clip(netDoc.String("process.name"), "a process")
	transport := clip(strings.ToUpper(netDoc.String("network.transport")))
	var conn string
	switch peer := clip(remotePeer(netDoc)); strings.ToLower(netDoc.String("network.direction")) {
	case "ingress", "inbound", "incoming":
		conn = fmt.Sprintf("accepted %s from %s", orDefault(transport, "a connection"), peer)
	case "egress", "outbound", "outgoing":
		conn = fmt.Sprintf("connected over %s to %s", orDefault(transport, "the network"), peer)
	default:
		conn = fmt.Sprintf("had a %sconnection with %s", orDefault(transport+" ", ""), peer)
	}
	child := clip(commandOf(proc))
	parentID := proc.String("process.parent.entity_id")
	if parentID != "" && parentID == netDoc.String("process.entity_id") {
		return fmt.Sprintf("%s on %s %s and started %s", actor, host, conn, child)
	}
	parent := clip(proc.String("process.parent.name"), "a process")
	return fmt.Sprintf("%s on %s %s, then %s started %s", actor, host, conn, parent, child)
}

// remotePeer is the other end of a connection as "ip:port". Sysmon puts the
// local endpoint in source.* whichever side initiated (an accepted
// connection has the local listener in source and the remote client in
// destination), and ECS puts the local initiator of an outgoing connection
// in source too, so the peer is destination.* — unless host.ip says the
// local address is the destination, as in data that follows ECS's
// initiator convention for incoming connections.
func remotePeer(d event.Document) string {
	dst := d.String("destination.ip")
	if dst != "" && dst != d.String("source.ip") && hostHasIP(d, dst) {
		return endpoint(d, "source")
	}
	return endpoint(d, "destination")
}

func hostHasIP(d event.Document, ip string) bool {
	v, _ := d.Get("host.ip")
	switch x := v.(type) {
	case string:
		return x == ip
	case []any:
		for _, e := range x {
			if e == ip {
				return true
			}
		}
	case []string:
		for _, e := range x {
			if e == ip {
				return true
			}
		}
	}
	return false
}

func endpoint(d event.Document, side string) string {
	ip := d.String(side + ".ip")
	if ip == "" {
		ip = d.String(side + ".address")
	}
	if ip == "" {
		ip = "?"
	}
	port := ""
	if v, ok := d.Get(side + ".port"); ok {
		switch p := v.(type) {
		case string:
			port = p
		default:
			if f, ok := event.ToFloat(p); ok {
				port = strconv.FormatInt(int64(f), 10)
			}
		}
	}
	if port == "" {
		return ip
	}
	return net.JoinHostPort(ip, port)
}

func commandOf(d event.Document) string {
	for _, f := range []string{"process.command_line", "process.executable", "process.name"} {
		if s := d.String(f); s != "" {
			return s
		}
	}
	return ""
}

func hostLabel(d event.Document) string {
	for _, f := range []string{"host.name", "host.id"} {
		if s := d.String(f); s != "" {
			return s
		}
	}
	return "an unknown host"
}

func hasCategory(d event.Document, cat string) bool {
	v, _ := d.Get("event.category")
	switch c := v.(type) {
	case string:
		return c == cat
	case []any:
		for _, x := range c {
			if x == cat {
				return true
			}
		}
	case []string:
		for _, s := range c {
			if s == cat {
				return true
			}
		}
	}
	return false
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
