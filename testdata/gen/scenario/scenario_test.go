package scenario_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weft-dev/weft/testdata/gen/evtxwrite"
	"github.com/weft-dev/weft/testdata/gen/scenario"
	"github.com/weft-dev/weft/testdata/gen/sysmon"
)

// record is one written record, as Observe saw it.
type record struct {
	file string
	id   uint64
	ev   sysmon.Event
}

// run generates cfg into a temporary folder (or file) and returns the
// manifest and every record in the order written, per file.
func run(t *testing.T, cfg scenario.Config, single bool) (*scenario.Manifest, map[string][]record, string) {
	t.Helper()
	dir := t.TempDir()
	if single {
		cfg.File = filepath.Join(dir, "all.evtx")
	} else {
		cfg.Dir = dir
	}
	var mu sync.Mutex
	recs := map[string][]record{}
	cfg.Observe = func(file string, id uint64, ev *sysmon.Event) {
		mu.Lock()
		defer mu.Unlock()
		recs[file] = append(recs[file], record{file, id, *ev})
	}
	m, err := scenario.Generate(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
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
		if info.Size() != f.Bytes || len(recs[f.Path]) != f.Records {
			t.Errorf("%s: %d bytes, %d records; manifest says %d, %d", f.Path, info.Size(), len(recs[f.Path]), f.Bytes, f.Records)
		}
	}
	return m, recs, dir
}

func base() scenario.Config {
	return scenario.Config{Seed: 7, Hosts: 3, Span: 30 * time.Minute, Rate: 2, Attacks: 3, NearMisses: scenario.NearMisses()}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	for _, single := range []bool{false, true} {
		name := "per-host"
		if single {
			name = "one file"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m1, _, d1 := run(t, base(), single)
			m2, _, d2 := run(t, base(), single)
			if !reflect.DeepEqual(m1, m2) {
				t.Error("manifests differ between two runs")
			}
			for _, f := range m1.Files {
				b1, err1 := os.ReadFile(filepath.Join(d1, f.Path))
				b2, err2 := os.ReadFile(filepath.Join(d2, f.Path))
				if err1 != nil || err2 != nil || !bytes.Equal(b1, b2) {
					t.Errorf("%s differs between two runs (%v, %v)", f.Path, err1, err2)
				}
			}
			other := base()
			other.Seed = 8
			m3, _, _ := run(t, other, single)
			if reflect.DeepEqual(m1.Alerts, m3.Alerts) {
				t.Error("another seed gave the same attacks")
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		edit func(*scenario.Config)
		want string
	}{
		{"no hosts", func(c *scenario.Config) { c.Hosts = 0 }, "hosts 0"},
		{"no span", func(c *scenario.Config) { c.Span = 0 }, "span 0s"},
		{"negative rate", func(c *scenario.Config) { c.Rate = -1 }, "rate -1"},
		{"negative attacks", func(c *scenario.Config) { c.Attacks = -1 }, "attacks -1"},
		{"both outputs", func(c *scenario.Config) { c.File = filepath.Join(dir, "x.evtx") }, "exactly one of File"},
		{"no output", func(c *scenario.Config) { c.Dir = "" }, "exactly one of File"},
		{"short span", func(c *scenario.Config) { c.Span = 10 * time.Minute }, "too short to inject"},
		{"other-host alone", func(c *scenario.Config) { c.Hosts = 1; c.NearMisses = []scenario.Kind{scenario.OtherHost} }, "needs at least 2 hosts"},
		{"attack as near-miss", func(c *scenario.Config) { c.NearMisses = []scenario.Kind{scenario.Attack} }, "not a near-miss"},
		{"unknown near-miss", func(c *scenario.Config) { c.NearMisses = []scenario.Kind{"sideways"} }, "not a near-miss"},
		{"too many", func(c *scenario.Config) { c.Attacks = 100000 }, "injections: at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := base()
			cfg.Dir = filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			tc.edit(&cfg)
			_, err := scenario.Generate(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	if _, err := scenario.ParseKind("late-child"); err != nil {
		t.Error(err)
	}
	if _, err := scenario.ParseKind("early-child"); err == nil {
		t.Error("ParseKind accepted early-child")
	}
}

// index finds events by host and EventRecordID.
type index map[string]map[uint64]*sysmon.Event

func indexOf(recs map[string][]record) index {
	ix := index{}
	for _, rs := range recs {
		for i := range rs {
			ev := &rs[i].ev
			if ix[ev.Computer] == nil {
				ix[ev.Computer] = map[uint64]*sysmon.Event{}
			}
			ix[ev.Computer][ev.RecordID] = ev
		}
	}
	return ix
}

// condition is one condition of the seed rule, evaluated here on Sysmon's
// own fields, independently of weft.
type condition struct {
	name  string
	holds func(host string, n *sysmon.NetworkConnect, childHost string, c *sysmon.ProcessCreate) bool
}

func conditions() []condition {
	loopback := map[string]bool{"127.0.0.1": true, "::1": true, "0:0:0:0:0:0:0:1": true}
	return []condition{
		{"tcp", func(_ string, n *sysmon.NetworkConnect, _ string, _ *sysmon.ProcessCreate) bool {
			return n.Protocol == "tcp"
		}},
		{"incoming", func(_ string, n *sysmon.NetworkConnect, _ string, _ *sysmon.ProcessCreate) bool { return !n.Initiated }},
		{"source port", func(_ string, n *sysmon.NetworkConnect, _ string, _ *sysmon.ProcessCreate) bool {
			return n.SourcePort >= 49152
		}},
		{"destination port", func(_ string, n *sysmon.NetworkConnect, _ string, _ *sysmon.ProcessCreate) bool {
			return n.DestinationPort >= 49152
		}},
		{"not loopback", func(_ string, n *sysmon.NetworkConnect, _ string, _ *sysmon.ProcessCreate) bool {
			return !loopback[n.SourceIp]
		}},
		{"mmc", func(_ string, n *sysmon.NetworkConnect, _ string, _ *sysmon.ProcessCreate) bool {
			return strings.HasSuffix(strings.ToLower(n.Image), `\mmc.exe`)
		}},
		{"parent", func(_ string, n *sysmon.NetworkConnect, _ string, c *sysmon.ProcessCreate) bool {
			return c.ParentProcessGuid == n.ProcessGuid && strings.HasSuffix(strings.ToLower(c.ParentImage), `\mmc.exe`)
		}},
		{"order", func(_ string, n *sysmon.NetworkConnect, _ string, c *sysmon.ProcessCreate) bool {
			return c.UtcTime.After(n.UtcTime)
		}},
		{"maxspan", func(_ string, n *sysmon.NetworkConnect, _ string, c *sysmon.ProcessCreate) bool {
			return c.UtcTime.Truncate(time.Millisecond).Sub(n.UtcTime.Truncate(time.Millisecond)) <= time.Minute
		}},
		{"same host", func(h string, _ *sysmon.NetworkConnect, ch string, _ *sysmon.ProcessCreate) bool { return h == ch }},
	}
}

// broken is the condition each near-miss must break, and only it.
var broken = map[scenario.Kind][]string{
	scenario.LowPort:     {"source port"},
	scenario.LowPeerPort: {"destination port"},
	scenario.Loopback:    {"not loopback"},
	scenario.LoopbackV6:  {"not loopback"},
	scenario.Outgoing:    {"incoming"},
	scenario.UDP:         {"tcp"},
	scenario.OtherMMC:    {"parent"},
	scenario.LateChild:   {"maxspan"},
	scenario.OtherHost:   {"same host"},
	scenario.ChildFirst:  {"order"},
}

// TestEachNearMissBreaksOneCondition evaluates the rule's conditions on
// the events the manifest points at.
func TestEachNearMissBreaksOneCondition(t *testing.T) {
	t.Parallel()
	m, recs, _ := run(t, base(), false)
	ix := indexOf(recs)
	if len(m.Alerts) != 3 || len(m.NearMisses) != len(scenario.NearMisses()) {
		t.Fatalf("%d alerts, %d near-misses", len(m.Alerts), len(m.NearMisses))
	}
	for _, inj := range append(append([]scenario.Injection{}, m.Alerts...), m.NearMisses...) {
		t.Run(string(inj.Kind)+"@"+inj.NetworkTime.Format("15:04:05"), func(t *testing.T) {
			ne, ce := ix[inj.Host][inj.NetworkRecordID], ix[inj.ChildHost][inj.ChildRecordID]
			if ne == nil || ce == nil {
				t.Fatalf("manifest points at records %s/%d and %s/%d, not in the logs", inj.Host, inj.NetworkRecordID, inj.ChildHost, inj.ChildRecordID)
			}
			n, ok1 := ne.Data.(*sysmon.NetworkConnect)
			c, ok2 := ce.Data.(*sysmon.ProcessCreate)
			if !ok1 || !ok2 {
				t.Fatalf("records are %T and %T", ne.Data, ce.Data)
			}
			if n.ProcessGuid.String() != inj.MMCEntityID || c.ProcessGuid.String() != inj.ChildEntityID {
				t.Errorf("manifest entity ids %s %s, events %s %s", inj.MMCEntityID, inj.ChildEntityID, n.ProcessGuid, c.ProcessGuid)
			}
			var failed []string
			for _, cond := range conditions() {
				if !cond.holds(ne.Computer, n, ce.Computer, c) {
					failed = append(failed, cond.name)
				}
			}
			if !reflect.DeepEqual(failed, broken[inj.Kind]) {
				t.Errorf("%s breaks %v, want exactly %v", inj.Kind, failed, broken[inj.Kind])
			}
			if img := strings.ToLower(c.Image); !strings.HasSuffix(img, `\cmd.exe`) && !strings.HasSuffix(img, `\powershell.exe`) {
				t.Errorf("child is %s", c.Image)
			}
		})
	}
}

// TestBackground checks that background activity looks like Windows and
// never comes near the rule: no incoming TCP to mmc.exe at all; every
// process's parent started before it; no event of a process after it
// ended; the rate as asked.
func TestBackground(t *testing.T) {
	t.Parallel()
	cfg := scenario.Config{Seed: 3, Hosts: 5, Span: 2 * time.Hour, Rate: 1}
	m, recs, _ := run(t, cfg, false)
	want := cfg.Rate * cfg.Span.Seconds() * float64(cfg.Hosts)
	if got := float64(m.Events); got < 0.85*want || got > 1.15*want {
		t.Errorf("%v events, want about %v", got, want)
	}
	for _, id := range []string{"1", "3", "5", "7", "11", "22"} {
		if m.EventsByID[id] == 0 {
			t.Errorf("no event %s in the background", id)
		}
	}
	for file, rs := range recs {
		started := map[evtxwrite.GUID]time.Time{}
		ended := map[evtxwrite.GUID]time.Time{}
		images := map[string]bool{}
		for i, r := range rs {
			if i > 0 && (r.ev.Time.Before(rs[i-1].ev.Time) || r.id != rs[i-1].id+1 || r.ev.RecordID != r.id) {
				t.Fatalf("%s: record %d (id %d, %v) after %d (%v): want consecutive ids in log order", file, i, r.id, r.ev.Time, rs[i-1].id, rs[i-1].ev.Time)
			}
			var guid evtxwrite.GUID
			var at time.Time
			switch d := r.ev.Data.(type) {
			case *sysmon.ProcessCreate:
				images[d.Image] = true
				if ps, ok := started[d.ParentProcessGuid]; ok && !ps.Before(d.UtcTime) {
					t.Errorf("%s: %s started %v, its parent %v", file, d.Image, d.UtcTime, ps)
				}
				if _, dup := started[d.ProcessGuid]; dup {
					t.Errorf("%s: ProcessGuid %s started twice", file, d.ProcessGuid)
				}
				started[d.ProcessGuid] = d.UtcTime
				guid, at = d.ProcessGuid, d.UtcTime
			case *sysmon.NetworkConnect:
				if strings.HasSuffix(d.Image, `\mmc.exe`) && !d.Initiated && d.Protocol == "tcp" {
					t.Errorf("%s: background has incoming TCP to mmc.exe: %+v", file, d)
				}
				guid, at = d.ProcessGuid, d.UtcTime
			case *sysmon.ProcessTerminate:
				if _, dup := ended[d.ProcessGuid]; dup {
					t.Errorf("%s: %s ended twice", file, d.ProcessGuid)
				}
				ended[d.ProcessGuid] = d.UtcTime
				continue
			case *sysmon.ImageLoad:
				guid, at = d.ProcessGuid, d.UtcTime
			case *sysmon.FileCreate:
				guid, at = d.ProcessGuid, d.UtcTime
			case *sysmon.DNSQuery:
				guid, at = d.ProcessGuid, d.UtcTime
			}
			if e, ok := ended[guid]; ok && at.After(e) {
				t.Errorf("%s: %T of %s at %v, after it ended at %v", file, r.ev.Data, guid, at, e)
			}
			if s, ok := started[guid]; ok && at.Before(s) {
				t.Errorf("%s: %T of %s at %v, before it started at %v", file, r.ev.Data, guid, at, s)
			}
		}
		for _, img := range []string{`C:\Windows\System32\svchost.exe`, `C:\Windows\System32\taskhostw.exe`, `C:\Windows\System32\cmd.exe`} {
			if !images[img] {
				t.Errorf("%s: no %s started in two hours", file, img)
			}
		}
	}
}

// TestOneFile checks the Windows Event Collector layout: the file's own
// record ids, each host's EventRecordIDs.
func TestOneFile(t *testing.T) {
	t.Parallel()
	m, recs, _ := run(t, base(), true)
	rs := recs["all.evtx"]
	if len(m.Files) != 1 || len(rs) != m.Events || len(m.Hosts) != 3 {
		t.Fatalf("%d files, %d records, %d events, %d hosts", len(m.Files), len(rs), m.Events, len(m.Hosts))
	}
	next := map[string]uint64{}
	for _, h := range m.Hosts {
		next[h.Name] = h.FirstRecordID
		if h.File != "all.evtx" || h.LastRecordID-h.FirstRecordID+1 != uint64(h.Events) {
			t.Errorf("host %+v", h)
		}
	}
	for i, r := range rs {
		if r.id != uint64(i+1) {
			t.Fatalf("record %d has header id %d", i, r.id)
		}
		if r.ev.RecordID != next[r.ev.Computer] {
			t.Fatalf("record %d: %s EventRecordID %d, want %d", i, r.ev.Computer, r.ev.RecordID, next[r.ev.Computer])
		}
		next[r.ev.Computer]++
		if i > 0 && r.ev.Time.Before(rs[i-1].ev.Time) {
			t.Fatalf("record %d logged before the one before it", i)
		}
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := base()
	cfg.Dir = t.TempDir()
	if _, err := scenario.Generate(ctx, cfg); err == nil {
		t.Error("Generate ran to the end with a cancelled context")
	}
}
