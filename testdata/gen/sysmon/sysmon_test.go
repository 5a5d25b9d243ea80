package sysmon_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/0xrawsec/golang-evtx/evtx"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/testdata/gen/evtxwrite"
	"github.com/weft-dev/weft/testdata/gen/sysmon"

	"github.com/weft-dev/weft/internal/repotest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestMain(m *testing.M) {
	log.SetOutput(io.Discard) // golang-evtx logs to the standard logger
	os.Exit(m.Run())
}

var (
	t0  = time.Date(2026, 11, 20, 10, 15, 2, 118456700, time.UTC)
	mmc = evtxwrite.GUID{0x3f, 0x1c, 0x9a, 0x52, 0x6b, 0x2e, 0x67, 0x39, 0xe8, 0x02, 0, 0, 0, 0, 0x1a, 0}
	cmd = evtxwrite.GUID{0x3f, 0x1c, 0x9a, 0x52, 0x6b, 0x38, 0x67, 0x39, 0xec, 0x02, 0, 0, 0, 0, 0x1a, 0}
	lg  = evtxwrite.GUID{0x3f, 0x1c, 0x9a, 0x52, 0x6b, 0x2d, 0x67, 0x39, 0x4a, 0x8f, 0xa3, 0x01, 0, 0, 0, 0}
)

// samples is one event of every kind the package writes.
func samples() []sysmon.Data {
	return []sysmon.Data{
		&sysmon.ProcessCreate{RuleName: "-", UtcTime: t0, ProcessGuid: cmd, ProcessId: 6904, Image: `C:\Windows\System32\cmd.exe`,
			FileVersion: "10.0.19041.3636 (WinBuild.160101.0800)", Description: "Windows Command Processor", Product: "Microsoft® Windows® Operating System",
			Company: "Microsoft Corporation", OriginalFileName: "Cmd.Exe", CommandLine: `"C:\Windows\System32\cmd.exe" /c whoami /all > C:\Users\Public\o.txt`,
			CurrentDirectory: `C:\Windows\system32\`, User: `CORP\adm-jdoe`, LogonGuid: lg, LogonId: 0x1a38f4a, TerminalSessionId: 0,
			IntegrityLevel: "High", Hashes: "MD5=911D039E71583A07320B32BDE22F8E22", ParentProcessGuid: mmc, ParentProcessId: 5316,
			ParentImage: `C:\Windows\System32\mmc.exe`, ParentCommandLine: `C:\Windows\system32\mmc.exe -Embedding`, ParentUser: `CORP\adm-jdoe`},
		&sysmon.NetworkConnect{RuleName: "-", UtcTime: t0, ProcessGuid: mmc, ProcessId: 5316, Image: `C:\Windows\System32\mmc.exe`,
			User: `CORP\adm-jdoe`, Protocol: "tcp", Initiated: false, SourceIp: "10.20.30.41", SourceHostname: "WKS-FIN-07.corp.example",
			SourcePort: 49703, SourcePortName: "-", DestinationIp: "10.20.30.15", DestinationHostname: "-", DestinationPort: 50112, DestinationPortName: "-"},
		&sysmon.ProcessTerminate{RuleName: "-", UtcTime: t0, ProcessGuid: cmd, ProcessId: 6904, Image: `C:\Windows\System32\cmd.exe`, User: `CORP\adm-jdoe`},
		&sysmon.ImageLoad{RuleName: "-", UtcTime: t0, ProcessGuid: mmc, ProcessId: 5316, Image: `C:\Windows\System32\mmc.exe`,
			ImageLoaded: `C:\Windows\System32\mmcndmgr.dll`, FileVersion: "10.0.19041.3636 (WinBuild.160101.0800)", Description: "MMC Node Manager DLL",
			Product: "Microsoft® Windows® Operating System", Company: "Microsoft Corporation", OriginalFileName: "mmcndmgr.dll",
			Hashes: "MD5=00", Signed: "true", Signature: "Microsoft Windows", SignatureStatus: "Valid", User: `CORP\adm-jdoe`},
		&sysmon.FileCreate{RuleName: "-", UtcTime: t0, ProcessGuid: cmd, ProcessId: 6904, Image: `C:\Windows\System32\cmd.exe`,
			TargetFilename: `C:\Users\Public\o.txt`, CreationUtcTime: t0, User: `CORP\adm-jdoe`},
		&sysmon.DNSQuery{RuleName: "-", UtcTime: t0, ProcessGuid: mmc, ProcessId: 5316, QueryName: "DC01.corp.example",
			QueryStatus: "0", QueryResults: "::ffff:10.20.0.5;", Image: `C:\Windows\System32\mmc.exe`, User: `CORP\adm-jdoe`},
	}
}

func writeSamples(t *testing.T, computer string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sysmon.evtx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := evtxwrite.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := sysmon.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range samples() {
		ev := &sysmon.Event{RecordID: uint64(48211 + i), Time: t0.Add(time.Duration(i) * time.Second), Computer: computer, ProcessID: 3188, ThreadID: 4412, Data: d}
		in, err := enc.Instance(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(evtxwrite.Record{ID: ev.RecordID, Written: ev.Time, Event: in}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestGolden renders one event of every kind through weft's collector
// and compares the XML with testdata/golden/events.xml.
func TestGolden(t *testing.T) {
	t.Parallel()
	path := writeSamples(t, "WKS-FIN-07.corp.example")
	var b strings.Builder
	_, err := collector.ReadFile(context.Background(), path, collector.Options{KeepXML: true},
		func(r *event.Raw) error { b.WriteString(r.XML + "\n"); return nil },
		func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden", "events.xml")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("rendered events differ from %s (run with -update if the change is meant):\n%s", golden, b.String())
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d       sysmon.Data
		version uint8
		n       int
		checks  map[string]evtxwrite.Type
	}{
		{samples()[0], 5, 23, map[string]evtxwrite.Type{"ProcessGuid": evtxwrite.TypeGUID, "ProcessId": evtxwrite.TypeUInt32, "LogonId": evtxwrite.TypeHexInt64, "UtcTime": evtxwrite.TypeString, "ParentUser": evtxwrite.TypeString}},
		{samples()[1], 5, 18, map[string]evtxwrite.Type{"Initiated": evtxwrite.TypeBool, "SourceIsIpv6": evtxwrite.TypeBool, "SourcePort": evtxwrite.TypeUInt16, "DestinationPort": evtxwrite.TypeUInt16}},
		{samples()[2], 3, 6, map[string]evtxwrite.Type{"ProcessGuid": evtxwrite.TypeGUID}},
		{samples()[3], 3, 16, map[string]evtxwrite.Type{"Signed": evtxwrite.TypeString}},
		{samples()[4], 2, 8, map[string]evtxwrite.Type{"CreationUtcTime": evtxwrite.TypeString}},
		{samples()[5], 5, 9, map[string]evtxwrite.Type{"QueryStatus": evtxwrite.TypeString}},
	} {
		t.Run(fmt.Sprint(tc.d.EventID()), func(t *testing.T) {
			t.Parallel()
			if v, ok := sysmon.Version(tc.d.EventID()); !ok || v != tc.version {
				t.Errorf("version %d, %v; want %d", v, ok, tc.version)
			}
			fs, err := sysmon.Fields(tc.d)
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != tc.n || fs[0].Name != "RuleName" || fs[1].Name != "UtcTime" {
				t.Errorf("%d fields starting %v", len(fs), fs[:2])
			}
			for name, typ := range tc.checks {
				i := slices.IndexFunc(fs, func(f sysmon.Field) bool { return f.Name == name })
				if i < 0 || fs[i].Type != typ {
					t.Errorf("%s: %+v, want type %v", name, fs, typ)
				}
			}
		})
	}
	if _, ok := sysmon.Version(2); ok {
		t.Error("a version for event 2, which the package does not write")
	}
	f, _ := sysmon.Fields(samples()[1])
	if f[1].Value != "2026-11-20 10:15:02.118" || f[7].Value != "false" {
		t.Errorf("UtcTime %q, Initiated %q", f[1].Value, f[7].Value)
	}
}

// TestLayoutMatchesWindows compares the templates with those of real
// Sysmon logs in the shared corpus: the System template token for token
// (dependency ids and substitution numbers and types included, Computer's
// text aside), and for each event id every EventData field of the
// richest real layout of that version, in order and with its type. Newer Sysmon adds User (and
// ParentUser); those are the only fields allowed beyond the real ones.
func TestLayoutMatchesWindows(t *testing.T) {
	t.Parallel()
	dir := corpusDir(t, "evtx-attack")
	real := map[uint16]*layout{}
	want := map[uint16]uint8{1: 5, 3: 5, 5: 3, 7: 3, 11: 2, 22: 5}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".evtx") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		// Sysmon releases share a version number across field changes:
		// compare with the richest layout of each version.
		for _, l := range layouts(data) {
			if v, ok := want[l.eventID]; ok && v == l.version && (real[l.eventID] == nil || len(l.data) > len(real[l.eventID].data)) {
				l.file = filepath.Base(path)
				real[l.eventID] = l
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(writeSamples(t, "WKS-FIN-07.corp.example"))
	if err != nil {
		t.Fatal(err)
	}
	ours := map[uint16]*layout{}
	for _, l := range layouts(data) {
		ours[l.eventID] = l
	}
	if len(ours) != len(want) {
		t.Fatalf("read back layouts of %d event ids, want %d", len(ours), len(want))
	}
	for id := range want {
		r, o := real[id], ours[id]
		if r == nil {
			t.Logf("event %d: no real log of this version in the corpus", id)
			continue
		}
		if !slices.Equal(r.system, o.system) {
			t.Errorf("event %d: System template differs from %s's:\nreal %q\nours %q", id, r.file, r.system, o.system)
		}
		j := 0
		for _, f := range o.data {
			if j < len(r.data) && f.name == r.data[j].name {
				if f.typ != r.data[j].typ {
					t.Errorf("event %d: %s is %v, %s has %v", id, f.name, f.typ, r.file, r.data[j].typ)
				}
				j++
				continue
			}
			if f.name != "User" && f.name != "ParentUser" {
				t.Errorf("event %d: field %s is not in %s's template", id, f.name, r.file)
			}
		}
		if j != len(r.data) {
			t.Errorf("event %d: %s's field %s is missing or out of order", id, r.file, r.data[j].name)
		}
	}
}

// corpusDir finds ../shared/corpus/<sub> beside the clone, or skips.
func corpusDir(t *testing.T, sub string) string {
	return repotest.Shared(t, filepath.Join("corpus", sub))
}

type dataField struct {
	name string
	typ  evtxwrite.Type
}

// layout is the template shape of one Sysmon record.
type layout struct {
	file    string
	eventID uint16
	version uint8
	system  []string
	data    []dataField
}

// layouts reads the template shape of the first record of every Sysmon
// (event id, version) in an EVTX file, with golang-evtx's parser.
func layouts(data []byte) []*layout {
	var out []*layout
	seen := map[[2]int]bool{}
	for off := evtxwrite.FileHeaderSize; off+evtxwrite.ChunkSize <= len(data); off += evtxwrite.ChunkSize {
		c := data[off : off+evtxwrite.ChunkSize]
		if !bytes.HasPrefix(c, []byte("ElfChnk\x00")) {
			continue
		}
		free := int(binary.LittleEndian.Uint32(c[48:]))
		for p := 512; p+28 < free && p+28 < len(c); {
			size := int(binary.LittleEndian.Uint32(c[p+4:]))
			if size <= 0 || !bytes.HasPrefix(c[p:], []byte("**\x00\x00")) {
				break
			}
			if l := recordLayout(c, p); l != nil && !seen[[2]int{int(l.eventID), int(l.version)}] {
				seen[[2]int{int(l.eventID), int(l.version)}] = true
				out = append(out, l)
			}
			p += size
		}
	}
	return out
}

func recordLayout(c []byte, p int) (l *layout) {
	defer func() {
		if recover() != nil { // golang-evtx panics on shapes it does not expect
			l = nil
		}
	}()
	ch := evtx.NewChunk()
	ch.Data = c
	r := bytes.NewReader(c)
	if _, err := r.Seek(int64(p+24), io.SeekStart); err != nil {
		return nil
	}
	el, _ := evtx.Parse(r, &ch, false)
	frag, ok := el.(*evtx.Fragment)
	if !ok {
		return nil
	}
	ti, ok := frag.BinXMLElement.(*evtx.TemplateInstance)
	if !ok || len(ti.Data.Values) < 18 || fmt.Sprint(ti.Data.Values[14]) != sysmon.Provider {
		return nil
	}
	id, ok1 := ti.Data.Values[3].(*evtx.ValueUInt16)
	ver, ok2 := ti.Data.Values[11].(*evtx.ValueUInt8)
	nested, ok3 := ti.Data.Values[17].(*evtx.Fragment)
	if !ok1 || !ok2 || !ok3 {
		return nil
	}
	inner, ok := nested.BinXMLElement.(*evtx.TemplateInstance)
	if !ok {
		return nil
	}
	l = &layout{eventID: id.Value().(uint16), version: ver.Value().(uint8), system: shape(ti.Definition.Data.Elements)}
	// EventData: each <Data Name="x"> followed by its substitution.
	name := ""
	for _, e := range inner.Definition.Data.Elements {
		switch v := e.(type) {
		case *evtx.ElementStart:
			for _, a := range v.AttributeList.Attributes {
				if a.Name.String() == "Name" {
					name = fmt.Sprint(a.AttributeData.(*evtx.ValueText))
				}
			}
		case *evtx.NormalSubstitution:
			l.data = append(l.data, dataField{name, evtxwrite.Type(v.ValType)})
		case *evtx.OptionalSubstitution:
			l.data = append(l.data, dataField{name, evtxwrite.Type(v.ValType)})
		}
	}
	return l
}

// shape lists a template's tokens: elements with their dependency ids and
// attributes, substitutions with their index and type, and text, except
// Computer's, which names the machine.
func shape(elems []evtx.Element) []string {
	var out []string
	inComputer := false
	for _, e := range elems {
		switch v := e.(type) {
		case *evtx.ElementStart:
			s := fmt.Sprintf("<%s dep=%d", v.Name.String(), v.DepID)
			for _, a := range v.AttributeList.Attributes {
				s += " " + a.Name.String() + "=" + strings.Join(shape([]evtx.Element{a.AttributeData}), "")
			}
			out = append(out, s+">")
			inComputer = v.Name.String() == "Computer"
		case *evtx.BinXMLEndElementTag:
			out = append(out, "</>")
		case *evtx.BinXMLCloseEmptyElementTag:
			out = append(out, "/>")
		case *evtx.ValueText:
			if inComputer {
				out = append(out, "text(computer)")
			} else {
				out = append(out, fmt.Sprintf("text(%q)", v.String()))
			}
		case *evtx.OptionalSubstitution:
			out = append(out, fmt.Sprintf("opt(%d,%#x)", v.SubID, uint8(v.ValType)))
		case *evtx.NormalSubstitution:
			out = append(out, fmt.Sprintf("sub(%d,%#x)", v.SubID, uint8(v.ValType)))
		}
	}
	return out
}

func TestEncoderErrors(t *testing.T) {
	t.Parallel()
	enc, err := sysmon.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Instance(&sysmon.Event{RecordID: 9}); err == nil || !strings.Contains(err.Error(), "record 9 has no event data") {
		t.Errorf("no data: %v", err)
	}
}
