package sinks

import (
	"testing"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks/internal/alerttest"
)

func TestSummarize(t *testing.T) {
	t.Parallel()
	netDoc := func(fields map[string]any) event.Document {
		d := event.Document{}
		for k, v := range fields {
			d.Set(k, v)
		}
		return d
	}
	procDoc := netDoc(map[string]any{
		"host.name":                "WKS-01",
		"process.name":             "cmd.exe",
		"process.entity_id":        "{child}",
		"process.command_line":     "cmd.exe /c whoami",
		"process.parent.name":      "mmc.exe",
		"process.parent.entity_id": "{parent}",
	})
	base := map[string]any{
		"host.name":         "WKS-01",
		"source.ip":         "10.0.0.10",
		"source.port":       float64(49702),
		"destination.ip":    "10.0.0.99",
		"destination.port":  int64(50211),
		"process.name":      "mmc.exe",
		"process.entity_id": "{parent}",
	}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name          string
		events        []event.Document
		host          string
		remote, local string
		parent, proc  string
		cmd           string
	}{
		{
			name:   "ingress without hints: destination is remote",
			events: []event.Document{netDoc(with(map[string]any{"network.direction": "ingress"})), procDoc},
			host:   "WKS-01", remote: "10.0.0.99:50211", local: "10.0.0.10:49702",
			parent: "mmc.exe {parent}", proc: "cmd.exe {child}", cmd: "cmd.exe /c whoami",
		},
		{
			name:   "egress: destination is remote",
			events: []event.Document{netDoc(with(map[string]any{"network.direction": "egress"})), procDoc},
			host:   "WKS-01", remote: "10.0.0.99:50211", local: "10.0.0.10:49702",
			parent: "mmc.exe {parent}", proc: "cmd.exe {child}", cmd: "cmd.exe /c whoami",
		},
		{
			name: "destination domain names the host: source is remote",
			events: []event.Document{netDoc(with(map[string]any{
				"network.direction":  "ingress",
				"source.domain":      "LAPTOP-7",
				"destination.domain": "wks-01.corp.example",
			})), procDoc},
			host: "WKS-01", remote: "10.0.0.10:49702", local: "10.0.0.99:50211",
			parent: "mmc.exe {parent}", proc: "cmd.exe {child}", cmd: "cmd.exe /c whoami",
		},
		{
			name: "both domains name the host (loopback): destination is remote",
			events: []event.Document{netDoc(with(map[string]any{
				"source.domain":      "WKS-01",
				"destination.domain": "WKS-01",
			})), procDoc},
			host: "WKS-01", remote: "10.0.0.99:50211", local: "10.0.0.10:49702",
			parent: "mmc.exe {parent}", proc: "cmd.exe {child}", cmd: "cmd.exe /c whoami",
		},
		{
			name: "dotted keys and string port, IPv6",
			events: []event.Document{{
				"host.name": "WKS-01", "source.ip": "fe80::1", "source.port": "49702",
				"destination.ip": "fe80::2", "destination.port": "50000", "process.name": "mmc.exe",
			}},
			host: "WKS-01", remote: "[fe80::2]:50000", local: "[fe80::1]:49702", proc: "mmc.exe",
		},
		{
			name:   "process only: parent from process.parent",
			events: []event.Document{procDoc},
			host:   "WKS-01", parent: "mmc.exe {parent}", proc: "cmd.exe {child}", cmd: "cmd.exe /c whoami",
		},
		{name: "no events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := Summarize(&event.Alert{Weft: event.AlertWeft{Events: tt.events}})
			proc := func(p Process) string {
				if p.EntityID == "" {
					return p.Name
				}
				return p.Name + " " + p.EntityID
			}
			got := []string{s.Host, s.Remote.String(), s.Local.String(), proc(s.Parent), proc(s.Process), s.Process.CommandLine}
			want := []string{tt.host, tt.remote, tt.local, tt.parent, tt.proc, tt.cmd}
			for i, name := range []string{"host", "remote", "local", "parent", "process", "command line"} {
				if got[i] != want[i] {
					t.Errorf("%s = %q, want %q", name, got[i], want[i])
				}
			}
		})
	}
}

func TestSummarizeSeed(t *testing.T) {
	t.Parallel()
	s := Summarize(alerttest.Seed("cmd.exe /c calc"))
	if s.Host != "WKS-01" || s.Remote.String() != "10.9.8.7:50211" || s.Direction != "ingress" ||
		s.Parent.Name != "mmc.exe" || s.Process.Name != "cmd.exe" || s.Process.PID != "5150" {
		t.Fatalf("summary = %+v", s)
	}
	if got := Summarize(nil); got != (Summary{}) {
		t.Fatalf("Summarize(nil) = %+v", got)
	}
}
