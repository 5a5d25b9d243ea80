package correlator

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestSeedAlertGolden pins the JSON shape of the seed rule's alert, which
// is what sinks and webhook receivers see.
func TestSeedAlertGolden(t *testing.T) {
	t.Parallel()
	alerts := runAll(newSeedEngine(t, Options{}),
		sysmonNetwork("WS01", t0, 1001), sysmonProcess("WS01", t0.Add(5*time.Second), 1002))
	if len(alerts) != 1 {
		t.Fatalf("%d alerts", len(alerts))
	}
	got, err := json.MarshalIndent(alerts[0], "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "seed_alert.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run SeedAlertGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("alert JSON differs from %s (run with -update after checking the change):\n%s", path, got)
	}
}
