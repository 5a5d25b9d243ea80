package collector

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sameGUID compares the raw event's GUID, in the decoder's form
// (5770385F-C22A-…), with the rendered XML's ({5770385f-c22a-…}); the
// normalizer puts both in the latter.
func sameGUID(raw, xml string) bool {
	return strings.EqualFold(strings.Trim(raw, "{}"), strings.Trim(xml, "{}"))
}

// correlationAttr finds an attribute of <Correlation> in rendered XML.
var correlationAttr = regexp.MustCompile(`<Correlation(?: ActivityID="([^"]*)")?(?: RelatedActivityID="([^"]*)")?/>`)

// TestReadEVTXCorrelation: the System block's Correlation ActivityID and
// RelatedActivityID reach the raw event on both EVTX paths, the planned
// one (straight to raw events) and the element one (which renders the
// XML), and say what the rendered XML says. Each file holds events with an
// ActivityID (Security logons, System service events); the test fails if
// none is found. (No corpus event has a RelatedActivityID.)
func TestReadEVTXCorrelation(t *testing.T) {
	t.Parallel()
	attack, dirty := corpusDir(t, "evtx-attack"), corpusDir(t, "evtx-dirty")
	for _, path := range []string{
		filepath.Join(attack, "Lateral Movement", "ImpersonateUser-via local Pass The Hash Sysmon and Security.evtx"),
		filepath.Join(attack, "Credential Access", "tutto_malseclogon.evtx"),
		filepath.Join(dirty, "system.evtx"),
	} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			read := func(keepXML bool) *result {
				emit, report, res := collect(t)
				if _, err := ReadFile(context.Background(), path, Options{KeepXML: keepXML, Now: fixedNow}, emit, report); err != nil {
					t.Fatal(err)
				}
				return res
			}
			planned, elements := read(false), read(true)
			if len(planned.events) != len(elements.events) {
				t.Fatalf("%d events planned, %d with XML", len(planned.events), len(elements.events))
			}
			withActivity, withRelated := 0, 0
			for i, e := range elements.events {
				p := planned.events[i]
				if p.ActivityID != e.ActivityID || p.RelatedActivityID != e.RelatedActivityID {
					t.Errorf("record %d: planned %q %q, elements %q %q", e.RecordID, p.ActivityID, p.RelatedActivityID, e.ActivityID, e.RelatedActivityID)
				}
				// Classic events have no <Correlation>: both stay empty.
				m := correlationAttr.FindStringSubmatch(e.XML)
				if m == nil {
					m = make([]string, 3)
				}
				if !sameGUID(e.ActivityID, m[1]) || !sameGUID(e.RelatedActivityID, m[2]) {
					t.Errorf("record %d: activity %q related %q, XML has %q %q", e.RecordID, e.ActivityID, e.RelatedActivityID, m[1], m[2])
				}
				if e.ActivityID != "" {
					withActivity++
				}
				if e.RelatedActivityID != "" {
					withRelated++
				}
			}
			t.Logf("%d events, %d with an ActivityID, %d with a RelatedActivityID", len(elements.events), withActivity, withRelated)
			if withActivity == 0 {
				t.Error("no event with an ActivityID")
			}
		})
	}
}
