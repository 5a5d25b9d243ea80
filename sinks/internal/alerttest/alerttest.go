package alerttest

import (
	"time"

	"github.com/weft-dev/weft/event"
)

// Note is an investigation guide in the form of Elastic's rule files.
const Note = `## Triage and analysis

### Investigating Incoming DCOM Lateral Movement with MMC

DCOM lets software components talk over a network.

### Possible investigation steps

- Review the network traffic logs to identify the source IP address that initiated the connection to the host running mmc.exe.
- Examine the process creation logs to confirm the parent-child relationship between mmc.exe and any suspicious processes.
- Check the source and destination ports (both should be >= 49152) involved in the network connection.
- Investigate the timeline of events to see if there are any other related alerts.
- Correlate the findings with any existing threat intelligence.

### False positive analysis

- Legitimate administrative tasks using MMC may trigger the rule.
`

// Time is when the seed alert's sequence completed.
func Time() time.Time { return time.Date(2024, 3, 5, 14, 7, 31, 123456789, time.UTC) }

// Seed returns the seed rule's alert with commandLine as the child's
// command line. Each call builds fresh maps, so tests may change them.
func Seed(commandLine string) *event.Alert {
	at := Time()
	network := event.Document{
		"@timestamp": at.Add(-2 * time.Second).Format(time.RFC3339Nano),
		"event":      map[string]any{"kind": "event", "category": []any{"network"}, "type": []any{"connection", "start"}, "code": "3"},
		"host":       map[string]any{"name": "WKS-01", "id": "host-1", "os": map[string]any{"type": "windows"}},
		"source":     map[string]any{"ip": "10.1.2.30", "port": float64(49702), "domain": "WKS-01"},
		"destination": map[string]any{
			"ip":   "10.9.8.7",
			"port": int64(50211),
		},
		"network": map[string]any{"direction": "ingress", "transport": "tcp"},
		"process": map[string]any{
			"name":       "mmc.exe",
			"entity_id":  "{8f1e2a3b-0000-1111-2222-333344445555}",
			"executable": `C:\Windows\System32\mmc.exe`,
			"pid":        int64(4242),
		},
		"winlog": map[string]any{"computer_name": "WKS-01", "channel": "Microsoft-Windows-Sysmon/Operational", "record_id": "1001"},
	}
	child := event.Document{
		"@timestamp": at.Format(time.RFC3339Nano),
		"event":      map[string]any{"kind": "event", "category": []any{"process"}, "type": []any{"start"}, "code": "1"},
		"host":       map[string]any{"name": "WKS-01", "id": "host-1", "os": map[string]any{"type": "windows"}},
		"process": map[string]any{
			"name":         "cmd.exe",
			"entity_id":    "{8f1e2a3b-0000-1111-2222-999988887777}",
			"command_line": commandLine,
			"pid":          int64(5150),
			"parent": map[string]any{
				"name":      "mmc.exe",
				"entity_id": "{8f1e2a3b-0000-1111-2222-333344445555}",
			},
		},
		"winlog": map[string]any{"computer_name": "WKS-01", "channel": "Microsoft-Windows-Sysmon/Operational", "record_id": "1002"},
	}
	events := []event.Document{network, child}
	ruleID := "51ce96fb-9e52-4dad-b0ba-99b54440fc9a"
	return &event.Alert{
		Timestamp: at,
		Message:   "Incoming DCOM Lateral Movement with MMC on WKS-01: mmc.exe started cmd.exe",
		Event: event.AlertEvent{
			Kind:      "alert",
			ID:        event.AlertID(ruleID, events),
			Created:   at.Add(time.Second),
			Severity:  event.SeverityNumber("high"),
			RiskScore: 73,
		},
		Rule: event.Rule{
			ID:          ruleID,
			Name:        "Incoming DCOM Lateral Movement with MMC",
			Version:     "209",
			Description: "Identifies the use of DCOM to run commands from a remote host via the MMC20 Application COM object.",
			Reference:   []string{"https://enigma0x3.net/2017/01/05/lateral-movement-using-the-mmc20-application-com-object/"},
			Author:      []string{"Elastic"},
			License:     "Elastic License v2",
			Severity:    "high",
			Note:        Note,
		},
		Threat: []event.Threat{
			{
				Framework: "MITRE ATT&CK",
				Tactic:    event.ThreatRef{ID: "TA0008", Name: "Lateral Movement", Reference: "https://attack.mitre.org/tactics/TA0008/"},
				Technique: []event.ThreatTechnique{{
					ThreatRef:    event.ThreatRef{ID: "T1021", Name: "Remote Services", Reference: "https://attack.mitre.org/techniques/T1021/"},
					Subtechnique: []event.ThreatRef{{ID: "T1021.003", Name: "Distributed Component Object Model", Reference: "https://attack.mitre.org/techniques/T1021/003/"}},
				}},
			},
			{
				Framework: "MITRE ATT&CK",
				Tactic:    event.ThreatRef{ID: "TA0005", Name: "Defense Evasion", Reference: "https://attack.mitre.org/tactics/TA0005/"},
				Technique: []event.ThreatTechnique{{
					ThreatRef:    event.ThreatRef{ID: "T1218", Name: "System Binary Proxy Execution", Reference: "https://attack.mitre.org/techniques/T1218/"},
					Subtechnique: []event.ThreatRef{{ID: "T1218.014", Name: "MMC", Reference: "https://attack.mitre.org/techniques/T1218/014/"}},
				}},
			},
		},
		Host: event.Host{Name: "WKS-01", ID: "host-1", OS: event.HostOS{Type: "windows"}},
		Weft: event.AlertWeft{JoinKeys: []any{"{8f1e2a3b-0000-1111-2222-333344445555}"}, Events: events},
	}
}
