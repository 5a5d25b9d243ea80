package event

import (
	"crypto/sha256"
	"encoding/hex"
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
// sequence and the matched documents in order.
type AlertWeft struct {
	JoinKeys []any      `msgpack:"join_keys,omitempty" json:"join_keys,omitempty"`
	Events   []Document `msgpack:"events" json:"events"`
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
