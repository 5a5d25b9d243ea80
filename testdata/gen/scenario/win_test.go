package scenario_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/testdata/gen/evtxwrite"
	"github.com/weft-dev/weft/testdata/gen/scenario"
)

func winConfig() scenario.Config {
	return scenario.Config{Seed: 9, Hosts: 5, Span: 90 * time.Minute, Rate: 0.5,
		Channels:     []string{scenario.ChannelSecurity, scenario.ChannelSystem, scenario.ChannelPowerShell},
		WinScenarios: append(scenario.WinAttacks(), scenario.WinNearMisses()...)}
}

// readAll reads every record of the manifest's files back with weft's
// collector, verifying each file first.
func readAll(t *testing.T, dir string, m *scenario.Manifest) []*event.Raw {
	t.Helper()
	var out []*event.Raw
	for _, f := range m.Files {
		p := filepath.Join(dir, f.Path)
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		info, _ := fh.Stat()
		if err := evtxwrite.Verify(fh, info.Size()); err != nil {
			t.Errorf("%s: %v", f.Path, err)
		}
		fh.Close()
		n := 0
		_, err = collector.ReadFile(context.Background(), p, collector.Options{}, func(r *event.Raw) error {
			out = append(out, r)
			n++
			return nil
		}, func(err error) { t.Errorf("%s: %v", f.Path, err) })
		if err != nil {
			t.Fatal(err)
		}
		if n != f.Records || info.Size() != f.Bytes {
			t.Errorf("%s: %d records, %d bytes; manifest says %d, %d", f.Path, n, info.Size(), f.Records, f.Bytes)
		}
	}
	return out
}

// TestWinLogs generates every Windows-log story into a folder and reads
// it back: each host's channel is its own file, record ids run from the
// log's first without gaps, the manifest's counts and every event of every
// story are there as it says, and attacks list alerts, near-misses none.
func TestWinLogs(t *testing.T) {
	t.Parallel()
	cfg := winConfig()
	dir := t.TempDir()
	cfg.Dir = dir
	m, err := scenario.Generate(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, dir, m)
	if len(recs) != m.Events {
		t.Fatalf("read %d records, manifest says %d events", len(recs), m.Events)
	}
	type key struct {
		host, channel string
		record        uint64
	}
	byKey := map[key]*event.Raw{}
	perLog := map[string]int{}
	byID := map[string]int{}
	for _, r := range recs {
		byKey[key{r.Computer, r.Channel, r.RecordID}] = r
		perLog[r.Computer+"|"+r.Channel]++
		byID[strconv.Itoa(int(r.EventID))]++
		if want := strings.SplitN(r.Computer, ".", 2)[0] + "-"; !strings.HasPrefix(filepath.Base(r.Origin.Path), want) {
			t.Errorf("%s event of %s in %s", r.Channel, r.Computer, r.Origin.Path)
		}
	}
	if fmt.Sprint(byID) != fmt.Sprint(m.EventsByID) {
		t.Errorf("events by id %v, manifest says %v", byID, m.EventsByID)
	}
	if len(m.Logs) != 6*4 {
		t.Errorf("%d logs, want 4 channels of 5 hosts and DC01", len(m.Logs))
	}
	for _, l := range m.Logs {
		if perLog[l.Host+"|"+l.Channel] != l.Events {
			t.Errorf("%s %s: %d events, manifest says %d", l.Host, l.Channel, perLog[l.Host+"|"+l.Channel], l.Events)
		}
		for id := l.FirstRecordID; l.Events > 0 && id <= l.LastRecordID; id++ {
			if byKey[key{l.Host, l.Channel, id}] == nil {
				t.Errorf("%s %s: record %d missing", l.Host, l.Channel, id)
				break
			}
		}
	}
	if len(m.Scenarios) != len(cfg.WinScenarios) {
		t.Fatalf("%d scenarios, want %d", len(m.Scenarios), len(cfg.WinScenarios))
	}
	for _, sc := range m.Scenarios {
		attack := sc.Kind.Attack()
		if attack == (sc.Breaks != "") || attack != (len(sc.Alerts) > 0) {
			t.Errorf("%s: breaks %q, alerts %v", sc.Kind, sc.Breaks, sc.Alerts)
		}
		if len(sc.Events) == 0 {
			t.Errorf("%s: no events", sc.Kind)
		}
		for _, e := range sc.Events {
			r := byKey[key{sc.Host, e.Channel, e.RecordID}]
			if r == nil || r.EventID != uint32(e.EventID) {
				t.Errorf("%s: event %d, record %d of %s on %s is not in the logs", sc.Kind, e.EventID, e.RecordID, e.Channel, sc.Host)
			}
		}
	}
}

// TestWinLeavesSysmonAlone: adding Windows' own logs changes no byte of
// the Sysmon logs, and the same configuration writes the same bytes again.
func TestWinLeavesSysmonAlone(t *testing.T) {
	t.Parallel()
	gen := func(channels []string, stories []scenario.WinKind) (string, *scenario.Manifest) {
		dir := t.TempDir()
		cfg := base()
		cfg.Channels, cfg.WinScenarios, cfg.Dir = channels, stories, dir
		m, err := scenario.Generate(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return dir, m
	}
	plainDir, plain := gen(nil, nil)
	all := append([]string{scenario.ChannelSysmon}, winConfig().Channels...)
	mixedDir, mixed := gen(all, winConfig().WinScenarios)
	againDir, _ := gen(all, winConfig().WinScenarios)
	for _, f := range plain.Files {
		a, _ := os.ReadFile(filepath.Join(plainDir, f.Path))
		b, err := os.ReadFile(filepath.Join(mixedDir, f.Path))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs once Windows' logs are written too (%v)", f.Path, err)
		}
	}
	if len(mixed.Alerts) != len(plain.Alerts) || len(mixed.Files) != len(plain.Files)+4*(len(mixed.Hosts)+1) {
		t.Errorf("mixed: %d alerts, %d files; plain %d, %d", len(mixed.Alerts), len(mixed.Files), len(plain.Alerts), len(plain.Files))
	}
	for _, f := range mixed.Files {
		a, _ := os.ReadFile(filepath.Join(mixedDir, f.Path))
		b, _ := os.ReadFile(filepath.Join(againDir, f.Path))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two runs wrote different bytes", f.Path)
		}
	}
}

// TestWinOneFile: in one file, as a Windows Event Collector keeps
// forwarded events, every channel's records are there in time order.
func TestWinOneFile(t *testing.T) {
	t.Parallel()
	cfg := winConfig()
	cfg.Channels = append(cfg.Channels, scenario.ChannelSysmon)
	cfg.Attacks, cfg.NearMisses = 2, scenario.NearMisses()[:3]
	dir := t.TempDir()
	cfg.File = filepath.Join(dir, "forwarded.evtx")
	m, err := scenario.Generate(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, dir, m)
	if len(m.Files) != 1 || len(recs) != m.Events {
		t.Fatalf("%d files, %d records, manifest says %d events", len(m.Files), len(recs), m.Events)
	}
	channels := map[string]bool{}
	for i, r := range recs {
		channels[r.Channel] = true
		if i > 0 && r.TimeCreated.Before(recs[i-1].TimeCreated) {
			t.Fatalf("record %d logged before the one ahead of it", i)
		}
	}
	if len(channels) != 5 || len(m.Alerts) != 2 {
		t.Errorf("channels %v, %d alerts", channels, len(m.Alerts))
	}
}

func TestWinConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  func(*scenario.Config)
		want string
	}{
		{"unknown channel", func(c *scenario.Config) { c.Channels = []string{"application"} }, `channel "application"`},
		{"stories without Security", func(c *scenario.Config) { c.Channels = []string{scenario.ChannelSystem} }, "need the security channel"},
		{"MMC attacks without Sysmon", func(c *scenario.Config) { c.Attacks = 1 }, "add the sysmon channel"},
		{"too short", func(c *scenario.Config) { c.Span = 5 * time.Minute }, "too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := winConfig()
			cfg.Dir = t.TempDir()
			tt.cfg(&cfg)
			if _, err := scenario.Generate(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}
