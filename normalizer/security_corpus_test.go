package normalizer_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/internal/repotest"
	"github.com/weft-dev/weft/normalizer"
)

// corpusFile is ../shared/corpus/<rel>; the test is skipped when it is
// absent.
func corpusFile(t *testing.T, rel string) string {
	t.Helper()
	path := filepath.Join(repotest.Root(t), "..", "shared", "corpus", rel)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("corpus file %s absent (%v); skipping", path, err)
	}
	return path
}

// normalizeFile reads an EVTX file and normalizes every event.
func normalizeFile(t *testing.T, path string) []map[string]any {
	t.Helper()
	n := normalizer.New()
	var docs []map[string]any
	_, err := collector.ReadFile(context.Background(), path, collector.Options{},
		func(r *event.Raw) error {
			doc, err := n.Normalize(r)
			if err != nil {
				t.Errorf("%s record %d: %v", path, r.RecordID, err)
			}
			docs = append(docs, doc)
			return nil
		}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// TestSecurityEVTX runs what the issue asks of real Security logs: network
// logons are authentication events with event.action logged-in and
// winlog.logon.type Network, and process creations (4688) carry
// process.executable and process.parent.executable.
func TestSecurityEVTX(t *testing.T) {
	t.Parallel()
	t.Run("network logons", func(t *testing.T) {
		t.Parallel()
		docs := normalizeFile(t, corpusFile(t, "evtx-dirty/security.evtx"))
		network := 0
		for _, d := range docs {
			doc := event.Document(d)
			if doc.String("event.code") != "4624" {
				continue
			}
			cats, _ := doc.Get("event.category")
			if doc.String("event.action") != "logged-in" || !contains(cats, "authentication") || doc.String("event.outcome") != "success" {
				t.Fatalf("4624 record %s: action %q, category %v, outcome %q", doc.String("winlog.record_id"),
					doc.String("event.action"), cats, doc.String("event.outcome"))
			}
			if doc.String("winlog.logon.type") == "Network" {
				network++
				if doc.String("user.name") == "" || doc.String("user.id") == "" {
					t.Errorf("network logon record %s has no user.name or user.id", doc.String("winlog.record_id"))
				}
			}
		}
		// security.evtx holds 39 network logons (LogonType 3).
		if network != 39 {
			t.Errorf("%d network logons, want 39", network)
		}
	})
	t.Run("process creations", func(t *testing.T) {
		t.Parallel()
		docs := normalizeFile(t, corpusFile(t, "evtx-attack/Credential Access/tutto_malseclogon.evtx"))
		created := 0
		for _, d := range docs {
			doc := event.Document(d)
			if doc.String("event.code") != "4688" {
				continue
			}
			created++
			for _, f := range []string{"process.executable", "process.name", "process.parent.executable", "process.parent.name", "user.name"} {
				if doc.String(f) == "" {
					t.Errorf("4688 record %s: no %s", doc.String("winlog.record_id"), f)
				}
			}
			if _, ok := doc.Get("process.pid"); !ok {
				t.Errorf("4688 record %s: no process.pid", doc.String("winlog.record_id"))
			}
		}
		if created != 6 {
			t.Errorf("%d process creations, want 6", created)
		}
	})
}

func contains(list any, s string) bool {
	l, _ := list.([]any)
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}
