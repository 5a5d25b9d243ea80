package normalizer

import (
	"testing"
	"time"

	"github.com/weft-dev/weft/event"
)

// TestShareFileTemplates checks 5140/5145's file.path and file.target_path:
// set processors with {{…}} templates, whose values Elasticsearch escapes
// for JSON (a backslash doubled) around the template's own separator, as
// Elastic's expected documents show.
func TestShareFileTemplates(t *testing.T) {
	t.Parallel()
	r := &event.Raw{
		Provider: securityProvider, Channel: "Security", Computer: "FS01", EventID: 5145, RecordID: 1,
		TimeCreated: time.Date(2021, 6, 10, 14, 22, 35, 0, time.UTC), Keywords: "0x8020000000000000",
		Data: []event.Field{
			{Name: "ShareName", Value: `\\*\Documents`},
			{Name: "ShareLocalPath", Value: `C:\Shares\Documents`},
			{Name: "RelativeTargetName", Value: `\reports\Q1\summary.docx`},
		},
	}
	doc, err := New().Normalize(r)
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{
		"file.name":        `\reports\Q1\summary.docx`,
		"file.directory":   `C:\Shares\Documents`,
		"file.path":        `C:\\Shares\\Documents\\\reports\\Q1\\summary.docx`,
		"file.target_path": `\\\\*\\Documents\\\reports\\Q1\\summary.docx`,
		"file.extension":   "docx",
	} {
		if got := doc.String(field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
}

// TestLookupMissesAreNull checks the scripts that put params[value]: a
// value their table lacks gives a null, which Elasticsearch keeps and
// Elastic's expected documents show, in the document and in the msgpack
// the stage publishes alike.
func TestLookupMissesAreNull(t *testing.T) {
	t.Parallel()
	raw := func(id uint32, data ...event.Field) *event.Raw {
		return &event.Raw{
			Provider: securityProvider, Channel: "Security", Computer: "DC01", EventID: id, RecordID: 2,
			TimeCreated: time.Date(2024, 3, 5, 14, 0, 0, 0, time.UTC), Keywords: "0x8010000000000000", Data: data,
		}
	}
	tests := []struct {
		name  string
		raw   *event.Raw
		null  []string
		named map[string]string
	}{
		{"unknown encryption type and status",
			raw(4769, event.Field{Name: "TicketEncryptionType", Value: "0x99"}, event.Field{Name: "Status", Value: "0x99"}),
			[]string{"winlog.event_data.TicketEncryptionTypeDescription", "winlog.event_data.StatusDescription"}, nil},
		{"known ones are named",
			raw(4769, event.Field{Name: "TicketEncryptionType", Value: "0x12"}, event.Field{Name: "Status", Value: "0x0"}),
			nil, map[string]string{"winlog.event_data.TicketEncryptionTypeDescription": "AES256-CTS-HMAC-SHA1-96", "winlog.event_data.StatusDescription": "KDC_ERR_NONE"}},
		{"a remote machine and user the SID table lacks, and one it has",
			raw(4688, event.Field{Name: "RemoteMachineID", Value: "S-1-5-21-1-2-3-1105"}, event.Field{Name: "RemoteUserID", Value: "S-1-5-18"}),
			[]string{"winlog.event_data.RemoteMachineDescription"}, map[string]string{"winlog.event_data.RemoteUserDescription": "Local System"}},
		{"unknown service type",
			raw(4697, event.Field{Name: "ServiceName", Value: "svc"}, event.Field{Name: "ServiceType", Value: "0x3"}),
			[]string{"service.type"}, map[string]string{"service.name": "svc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := New()
			doc, _ := n.Normalize(tt.raw)
			for _, f := range tt.null {
				if v, ok := doc.Get(f); !ok || v != nil {
					t.Errorf("%s = %v (present %v), want null", f, v, ok)
				}
			}
			for f, want := range tt.named {
				if got := doc.String(f); got != want {
					t.Errorf("%s = %q, want %q", f, got, want)
				}
			}
			checkStageEncodes(t, New(), tt.raw, doc)
		})
	}
}
