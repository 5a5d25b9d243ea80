package jsonevent

import (
	"testing"
	"time"

	"github.com/weft-dev/weft/collector"
)

// TestDecodeCorrelation: every JSON form carries the System block's
// Correlation ActivityID and RelatedActivityID onto the raw event as
// written, and a form without them leaves both empty.
func TestDecodeCorrelation(t *testing.T) {
	t.Parallel()
	const (
		activity = "{A895D499-2626-0001-2AD5-95A82626D901}"
		related  = "{fb13c9de-29f7-0001-18e0-13fbf729d601}"
	)
	for _, tc := range []struct {
		name, doc               string
		form                    Form
		wantActivity, wantRelat string
	}{
		{"winlogbeat", `{"@timestamp":"2026-11-20T10:15:02.118Z","winlog":{"event_id":"4624","channel":"Security","computer_name":"DC1","record_id":7,"activity_id":"` + activity + `","related_activity_id":"` + related + `"}}`,
			FormWinlogbeat, activity, related},
		{"winlogbeat flattened keys", `{"@timestamp":"2026-11-20T10:15:02.118Z","winlog.event_id":"4624","winlog.channel":"Security","winlog.computer_name":"DC1","winlog.activity_id":"` + activity + `"}`,
			FormWinlogbeat, activity, ""},
		{"winlogbeat without", `{"@timestamp":"2026-11-20T10:15:02.118Z","winlog":{"event_id":"4624","channel":"Security","computer_name":"DC1"}}`,
			FormWinlogbeat, "", ""},
		{"openwec json", `{"System":{"EventID":4624,"EventRecordID":2,"Channel":"Security","Computer":"DC1","Correlation":{"ActivityID":"` + activity + `","RelatedActivityID":"` + related + `"}}}`,
			FormOpenWEC, activity, related},
		{"openwec json empty correlation", `{"System":{"EventID":4624,"EventRecordID":2,"Channel":"Security","Computer":"DC1","Correlation":{}}}`,
			FormOpenWEC, "", ""},
		{"evtx map", `{"Event":{"System":{"EventID":"4624","EventRecordID":"2","Channel":"Security","Computer":"DC1","Correlation":{"ActivityID":"` + activity + `"}}}}`,
			FormEvtxMap, activity, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, form, err := Decode([]byte(tc.doc), collector.Options{Now: func() time.Time { return time.Unix(0, 0) }})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if form != tc.form {
				t.Errorf("form %v, want %v", form, tc.form)
			}
			if r.ActivityID != tc.wantActivity || r.RelatedActivityID != tc.wantRelat {
				t.Errorf("activity %q related %q, want %q %q", r.ActivityID, r.RelatedActivityID, tc.wantActivity, tc.wantRelat)
			}
		})
	}
}
