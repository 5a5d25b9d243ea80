package syslog

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks/internal/alerttest"
)

// encodedCommand is a PowerShell command line of n bytes, the kind whose
// length an attacker chooses.
func encodedCommand(n int) string {
	const prefix = "powershell.exe -NoProfile -WindowStyle Hidden -EncodedCommand "
	b64 := "SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA"
	return prefix + strings.Repeat(b64, n/len(b64)+1)[:n-len(prefix)]
}

// longAlert is the seed alert with a long command line or host name,
// carried where the correlator puts them: the matched documents, host.name
// and the message.
func longAlert(cmd, host string) *event.Alert {
	a := alerttest.Seed(cmd)
	a.Host.Name = host
	for _, d := range a.Weft.Events {
		d["host"].(map[string]any)["name"] = host
	}
	a.Message = "mmc.exe on " + host + " accepted TCP from 10.9.8.7:50211 and started " + cmd
	a.Event.ID = event.AlertID(a.Rule.ID, a.Weft.Events)
	return a
}

// An attacker chooses the length of a command line or a host name. Alerts
// with long ones reach the receiver over UDP and TCP, within max_size,
// cut where they were long and saying so, and valid RFC 5424 to a third
// party's parser. Before, both went to the dead-letter queue.
func TestLongFieldsDelivered(t *testing.T) {
	t.Parallel()
	const host = "WKS-01"
	longHost := strings.Repeat("H", 3000)
	cases := []struct {
		name, cmd, host string
		wantCut         []string // params whose value ends in a cut marker
		wantTruncated   []string // paths listed in truncated
	}{
		// The message fits once the documents are left out; the SD value
		// is cut.
		{"4,500-byte command line", encodedCommand(4500), host, []string{"command_line"}, nil},
		// Escaping doubles quotes and backslashes in JSON.
		{"4,500-byte command line of quotes", `cmd.exe /c "` + strings.Repeat(`C:\"`, 1122), host, []string{"command_line"}, []string{"message"}},
		{"3,000-byte host name", "cmd.exe /c whoami", longHost, []string{"host"}, []string{"message", "host.name"}},
		{"both", encodedCommand(4500), longHost, []string{"host", "command_line"}, []string{"message", "host.name"}},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				a := longAlert(tc.cmd, tc.host)
				msg := sendOne(t, network, a)
				if len(msg) > DefaultMaxSize {
					t.Errorf("message of %d bytes, over max_size %d", len(msg), DefaultMaxSize)
				}
				m, err := rfc5424.NewParser().Parse(msg)
				if err != nil {
					t.Fatalf("go-syslog rejects the message: %v\n%.300s", err, msg)
				}
				sm := m.(*rfc5424.SyslogMessage)
				if sm.StructuredData == nil || sm.Message == nil {
					t.Fatalf("go-syslog finds no structured data or MSG in %.300s", msg)
				}
				sd := (*sm.StructuredData)[DefaultSDID]
				if sd["alert_id"] != a.Event.ID {
					t.Errorf("alert_id = %q, want %q", sd["alert_id"], a.Event.ID)
				}
				for _, name := range tc.wantCut {
					if v := sd[name]; !cutMarked.MatchString(v) || len(v) > sdValueLimit {
						t.Errorf("%s = %d bytes %.40q…, want at most %d ending in a cut marker", name, len(v), v, sdValueLimit)
					}
				}
				truncated := strings.Fields(sd["truncated"])
				for _, path := range tc.wantTruncated {
					if !contains(truncated, path) {
						t.Errorf("truncated = %q, want %s listed", sd["truncated"], path)
					}
				}
				var back event.Alert
				if err := json.Unmarshal([]byte(*sm.Message), &back); err != nil {
					t.Fatalf("MSG is not the alert's JSON: %v", err)
				}
				if back.Event.ID != a.Event.ID || back.Rule.ID != a.Rule.ID {
					t.Errorf("MSG alert %q rule %q", back.Event.ID, back.Rule.ID)
				}
				switch {
				case !contains(tc.wantTruncated, "message"):
					if back.Message != a.Message {
						t.Errorf("MSG message = %.60q…, want it whole", back.Message)
					}
				case !cutMarked.MatchString(back.Message) || !strings.HasPrefix(back.Message, "mmc.exe on "):
					t.Errorf("MSG message = %.60q…%q, want it cut and marked", back.Message, back.Message[max(0, len(back.Message)-30):])
				}
				if tc.host == longHost && (!cutMarked.MatchString(back.Host.Name) || !strings.HasPrefix(back.Host.Name, "HHHH")) {
					t.Errorf("MSG host.name = %.40q…", back.Host.Name)
				}
			})
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sendOne delivers a through a sink of the given network to a loopback
// receiver and returns the message it read.
func sendOne(t *testing.T, network string, a *event.Alert) []byte {
	t.Helper()
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		s := newSink(t, Config{Address: pc.LocalAddr().String()})
		if err := s.Send(context.Background(), a); err != nil {
			t.Fatalf("Send: %v", err)
		}
		buf := make([]byte, 1<<16)
		// A deadline only against a lost datagram: the read normally
		// returns at once.
		_ = pc.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	case "tcp":
		r := newTCPReceiver(t)
		s := newSink(t, Config{Network: "tcp", Address: r.ln.Addr().String()})
		if err := s.Send(context.Background(), a); err != nil {
			t.Fatalf("Send: %v", err)
		}
		return r.next(t).msg
	}
	t.Fatalf("network %s", network)
	return nil
}
