package event

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Alert is what the correlator raises: ECS-shaped, so it can be indexed or
// read as it is. Its ID is deterministic (rule id plus the identities of the
// matched events), so a replay raises the same id and receivers deduplicate.
type Alert struct {
	Timestamp time.Time  `msgpack:"@timestamp" json:"@timestamp"`
	Message   string     `msgpack:"message" json:"message"`
	Event     AlertEvent `msgpack:"event" json:"event"`
	Rule      Rule       `msgpack:"rule" json:"rule"`
	Threat    []Threat   `msgpack:"threat,omitempty" json:"threat,omitempty"`
	Host      Host       `msgpack:"host" json:"host"`
	Weft      AlertWeft  `msgpack:"weft" json:"weft"`
}

// AlertEvent is the alert's ECS event.* block.
type AlertEvent struct {
	Kind      string    `msgpack:"kind" json:"kind"`
	ID        string    `msgpack:"id" json:"id"`
	Created   time.Time `msgpack:"created" json:"created"`
	Severity  int       `msgpack:"severity" json:"severity"`
	RiskScore float64   `msgpack:"risk_score" json:"risk_score"`
}

// Rule is the alert's ECS rule.* block, from the rule file's metadata.
type Rule struct {
	ID          string   `msgpack:"id" json:"id"`
	UUID        string   `msgpack:"uuid,omitempty" json:"uuid,omitempty"`
	Name        string   `msgpack:"name" json:"name"`
	Version     string   `msgpack:"version" json:"version"`
	Description string   `msgpack:"description" json:"description"`
	Reference   []string `msgpack:"reference,omitempty" json:"reference,omitempty"`
	Author      []string `msgpack:"author,omitempty" json:"author,omitempty"`
	License     string   `msgpack:"license,omitempty" json:"license,omitempty"`
	Ruleset     string   `msgpack:"ruleset,omitempty" json:"ruleset,omitempty"`
	// Severity is the rule's word (low, medium, high, critical); ECS has no
	// field for it on rule.*, so it is here, beside event.severity.
	Severity string   `msgpack:"severity" json:"severity"`
	Tags     []string `msgpack:"tags,omitempty" json:"tags,omitempty"`
	// Note is the rule's investigation guide (Markdown).
	Note string `msgpack:"note,omitempty" json:"note,omitempty"`
}

// Threat is one MITRE ATT&CK mapping in ECS threat.* form.
type Threat struct {
	Framework string            `msgpack:"framework" json:"framework"`
	Tactic    ThreatRef         `msgpack:"tactic" json:"tactic"`
	Technique []ThreatTechnique `msgpack:"technique,omitempty" json:"technique,omitempty"`
}

// ThreatRef names a tactic, technique or sub-technique.
type ThreatRef struct {
	ID        string `msgpack:"id" json:"id"`
	Name      string `msgpack:"name" json:"name"`
	Reference string `msgpack:"reference" json:"reference"`
}

// ThreatTechnique is a technique with its sub-techniques.
type ThreatTechnique struct {
	ThreatRef    `msgpack:",inline"`
	Subtechnique []ThreatRef `msgpack:"subtechnique,omitempty" json:"subtechnique,omitempty"`
}

// Host identifies the host the alert is about.
type Host struct {
	Name string `msgpack:"name" json:"name"`
	ID   string `msgpack:"id" json:"id"`
	OS   HostOS `msgpack:"os" json:"os"`
}

// HostOS is host.os.
type HostOS struct {
	Type string `msgpack:"type" json:"type"`
}

// AlertWeft carries what ECS has no place for: the join keys of the
// sequence, the matched documents in order, and where they were read.
type AlertWeft struct {
	JoinKeys []any      `msgpack:"join_keys,omitempty" json:"join_keys,omitempty"`
	Events   []Document `msgpack:"events" json:"events"`
	// Origins says where each of Events was read, in the same order.
	Origins []EventOrigin `msgpack:"origins,omitempty" json:"origins,omitempty"`
	// Origin is where the event of an alert of one event was read (its
	// only entry of Origins), for receivers that show one line per alert.
	Origin *EventOrigin `msgpack:"origin,omitempty" json:"origin,omitempty"`
}

// EventOrigin says where a matched event was read and which it is: the
// file (log.file.path), or the peer that sent it (log.source.address),
// and the channel, record id and event id, which with the alert's host
// name the event in its Windows log.
type EventOrigin struct {
	File     string `msgpack:"file,omitempty" json:"file,omitempty"`
	Peer     string `msgpack:"peer,omitempty" json:"peer,omitempty"`
	Channel  string `msgpack:"channel,omitempty" json:"channel,omitempty"`
	RecordID string `msgpack:"record_id,omitempty" json:"record_id,omitempty"`
	EventID  string `msgpack:"event_id,omitempty" json:"event_id,omitempty"`
}

// OriginOf reads a document's origin from the fields the normalizer (or
// the shipper of an ECS document) sets.
func OriginOf(d Document) EventOrigin {
	str := func(fields ...string) string {
		for _, f := range fields {
			v, _ := d.Get(f)
			switch x := v.(type) {
			case string:
				if x != "" {
					return x
				}
			default:
				if n, ok := ToFloat(x); ok {
					return strconv.FormatFloat(n, 'f', -1, 64)
				}
			}
		}
		return ""
	}
	return EventOrigin{
		File:     str("log.file.path"),
		Peer:     str("log.source.address"),
		Channel:  str("winlog.channel"),
		RecordID: str("winlog.record_id"),
		EventID:  str("event.code", "winlog.event_id"),
	}
}

// AlertID derives an alert's id from its rule id and the identities of the
// events it matched, in order.
func AlertID(ruleID string, events []Document) string {
	h := sha256.New()
	h.Write([]byte(ruleID))
	for _, d := range events {
		h.Write([]byte{0})
		h.Write([]byte(d.Identity()))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// SeverityNumber maps a rule severity word to event.severity, using the
// risk-score bands Elastic uses as defaults for each severity.
func SeverityNumber(severity string) int {
	switch strings.ToLower(severity) {
	case "critical":
		return 99
	case "high":
		return 73
	case "medium":
		return 47
	case "low":
		return 21
	}
	return 0
}
