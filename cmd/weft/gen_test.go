package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/testdata/gen/scenario"
)

// sequenceKey identifies an alert of the seed rule, or the injected
// sequence it must come from: the host, mmc.exe's and the child's entity
// ids, and the record ids of the connection and of the child.
type sequenceKey struct {
	host, mmc, child string
	netRecord        string
	childRecord      string
}

func (k sequenceKey) String() string {
	return fmt.Sprintf("%s mmc %s child %s (records %s, %s)", k.host, k.mmc, k.child, k.netRecord, k.childRecord)
}

func manifestKeys(m *scenario.Manifest) []sequenceKey {
	var out []sequenceKey
	for _, a := range m.Alerts {
		out = append(out, sequenceKey{a.Host, a.MMCEntityID, a.ChildEntityID, fmt.Sprint(a.NetworkRecordID), fmt.Sprint(a.ChildRecordID)})
	}
	return sortKeys(out)
}

func sortKeys(ks []sequenceKey) []sequenceKey {
	slices.SortFunc(ks, func(a, b sequenceKey) int { return strings.Compare(a.String(), b.String()) })
	return ks
}

// alertKeys reads the keys of the alerts hunt --json printed, checking
// each is the seed rule's and holds the network event then the child.
func alertKeys(t *testing.T, out string, ruleID string) []sequenceKey {
	t.Helper()
	var keys []sequenceKey
	for _, a := range decodeAlerts(t, out) {
		if got := field(a, "rule.id"); got != ruleID {
			t.Errorf("alert of rule %v, want %s", got, ruleID)
		}
		events, _ := field(a, "weft.events").([]any)
		if len(events) != 2 {
			t.Errorf("alert with %d events, want 2", len(events))
			continue
		}
		net, _ := events[0].(map[string]any)
		child, _ := events[1].(map[string]any)
		keys = append(keys, sequenceKey{
			host:        fmt.Sprint(field(a, "host.name")),
			mmc:         fmt.Sprint(field(net, "process.entity_id")),
			child:       fmt.Sprint(field(child, "process.entity_id")),
			netRecord:   fmt.Sprint(field(net, "winlog.record_id")),
			childRecord: fmt.Sprint(field(child, "winlog.record_id")),
		})
	}
	return sortKeys(keys)
}

// huntManifest runs weft hunt over a scenario's files and checks that it
// raises exactly the manifest's alerts, reading every event.
func huntManifest(t *testing.T, ctx context.Context, m *scenario.Manifest, dir string) {
	t.Helper()
	args := []string{"hunt", "--json"}
	for _, f := range m.Files {
		args = append(args, filepath.Join(dir, f.Path))
	}
	code, out, errOut := runWeft(t, ctx, nil, args...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	got, want := alertKeys(t, out, m.Rule.ID), manifestKeys(m)
	if !slices.Equal(got, want) {
		t.Errorf("alerts differ from the manifest\ngot  %v\nwant %v", got, want)
	}
	summary := fmt.Sprintf("%d events, %s, 0 errors", m.Events, plural(len(m.Alerts), "alert"))
	if !strings.Contains(errOut, summary) {
		t.Errorf("summary does not say %q:\n%s", summary, errOut)
	}
}

// TestHuntSynthesized runs hunt over every synthesized fixture and over a
// freshly generated domain (a file per host, attacks among every kind of
// near-miss): each must raise exactly the alerts its manifest lists.
func TestHuntSynthesized(t *testing.T) {
	t.Parallel()
	manifests, err := filepath.Glob("../../testdata/evtx/*.json")
	if err != nil {
		t.Fatal(err)
	}
	more, err := filepath.Glob("../../testdata/evtx/*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	manifests = append(manifests, more...)
	if len(manifests) < 3 {
		t.Fatalf("found %d fixture manifests under testdata/evtx", len(manifests))
	}
	for _, path := range manifests {
		t.Run(filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			m, err := scenario.ReadManifest(path)
			if err != nil {
				t.Fatal(err)
			}
			huntManifest(t, testContext(t), m, filepath.Dir(path))
		})
	}
	t.Run("generated", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		m, err := scenario.Generate(context.Background(), scenario.Config{
			Seed: 20261120, Hosts: 5, Span: 45 * time.Minute, Rate: 1, Attacks: 4,
			NearMisses: append(scenario.NearMisses(), scenario.NearMisses()...), Dir: dir,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Alerts) != 4 || len(m.Files) != 5 {
			t.Fatalf("generated %d files, %d alerts", len(m.Files), len(m.Alerts))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		huntManifest(t, ctx, m, dir)
	})
}

// TestHuntSynthesizedDamaged: a damaged record of a synthesized file
// costs that record, reported, and nothing else: the attack in the rest
// of the file still raises its alert.
func TestHuntSynthesizedDamaged(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../testdata/evtx/mmc-positive.evtx")
	if err != nil {
		t.Fatal(err)
	}
	m, err := scenario.ReadManifest("../../testdata/evtx/mmc-positive.json")
	if err != nil {
		t.Fatal(err)
	}
	a := m.Alerts[0]
	// Damage the BinXML of the last record of the first chunk, unless it
	// is part of the attack: no later record refers to what it defines.
	c := data[4096:]
	last := binary.LittleEndian.Uint64(c[32:])
	if last == a.NetworkRecordID || last == a.ChildRecordID {
		t.Fatalf("the attack ends the first chunk")
	}
	c[binary.LittleEndian.Uint32(c[44:])+24] = 0xff // the fragment header token
	path := filepath.Join(t.TempDir(), "damaged.evtx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runWeft(t, testContext(t), nil, "hunt", "--json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The collector may also report the chunk's records checksum, which
	// the damage breaks; how many errors it counts is its own business.
	if summary := fmt.Sprintf("%d events, 1 alert, ", m.Events-1); !strings.Contains(errOut, summary) {
		t.Errorf("summary does not say %q:\n%s", summary, errOut)
	}
	if want := fmt.Sprintf("record %d", last); !strings.Contains(errOut, want) {
		t.Errorf("the error does not name %s:\n%s", want, errOut)
	}
	if got, want := alertKeys(t, out, m.Rule.ID), manifestKeys(m); !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
}
