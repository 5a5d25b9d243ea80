package correlator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/weft-dev/weft/event"
)

// TestMessageGolden writes the message of an alert of rule "Rule" over
// each testdata/messages/*.json (a document, or an array of documents for
// a sequence) and compares them with testdata/messages.golden, one line
// per file. The documents are the normalizer's goldens, one per event
// weft maps (Sysmon, Security, System, PowerShell), documents of other
// sources told by their ECS categories alone, hostile text and sequences.
// Run with -update after checking a change.
func TestMessageGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "messages", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	rule := &Rule{Name: "Rule"}
	var got bytes.Buffer
	for _, f := range files {
		docs := readDocs(t, f)
		msg := reason(rule, docs)
		checkSafe(t, f, msg)
		fmt.Fprintf(&got, "%s: %s\n", strings.TrimSuffix(filepath.Base(f), ".json"), msg)
	}
	path := filepath.Join("testdata", "messages.golden")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run MessageGolden -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("line %d differs from %s (run with -update after checking the change):\n got %s\nwant %s", i+1, path, g, w)
			}
		}
	}
}

// TestMessageKinds checks the lines the issue asked for by what they must
// say, whatever the golden holds: each kind of event names its own facts
// and none falls back to the generic line.
func TestMessageKinds(t *testing.T) {
	t.Parallel()
	rule := &Rule{Name: "R"}
	tests := []struct {
		file string
		want []string
	}{
		{"sysmon-1-process-create", []string{" started ", "mmc.exe"}},
		{"security-4688-process-creation", []string{"explorer.exe on DC01.corp.example.com started cmd.exe /c"}},
		{"sysmon-3-network-ingress", []string{"mmc.exe on WS01.corp.example.com accepted TCP from 10.20.30.7:50122 on 10.20.30.40:49687"}},
		{"security-5156-connection-allowed", []string{"accepted TCP from 10.0.4.27:50514 on 10.0.4.20:445"}},
		{"sysmon-10-process-access", []string{"dump.exe on WS01.corp.example.com accessed lsass.exe (0x1010)"}},
		{"sysmon-7-image-loaded", []string{`mmc.exe on WS01.corp.example.com loaded C:\Windows\System32\mmcbase.dll`}},
		{"sysmon-13-registry-value-set", []string{`reg.exe on WS01.corp.example.com set HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Updater to C:\Users\Public\updater.exe`}},
		{"sysmon-11-file-create", []string{"powershell.exe on WS01.corp.example.com created C:\\Users\\alice"}},
		{"security-4624-network-logon", []string{`CORP\alice logged on to DC01.corp.example.com (Network, NTLM) from 10.0.4.27`}},
		{"security-4625-failed-logon", []string{`logon of CORP\administrator to DC01.corp.example.com failed (RemoteInteractive) from 203.0.113.9`}},
		{"system-7045-service-installed", []string{`service PSEXESVC installed on WKS-07.corp.example.com: %SystemRoot%\PSEXESVC.exe`}},
		{"security-4697-service-install", []string{`installed service PSEXESVC: %SystemRoot%\PSEXESVC.exe`}},
		{"security-4698-scheduled-task-created", []string{`created scheduled task \Updater: C:\Users\Public\u.exe`}},
		{"powershell-operational-4104-script-block", []string{"ran a script block of ", "$c = New-Object Net.WebClient"}},
		{"sysmon-22-dns-query", []string{"app.exe on WS01.corp.example.com looked up login.example.com → 198.51.100.7, 2001:db8::7"}},
		{"sysmon-17-pipe-created", []string{`created pipe \MSSE-1234-server`}},
		{"sysmon-19-wmi-filter", []string{"created WMI filter EvilFilter: SELECT"}},
		{"sysmon-6-driver-loaded", []string{`driver C:\Windows\System32\drivers\evil.sys loaded on WS01.corp.example.com (signed by Evil Corp Ltd, Expired)`}},
		{"ecs-authentication-failure", []string{"root: ssh_login on web01 from 198.51.100.4:40112, failure"}},
		{"ecs-empty", []string{"R: an event on an unknown host"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			msg := reason(rule, readDocs(t, filepath.Join("testdata", "messages", tt.file+".json")))
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q\ndoes not say %q", msg, w)
				}
			}
			if strings.Contains(msg, " event "+"10 on") || strings.Contains(msg, "Microsoft-Windows-Sysmon event") {
				t.Errorf("generic message for a known event: %q", msg)
			}
		})
	}
}

// TestMessageHostile: whatever the event text, the message is one line
// of bounded length, valid UTF-8, without control, C1 or bidi characters.
func TestMessageHostile(t *testing.T) {
	t.Parallel()
	long := strings.Repeat(`C:\"`, 5000)
	tests := []struct {
		name string
		doc  event.Document
		want []string
	}{
		{"escape sequence", event.Document{"event": map[string]any{"category": "process", "type": "start"},
			"process": map[string]any{"command_line": "a\x1b[2Jb\r\nc", "parent": map[string]any{"name": "p\u202eexe"}}},
			[]string{`p[U+202E]exe`, `started a\x1b[2Jb\r\nc`}},
		{"invalid UTF-8", event.Document{"event": map[string]any{"category": "process", "type": "start"},
			"process": map[string]any{"command_line": "a\xffb\xc0"}}, []string{"a\uFFFDb\uFFFD"}},
		{"long command line", event.Document{"event": map[string]any{"category": "process", "type": "start"},
			"process": map[string]any{"command_line": long}}, []string{ellipsis}},
		{"long host", event.Document{"host": map[string]any{"name": long + "\n"}}, []string{ellipsis}},
		{"C1 and separators", event.Document{"event": map[string]any{"provider": "P\u0085\u2028", "code": "1\u009b"}}, []string{"P[U+0085][U+2028] event 1[U+009B]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, docs := range [][]event.Document{{tt.doc}, {tt.doc, tt.doc}, {tt.doc, tt.doc, tt.doc, tt.doc, tt.doc, tt.doc}} {
				msg := reason(&Rule{Name: "R\n"}, docs)
				checkSafe(t, tt.name, msg)
				for _, w := range tt.want {
					if !strings.Contains(msg, w) {
						t.Errorf("%d events: message %q\ndoes not hold %q", len(docs), msg, w)
					}
				}
			}
		})
	}
}

func checkSafe(t *testing.T, name, msg string) {
	t.Helper()
	if len(msg) > maxMessage {
		t.Errorf("%s: message of %d bytes, over %d", name, len(msg), maxMessage)
	}
	if !utf8.ValidString(msg) {
		t.Errorf("%s: message is not UTF-8: %q", name, msg)
	}
	for _, r := range msg {
		if r < 0x20 || r == 0x7f || event.Invisible(r) {
			t.Errorf("%s: message holds %U: %q", name, r, msg)
			break
		}
	}
}

func readDocs(t *testing.T, path string) []event.Document {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var docs []event.Document
		if err := json.Unmarshal(data, &docs); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return docs
	}
	var d event.Document
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []event.Document{d}
}

// TestAlertOrigins: every alert says where each matched event was read
// (the file or the sending peer) and which it is (channel, record id,
// event id); an alert of one event has its origin on its own as well.
func TestAlertOrigins(t *testing.T) {
	t.Parallel()
	fromFile := event.Document{"log": map[string]any{"file": map[string]any{"path": `C:\cases\Sysmon.evtx`}},
		"winlog": map[string]any{"channel": "Microsoft-Windows-Sysmon/Operational", "record_id": "48211"}, "event": map[string]any{"code": "10"}}
	fromPeer := event.Document{"log.source.address": "10.0.0.7:50514", "winlog": map[string]any{"channel": "Security", "record_id": int64(7), "event_id": 4624}}
	bare := event.Document{}
	tests := []struct {
		name string
		docs []event.Document
		want []event.EventOrigin
	}{
		{"file", []event.Document{fromFile}, []event.EventOrigin{{File: `C:\cases\Sysmon.evtx`, Channel: "Microsoft-Windows-Sysmon/Operational", RecordID: "48211", EventID: "10"}}},
		{"peer, numbers", []event.Document{fromPeer}, []event.EventOrigin{{Peer: "10.0.0.7:50514", Channel: "Security", RecordID: "7", EventID: "4624"}}},
		{"sequence", []event.Document{fromFile, fromPeer, bare}, []event.EventOrigin{
			{File: `C:\cases\Sysmon.evtx`, Channel: "Microsoft-Windows-Sysmon/Operational", RecordID: "48211", EventID: "10"},
			{Peer: "10.0.0.7:50514", Channel: "Security", RecordID: "7", EventID: "4624"},
			{},
		}},
	}
	rs := &ruleState{rule: &Rule{ID: "r", Name: "R"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := buildAlert(rs, tt.docs, nil, t0, t0)
			if !reflect.DeepEqual(a.Weft.Origins, tt.want) {
				t.Errorf("origins %+v, want %+v", a.Weft.Origins, tt.want)
			}
			switch {
			case len(tt.docs) == 1 && (a.Weft.Origin == nil || *a.Weft.Origin != tt.want[0]):
				t.Errorf("origin %+v, want %+v", a.Weft.Origin, tt.want[0])
			case len(tt.docs) > 1 && a.Weft.Origin != nil:
				t.Errorf("a sequence's alert has one origin: %+v", a.Weft.Origin)
			}
			b, err := json.Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			var back event.Alert
			if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back.Weft.Origins, a.Weft.Origins) {
				t.Errorf("JSON round trip: %v, %+v", err, back.Weft.Origins)
			}
		})
	}
}
