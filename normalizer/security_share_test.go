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
