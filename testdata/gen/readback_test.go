package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/0xrawsec/golang-evtx/evtx"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/testdata/gen/evtxwrite"
	"github.com/weft-dev/weft/testdata/gen/sysmon"
)

// The System fields compared, with their BinXML types.
var systemFields = []struct {
	name string
	typ  evtxwrite.Type
}{
	{"Provider", evtxwrite.TypeString}, {"ProviderGuid", evtxwrite.TypeGUID}, {"EventID", evtxwrite.TypeUInt16},
	{"Version", evtxwrite.TypeUInt8}, {"Level", evtxwrite.TypeUInt8}, {"Task", evtxwrite.TypeUInt16},
	{"Opcode", evtxwrite.TypeUInt8}, {"Keywords", evtxwrite.TypeHexInt64}, {"TimeCreated", evtxwrite.TypeFileTime},
	{"EventRecordID", evtxwrite.TypeUInt64}, {"ProcessID", evtxwrite.TypeUInt32}, {"ThreadID", evtxwrite.TypeUInt32},
	{"Channel", evtxwrite.TypeString}, {"Computer", evtxwrite.TypeString}, {"UserID", evtxwrite.TypeSID},
}

// readRecord is one record as a reader rendered it: System fields by
// name, EventData in the reader's order (by name for golang-evtx, which
// keeps no order).
type readRecord struct {
	system map[string]string
	data   []sysmon.Field // Type unset: the reader's strings
}

// want is what a record must read back as, every value rendered as
// evtxwrite.Value.String does.
func want(t *testing.T, ev *sysmon.Event) (map[string]string, []sysmon.Field) {
	t.Helper()
	id := ev.Data.EventID()
	ver, _ := sysmon.Version(id)
	sys := map[string]string{
		"Provider":      sysmon.Provider,
		"ProviderGuid":  sysmon.ProviderGUID().String(),
		"EventID":       strconv.Itoa(int(id)),
		"Version":       strconv.Itoa(int(ver)),
		"Level":         strconv.Itoa(sysmon.Level),
		"Task":          strconv.Itoa(int(id)),
		"Opcode":        strconv.Itoa(sysmon.Opcode),
		"Keywords":      evtxwrite.HexInt64(sysmon.Keywords).String(),
		"TimeCreated":   evtxwrite.FileTime(ev.Time).String(),
		"EventRecordID": strconv.FormatUint(ev.RecordID, 10),
		"ProcessID":     strconv.FormatUint(uint64(ev.ProcessID), 10),
		"ThreadID":      strconv.FormatUint(uint64(ev.ThreadID), 10),
		"Channel":       sysmon.Channel,
		"Computer":      ev.Computer,
		"UserID":        sysmon.UserSID,
	}
	fields, err := sysmon.Fields(ev.Data)
	if err != nil {
		t.Fatal(err)
	}
	return sys, fields
}

// compare checks every record a reader read against what was written;
// it stops at a few differences per file.
func compare(t *testing.T, reader, file string, written []observed, read []readRecord, ordered bool) {
	t.Helper()
	if len(read) != len(written) {
		t.Errorf("%s read %d records of %s, %d were written", reader, len(read), file, len(written))
		return
	}
	bad := 0
	fail := func(i int, format string, args ...any) {
		if bad++; bad <= 5 {
			t.Errorf("%s, %s record %d (id %d): %s", reader, file, i, written[i].id, fmt.Sprintf(format, args...))
		}
	}
	for i, w := range written {
		sys, fields := want(t, &w.ev)
		r := read[i]
		for _, f := range systemFields {
			got, err := evtxwrite.Canonical(f.typ, r.system[f.name])
			if err != nil || got != sys[f.name] {
				fail(i, "%s = %q (%v), want %q", f.name, r.system[f.name], err, sys[f.name])
			}
		}
		if len(r.data) != len(fields) {
			fail(i, "%d EventData fields, want %d", len(r.data), len(fields))
			continue
		}
		byName := map[string]string{}
		for j, d := range r.data {
			byName[d.Name] = d.Value
			if ordered && d.Name != fields[j].Name {
				fail(i, "EventData field %d is %s, want %s", j, d.Name, fields[j].Name)
			}
		}
		for _, f := range fields {
			raw, ok := byName[f.Name]
			got, err := evtxwrite.Canonical(f.Type, raw)
			if !ok || err != nil || got != f.Value {
				fail(i, "%s = %q (%v), want %q", f.Name, raw, err, f.Value)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s, %s: %d differences in all", reader, file, bad)
	}
}

// readCollector reads with weft's collector.
func readCollector(t *testing.T, path string) []readRecord {
	t.Helper()
	var out []readRecord
	_, err := collector.ReadFile(context.Background(), path, collector.Options{}, func(r *event.Raw) error {
		rr := readRecord{system: map[string]string{
			"Provider": r.Provider, "ProviderGuid": r.ProviderGUID, "EventID": fmt.Sprint(r.EventID),
			"Version": fmt.Sprint(r.Version), "Level": fmt.Sprint(r.Level), "Task": fmt.Sprint(r.Task),
			"Opcode": fmt.Sprint(r.Opcode), "Keywords": r.Keywords, "TimeCreated": r.TimeCreated.Format(time.RFC3339Nano),
			"EventRecordID": fmt.Sprint(r.RecordID), "ProcessID": fmt.Sprint(r.ProcessID), "ThreadID": fmt.Sprint(r.ThreadID),
			"Channel": r.Channel, "Computer": r.Computer, "UserID": r.UserSID,
		}}
		for _, f := range r.Data {
			rr.data = append(rr.data, sysmon.Field{Name: f.Name, Value: f.Value})
		}
		out = append(out, rr)
		return nil
	}, func(err error) { t.Errorf("collector: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readGolangEvtx reads with golang-evtx's own file API, as its evtxdump
// does.
func readGolangEvtx(t *testing.T, path string) []readRecord {
	t.Helper()
	ef, err := evtx.Open(path)
	if err != nil {
		t.Fatalf("golang-evtx: %v", err)
	}
	defer ef.Close()
	var out []readRecord
	str := func(v any) string {
		switch x := v.(type) {
		case nil:
			return ""
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano)
		case evtx.UTCTime:
			return time.Time(x).UTC().Format(time.RFC3339Nano)
		}
		return fmt.Sprint(v)
	}
	get := func(m evtx.GoEvtxMap, keys ...string) string {
		var cur any = m
		for _, k := range keys {
			mm, ok := cur.(evtx.GoEvtxMap)
			if !ok {
				return ""
			}
			cur = mm[k]
		}
		return str(cur)
	}
	for m := range ef.FastEvents() {
		sys := func(k ...string) string { return get(*m, append([]string{"Event", "System"}, k...)...) }
		rr := readRecord{system: map[string]string{
			"Provider": sys("Provider", "Name"), "ProviderGuid": sys("Provider", "Guid"), "EventID": sys("EventID"),
			"Version": sys("Version"), "Level": sys("Level"), "Task": sys("Task"), "Opcode": sys("Opcode"),
			"Keywords": sys("Keywords"), "TimeCreated": sys("TimeCreated", "SystemTime"), "EventRecordID": sys("EventRecordID"),
			"ProcessID": sys("Execution", "ProcessID"), "ThreadID": sys("Execution", "ThreadID"), "Channel": sys("Channel"),
			"Computer": sys("Computer"), "UserID": sys("Security", "UserID"),
		}}
		if data, ok := (*m)["Event"].(evtx.GoEvtxMap)["EventData"].(evtx.GoEvtxMap); ok {
			names := make([]string, 0, len(data))
			for k := range data {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				rr.data = append(rr.data, sysmon.Field{Name: k, Value: str(data[k])})
			}
		}
		out = append(out, rr)
	}
	return out
}

// evtxexportEvent is an event in the XML evtxexport (libevtx) writes.
type evtxexportEvent struct {
	System struct {
		Provider struct {
			Name string `xml:"Name,attr"`
			Guid string `xml:"Guid,attr"`
		}
		EventID, Version, Level, Task, Opcode, Keywords string
		TimeCreated                                     struct {
			SystemTime string `xml:"SystemTime,attr"`
		}
		EventRecordID string
		Execution     struct {
			ProcessID string `xml:"ProcessID,attr"`
			ThreadID  string `xml:"ThreadID,attr"`
		}
		Channel, Computer string
		Security          struct {
			UserID string `xml:"UserID,attr"`
		}
	}
	EventData struct {
		Data []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		}
	}
}

// readEvtxexport reads with Debian's evtxexport (libevtx-utils).
func readEvtxexport(t *testing.T, bin, path string) []readRecord {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-f", "xml", path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("evtxexport %s: %v\n%s", path, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("evtxexport %s complained:\n%s", path, stderr.String())
	}
	// A banner line, then one <Event> after another.
	text := stdout.String()
	start := strings.Index(text, "<Event")
	if start < 0 {
		return nil
	}
	dec := xml.NewDecoder(strings.NewReader("<Events>" + text[start:] + "</Events>"))
	var doc struct {
		Events []evtxexportEvent `xml:"Event"`
	}
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("evtxexport's XML for %s: %v", path, err)
	}
	var out []readRecord
	for _, e := range doc.Events {
		s := e.System
		rr := readRecord{system: map[string]string{
			"Provider": s.Provider.Name, "ProviderGuid": s.Provider.Guid, "EventID": s.EventID, "Version": s.Version,
			"Level": s.Level, "Task": s.Task, "Opcode": s.Opcode, "Keywords": s.Keywords,
			"TimeCreated": s.TimeCreated.SystemTime, "EventRecordID": s.EventRecordID, "ProcessID": s.Execution.ProcessID,
			"ThreadID": s.Execution.ThreadID, "Channel": s.Channel, "Computer": s.Computer, "UserID": s.Security.UserID,
		}}
		for _, d := range e.EventData.Data {
			rr.data = append(rr.data, sysmon.Field{Name: d.Name, Value: d.Value})
		}
		out = append(out, rr)
	}
	return out
}

// TestReadBack writes every fixture's scenario and a larger one (several
// hosts, hundreds of chunks) and reads every record back with three
// independent readers: weft's collector, golang-evtx's file API and
// libevtx's evtxexport. Each must find every record with the values
// written. Without evtxexport on PATH (Debian: apt-get install
// libevtx-utils) that reader is skipped, except in CI, where it must be
// there.
func TestReadBack(t *testing.T) {
	t.Parallel()
	bin, lookErr := exec.LookPath("evtxexport")
	if lookErr != nil && os.Getenv("CI") == "true" {
		t.Fatalf("evtxexport not found in CI (%v): .ci/run installs libevtx-utils", lookErr)
	}
	runs := fixtureCommands(t)
	runs = append(runs, []string{"-seed", "11", "-hosts", "3", "-span", "90m", "-rate", "1", "-attacks", "3", "-near-misses", "all", "-dir", "large"})
	for _, args := range runs {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			g := generate(t, args, t.TempDir())
			for rel, written := range g.records {
				path := filepath.Join(g.dir, rel)
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				info, err := f.Stat()
				if err == nil {
					err = evtxwrite.Verify(f, info.Size())
				}
				f.Close()
				if err != nil {
					t.Errorf("%s: %v", rel, err)
				}
				compare(t, "collector", rel, written, readCollector(t, path), true)
				compare(t, "golang-evtx", rel, written, readGolangEvtx(t, path), false)
				if lookErr == nil {
					compare(t, "evtxexport", rel, written, readEvtxexport(t, bin, path), true)
				}
			}
			if strings.Contains(strings.Join(args, " "), "-dir large") {
				chunks := 0
				for _, f := range g.manifest.Files {
					chunks += f.Chunks
				}
				if chunks < 100 || len(g.records) != 3 {
					t.Errorf("the large scenario has %d files and %d chunks; it is meant to span many", len(g.records), chunks)
				}
			}
		})
	}
	if lookErr != nil {
		t.Skipf("evtxexport not found (%v); the collector and golang-evtx read everything back (apt-get install libevtx-utils for the third reader)", lookErr)
	}
}
