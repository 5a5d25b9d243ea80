package scenario

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/weft-dev/weft/testdata/gen/sysmon"
)

// Manifest says what a scenario holds and which alerts it must raise.
type Manifest struct {
	// Command is the command line that generated the scenario, when the
	// generator's command wrote it.
	Command    string         `json:"command,omitempty"`
	Seed       uint64         `json:"seed"`
	Start      time.Time      `json:"start"`
	End        time.Time      `json:"end"`
	Rate       float64        `json:"rate_per_host"`
	Rule       Rule           `json:"rule"`
	Files      []FileInfo     `json:"files"`
	Hosts      []HostInfo     `json:"hosts"`
	Events     int            `json:"events"`
	EventsByID map[string]int `json:"events_by_id"`
	// Alerts are the sequences the rule must match: exactly these.
	Alerts []Injection `json:"alerts"`
	// NearMisses are the sequences that must raise nothing.
	NearMisses []Injection `json:"near_misses"`

	// Channels, Logs and Scenarios describe Windows' own logs, when the
	// scenario writes them (Config.Channels): which channels, each host's
	// log of each, and the stories written to them with the alerts of
	// Elastic's rules each must raise.
	Channels  []string   `json:"channels,omitempty"`
	Logs      []LogInfo  `json:"logs,omitempty"`
	Scenarios []Scenario `json:"scenarios,omitempty"`
}

// LogInfo describes one host's log of one Windows channel.
type LogInfo struct {
	Host          string `json:"host"`
	Channel       string `json:"channel"`
	File          string `json:"file"`
	Events        int    `json:"events"`
	FirstRecordID uint64 `json:"first_record_id"`
	LastRecordID  uint64 `json:"last_record_id"`
}

// Scenario is one story written to Windows' own logs: the events it
// wrote, and exactly the alerts of Elastic's rules it must raise (one
// entry per alert; none for a near-miss, whose Breaks says which condition
// of which rule it breaks).
type Scenario struct {
	Kind   WinKind    `json:"kind"`
	Breaks string     `json:"breaks,omitempty"`
	Host   string     `json:"host"`
	Time   time.Time  `json:"time"`
	Alerts []Rule     `json:"alerts"`
	Events []EventRef `json:"events"`
}

// EventRef names an event of a host's log: its channel, event id and
// EventRecordID.
type EventRef struct {
	Channel  string `json:"channel"`
	EventID  uint16 `json:"event_id"`
	RecordID uint64 `json:"record_id"`
}

// Rule names the rule the injections are written for.
type Rule struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func seedRule() Rule {
	return Rule{ID: "51ce96fb-9e52-4dad-b0ba-99b54440fc9a", Name: "Incoming DCOM Lateral Movement with MMC"}
}

// FileInfo describes a written EVTX file.
type FileInfo struct {
	Path    string `json:"path"` // relative to the manifest
	Records int    `json:"records"`
	Chunks  int    `json:"chunks"`
	Bytes   int64  `json:"bytes"`
}

// HostInfo describes a host and its log.
type HostInfo struct {
	Name          string `json:"name"`
	IP            string `json:"ip"`
	File          string `json:"file"`
	Events        int    `json:"events"`
	FirstRecordID uint64 `json:"first_record_id"`
	LastRecordID  uint64 `json:"last_record_id"`
}

// Injection is one injected sequence: the incoming connection to mmc.exe
// and the child process, identified as weft's alerts identify them.
type Injection struct {
	Kind   Kind   `json:"kind"`
	Breaks string `json:"breaks,omitempty"`
	// Host is where mmc.exe runs; ChildHost where the child does (another
	// host only for other-host).
	Host            string    `json:"host"`
	ChildHost       string    `json:"child_host"`
	MMCEntityID     string    `json:"mmc_entity_id"`
	ChildEntityID   string    `json:"child_entity_id"`
	ParentEntityID  string    `json:"child_parent_entity_id"`
	NetworkRecordID uint64    `json:"network_record_id"`
	ChildRecordID   uint64    `json:"child_record_id"`
	NetworkTime     time.Time `json:"network_time"`
	ChildTime       time.Time `json:"child_time"`
	Peer            string    `json:"peer"` // the remote end, ip:port
	CommandLine     string    `json:"command_line"`
}

func (m *Manifest) finish(hosts []*host, injections []*injection) error {
	m.EventsByID = map[string]int{}
	for _, h := range hosts {
		hi := HostInfo{Name: h.name, IP: h.ip, File: h.logFile, Events: h.count}
		if h.count > 0 {
			hi.FirstRecordID, hi.LastRecordID = h.first, h.first+uint64(h.count)-1
		}
		m.Hosts = append(m.Hosts, hi)
		m.Events += h.count
		for id, n := range h.byID {
			m.EventsByID[strconv.Itoa(int(id))] += n
		}
	}
	m.Alerts, m.NearMisses = []Injection{}, []Injection{}
	for _, inj := range injections {
		if inj.net == nil || inj.childEvent == nil {
			return fmt.Errorf("%s injected at %v fell outside the span", inj.kind, inj.at)
		}
		n := inj.net.Data.(*sysmon.NetworkConnect)
		child := inj.childEvent.Data.(*sysmon.ProcessCreate)
		childHost := hosts[inj.host].name
		if inj.kind == OtherHost {
			childHost = hosts[inj.other].name
		}
		x := Injection{
			Kind: inj.kind, Breaks: inj.kind.Breaks(), Host: hosts[inj.host].name, ChildHost: childHost,
			MMCEntityID: n.ProcessGuid.String(), ChildEntityID: child.ProcessGuid.String(),
			ParentEntityID: child.ParentProcessGuid.String(), NetworkRecordID: inj.net.RecordID,
			ChildRecordID: inj.childEvent.RecordID, NetworkTime: n.UtcTime.Truncate(time.Millisecond),
			ChildTime: child.UtcTime.Truncate(time.Millisecond),
			Peer:      net.JoinHostPort(n.DestinationIp, strconv.Itoa(int(n.DestinationPort))), CommandLine: child.CommandLine,
		}
		if inj.kind == Attack {
			m.Alerts = append(m.Alerts, x)
		} else {
			m.NearMisses = append(m.NearMisses, x)
		}
	}
	byTime := func(a, b Injection) int { return a.NetworkTime.Compare(b.NetworkTime) }
	slices.SortStableFunc(m.Alerts, byTime)
	slices.SortStableFunc(m.NearMisses, byTime)
	return nil
}

// WriteFile writes the manifest as indented JSON.
func (m *Manifest) WriteFile(path string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}

// ReadManifest reads a manifest written by WriteFile.
func ReadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	return &m, nil
}
