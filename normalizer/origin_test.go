package normalizer

import (
	"testing"

	"github.com/weft-dev/weft/event"
)

// TestSetOrigin: with SetOrigin a document says where its event was read —
// log.file.path for a file, log.source.address for a forwarded event,
// nothing for standard input — in the map and the msgpack forms alike;
// without it the document is what Elastic's pipelines store.
func TestSetOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		origin     event.Origin
		on         bool
		file, peer string
	}{
		{"file", event.Origin{Kind: event.SourceEVTX, Path: `C:\cases\Sysmon.evtx`, Chunk: 2, Offset: 65536}, true, `C:\cases\Sysmon.evtx`, ""},
		{"peer", event.Origin{Kind: event.SourceXML, Listener: "tcp 127.0.0.1:5140", Peer: "10.0.0.7:50514"}, true, "", "10.0.0.7:50514"},
		{"stdin", event.Origin{Kind: event.SourceXML, Path: "-"}, true, "", ""},
		{"off", event.Origin{Kind: event.SourceEVTX, Path: `C:\cases\Sysmon.evtx`}, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &event.Raw{Provider: "Microsoft-Windows-Sysmon", EventID: 5, Channel: "Microsoft-Windows-Sysmon/Operational",
				Computer: "WS01", RecordID: 7, Origin: tt.origin, Data: []event.Field{{Name: "Image", Value: `C:\x.exe`}}}
			n := New()
			n.SetOrigin(tt.on)
			doc, _ := n.Normalize(r)
			if got := doc.String("log.file.path"); got != tt.file {
				t.Errorf("log.file.path %q, want %q", got, tt.file)
			}
			if got := doc.String("log.source.address"); got != tt.peer {
				t.Errorf("log.source.address %q, want %q", got, tt.peer)
			}
			// The stage publishes msgpack: the same fields.
			checkStageEncodes(t, n, r, doc)
		})
	}
}
