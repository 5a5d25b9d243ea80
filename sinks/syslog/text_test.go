package syslog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks/internal/alerttest"
)

// C1 controls, bidi controls and the line and paragraph separators reach
// structured-data values as their code points, as C0 controls reach them
// as pictures; the message holds none of them raw (MSG escapes them as
// \uXXXX, which decodes to the original text).
func TestInvisibleCharacters(t *testing.T) {
	t.Parallel()
	for _, r := range []rune{0x85, 0x9b, 0x80, 0x9f, 0x061c, 0x200e, 0x200f, 0x202a, 0x202e, 0x2066, 0x2069, 0x2028, 0x2029} {
		t.Run(fmt.Sprintf("U+%04X", r), func(t *testing.T) {
			t.Parallel()
			evil := "a" + string(r) + "b"
			a := alerttest.Seed("cmd.exe /c " + evil)
			a.Host.Name = "WKS" + evil
			rcv := newTCPReceiver(t)
			s := newSink(t, Config{Network: "tcp", Address: rcv.ln.Addr().String()})
			if err := s.Send(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			msg := rcv.next(t).msg
			if strings.Contains(string(msg), evil[1:len(evil)-1]) {
				t.Errorf("%q reaches the receiver raw: %.200q", evil, msg)
			}
			m, err := rfc5424.NewParser().Parse(msg)
			if err != nil {
				t.Fatalf("go-syslog: %v", err)
			}
			sd := (*m.(*rfc5424.SyslogMessage).StructuredData)[DefaultSDID]
			shown := fmt.Sprintf("a[U+%04X]b", r)
			if sd["command_line"] != "cmd.exe /c "+shown || sd["host"] != "WKS"+shown {
				t.Errorf("command_line %q, host %q, want %q in both", sd["command_line"], sd["host"], shown)
			}
			var back event.Alert
			if err := json.Unmarshal([]byte(*m.(*rfc5424.SyslogMessage).Message), &back); err != nil {
				t.Fatal(err)
			}
			if back.Host.Name != a.Host.Name {
				t.Errorf("MSG host.name %q, want the original %q", back.Host.Name, a.Host.Name)
			}
		})
	}
}
