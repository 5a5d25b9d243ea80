package normalizer

import (
	"testing"

	"github.com/weft-dev/weft/event"
)

// TestActivityID: the System block's Correlation ActivityID and
// RelatedActivityID become winlog.activity_id and
// winlog.related_activity_id in one form, braced and lower case, whether
// the event came from EVTX (the decoder's bare upper case), Windows' XML
// rendering or Winlogbeat's JSON; a value that is no GUID is kept as
// written, and an event without Correlation gets neither field.
func TestActivityID(t *testing.T) {
	t.Parallel()
	const want = "{a895d499-2626-0001-2ad5-95a82626d901}"
	winlogbeat := func(activity, related string) *event.Raw {
		t.Helper()
		w := map[string]any{"channel": "Security", "computer_name": "DC1", "event_id": "4624", "record_id": "7", "provider_name": "Microsoft-Windows-Security-Auditing"}
		if activity != "" {
			w["activity_id"] = activity
		}
		if related != "" {
			w["related_activity_id"] = related
		}
		doc := map[string]any{"@timestamp": "2026-11-20T10:15:02.118Z", "winlog": w}
		r, err := FromWinlogbeat(doc)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	raw := func(activity, related string) *event.Raw {
		r := processCreate()
		r.ActivityID, r.RelatedActivityID = activity, related
		return r
	}
	for _, tc := range []struct {
		name                  string
		r                     *event.Raw
		activity, related     string
		hasActivity, hasRelat bool
	}{
		{"evtx decoder form", raw("A895D499-2626-0001-2AD5-95A82626D901", "A895D499-2626-0001-2AD5-95A82626D901"), want, want, true, true},
		{"xml upper case", raw("{A895D499-2626-0001-2AD5-95A82626D901}", ""), want, "", true, false},
		{"xml lower case", raw(want, ""), want, "", true, false},
		{"winlogbeat", winlogbeat("{A895D499-2626-0001-2AD5-95A82626D901}", want), want, want, true, true},
		{"winlogbeat without", winlogbeat("", ""), "", "", false, false},
		{"not a guid", raw("not-a-guid", ""), "not-a-guid", "", true, false},
		{"none", raw("", ""), "", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc, _ := New().Normalize(tc.r)
			for _, f := range []struct {
				path string
				want string
				has  bool
			}{{"winlog.activity_id", tc.activity, tc.hasActivity}, {"winlog.related_activity_id", tc.related, tc.hasRelat}} {
				got, ok := doc.Get(f.path)
				if ok != f.has || (ok && got != f.want) {
					t.Errorf("%s = %#v (%v), want %q (%v)", f.path, got, ok, f.want, f.has)
				}
			}
		})
	}
}
