package normalizer_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/weft-dev/weft/normalizer"
)

// Some of Elastic's pipeline tests keep only the -expected.json: the input
// (test-security-windows2012r2-logon.json, …) was never stored. For these
// orphans the harness rebuilds the Winlogbeat document from the expected
// one, keeping only what Winlogbeat sends, and compares only the fields the
// pipeline derives. A field copied into the input, or put back into
// event_data from the field the pipeline moved it to, would compare with
// itself: it is input-only and not compared.

// elasticWinlogbeatFields are the fields of an expected document that
// Winlogbeat sends and the pipeline passes on unchanged: they make the
// rebuilt input and are input-only. A name ending in ".*" covers the
// object and everything under it.
var elasticWinlogbeatFields = []string{
	"@timestamp",
	"event.code",     // Winlogbeat sets it from the System EventID
	"event.kind",     // Winlogbeat sets "event" on every event
	"event.provider", // Winlogbeat's copy of the Provider name
	"log.level",      // Winlogbeat renders the System Level
	"message",        // rendered by Winlogbeat on Windows
	"tags",           // the shipper's, or the test config's fields: (preserve_duplicate_custom_fields); no pipeline sets them
	"winlog.api",
	"winlog.channel",
	"winlog.computer_name",
	"winlog.event_data.*", // less elasticDerivedEventData, below
	"winlog.event_id",
	"winlog.keywords",
	"winlog.opcode",
	"winlog.process.*",
	"winlog.provider_guid",
	"winlog.provider_name",
	"winlog.record_id",
	"winlog.task",
	"winlog.user.*",
	"winlog.user_data.*",
	"winlog.activity_id",
	"winlog.version",
}

// elasticDerivedEventData are the winlog.event_data keys the reference
// pipeline (standard.yml) adds rather than reads: they are left out of
// the rebuilt input and compared. Sd…Owner, Sd…Group, Sd…DaclN and
// Sd…SaclN are the security-descriptor script's.
var elasticDerivedEventData = regexp.MustCompile(`^(NewUACList|TicketOptionsDescription|TicketEncryptionTypeDescription|StatusDescription|Category|SubCategory|AuditPolicyChangesDescription|AccessListDescription|DirectionDescription|LayerNameDescription|AccessMaskDescription|SidListDesc|RemoteMachineDescription|RemoteUserDescription|.*Sd(Owner|Group|Dacl[0-9]+|Sacl[0-9]+))$`)

// elasticMovedEventData are the event_data values the reference pipeline
// removes once it has copied them to an ECS field (standard.yml's "Rename
// Common Auth Fields", "Rename Network Fields" and "Rename 4688 Fields"
// scripts). Where an expected document has the ECS field and not the key,
// the rebuilt input gets the key back from it; both are then input-only,
// and what the pipeline makes of them further (process.name,
// related.ip…) is compared.
var elasticMovedEventData = []struct {
	codes []string // event codes the script runs for
	key   string   // winlog.event_data key
	field string   // ECS field the pipeline moves it to
	hex   bool     // Windows writes the number in hex (Long.decode reads it)
}{
	{commonAuthCodes, "ProcessId", "process.pid", true},
	{commonAuthCodes, "ProcessName", "process.executable", false},
	{commonAuthCodes, "IpAddress", "source.ip", false},
	{commonAuthCodes, "IpPort", "source.port", false},
	{commonAuthCodes, "WorkstationName", "source.domain", false},
	{networkCodes, "Application", "process.executable", false},
	{networkCodes, "DestAddress", "destination.ip", false},
	{networkCodes, "SourceAddress", "source.ip", false},
	{networkCodes, "DestPort", "destination.port", false},
	{networkCodes, "SourcePort", "source.port", false},
	{[]string{"4688"}, "NewProcessId", "process.pid", true},
	{[]string{"4688"}, "NewProcessName", "process.executable", false},
	{[]string{"4688"}, "ParentProcessName", "process.parent.executable", false},
}

var (
	commonAuthCodes = strings.Fields(`1100 1102 1104 1105 1108 4624 4648 4625 4670 4673 4674 4689 4697 4719 4720 4722
		4723 4724 4725 4726 4727 4728 4729 4730 4731 4732 4733 4734 4735 4737 4738 4740 4741 4742 4743 4744 4745 4746
		4747 4748 4749 4750 4751 4752 4753 4754 4755 4756 4757 4758 4759 4760 4761 4762 4763 4764 4767 4768 4769 4770
		4771 4798 4799 4817 4904 4905 4907 4912 5140 5145`)
	networkCodes = []string{"5152", "5156", "5157", "5158"}
)

// elasticNumericInputs are the fields Winlogbeat sends as numbers and the
// pipeline turns into strings: the rebuilt input has them as numbers.
var elasticNumericInputs = []string{"winlog.event_id", "winlog.record_id"}

// rebuildInput returns the Winlogbeat document behind the expected one and
// the (flattened) fields that are input-only.
func rebuildInput(want map[string]any) (map[string]any, map[string]bool) {
	flat := map[string]any{}
	flattenDoc("", want, flat)
	inputOnly := map[string]bool{}
	in := map[string]any{}
	for k, v := range flat {
		if !slices.ContainsFunc(elasticWinlogbeatFields, func(p string) bool { return fieldMatches(p, k) }) {
			continue
		}
		if key, ok := strings.CutPrefix(k, "winlog.event_data."); ok {
			if elasticDerivedEventData.MatchString(key) {
				continue
			}
			// A list is a value the pipeline split (PrivilegeList,
			// SidList, AccessList…): Windows writes it on lines.
			if l, ok := v.([]any); ok {
				parts := make([]string, len(l))
				for i, x := range l {
					parts[i] = fmt.Sprint(x)
				}
				v = strings.Join(parts, "\n\t\t\t")
			}
		}
		if slices.Contains(elasticNumericInputs, k) {
			if s, ok := v.(string); ok {
				v = json.Number(s)
			}
		}
		inputOnly[k] = true
		setPath(in, k, v)
	}
	code, _ := flat["event.code"].(string)
	for _, m := range elasticMovedEventData {
		key := "winlog.event_data." + m.key
		v, ok := flat[m.field]
		if _, kept := flat[key]; kept || !ok || !slices.Contains(m.codes, code) {
			continue
		}
		s := fmt.Sprint(v)
		if m.hex {
			var n uint64
			if _, err := fmt.Sscan(s, &n); err == nil {
				s = fmt.Sprintf("0x%x", n)
			}
		}
		setPath(in, key, s)
		inputOnly[key] = true
		inputOnly[m.field] = true
	}
	return in, inputOnly
}

// setPath sets the dotted name in doc, making the objects on the way.
func setPath(doc map[string]any, name string, v any) {
	// "@timestamp" and event_data keys hold no dots of their own.
	parts := strings.Split(name, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := doc[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			doc[p] = next
		}
		doc = next
	}
	doc[parts[len(parts)-1]] = v
}

// loadOrphanTests reads the expected documents of the orphans
// ("<stream>/<name>-expected.json", as loadPipelineTests lists them), each
// as a pipelineTest whose events are rebuilt from them.
func loadOrphanTests(root string, orphans []string) ([]orphanTest, error) {
	var tests []orphanTest
	for _, o := range orphans {
		stream, name, _ := strings.Cut(o, "/")
		i := slices.IndexFunc(elasticPipelineDirs, func(d string) bool {
			return filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(d)))) == stream
		})
		if i < 0 {
			return nil, fmt.Errorf("%s: no data stream %q", o, stream)
		}
		dir := filepath.Join(root, filepath.FromSlash(elasticPipelineDirs[i]))
		var want struct{ Expected []map[string]any }
		if err := readJSONFile(filepath.Join(dir, name), &want); err != nil {
			return nil, err
		}
		pt := pipelineTest{stream: stream, name: name, expected: want.Expected, dynamic: map[string]bool{}, numericKeyword: map[string]bool{}}
		if b, err := os.ReadFile(filepath.Join(dir, "test-common-config.yml")); err == nil {
			var cfg pipelineConfig
			if err := yaml.Unmarshal(b, &cfg); err != nil {
				return nil, fmt.Errorf("%s/test-common-config.yml: %w", dir, err)
			}
			for _, f := range cfg.DynamicFields {
				pt.dynamic[f] = true
			}
			for _, f := range cfg.NumericKeywordFields {
				pt.numericKeyword[f] = true
			}
		}
		ot := orphanTest{pipelineTest: pt}
		for _, w := range want.Expected {
			in, only := rebuildInput(w)
			ot.events = append(ot.events, in)
			ot.inputOnly = append(ot.inputOnly, only)
		}
		tests = append(tests, ot)
	}
	return tests, nil
}

// orphanTest is an orphan's expected documents with the inputs rebuilt
// from them and, for each, its input-only fields.
type orphanTest struct {
	pipelineTest
	inputOnly []map[string]bool
}

// orphanTally counts an orphan data stream's comparison.
type orphanTally struct{ files, events, compared, equal, known int }

// runOrphanTests compares weft's documents for the rebuilt inputs with the
// expected ones, as TestElasticPipelineTests does for stored inputs, and
// marks the elasticKnownDiffs keys it uses and the files it compares.
func runOrphanTests(t *testing.T, n *normalizer.Normalizer, tests []orphanTest, used, compared map[string]bool) map[string]*orphanTally {
	t.Helper()
	sums := map[string]*orphanTally{}
	for i := range tests {
		ot := &tests[i]
		s := sums[ot.stream]
		if s == nil {
			s = &orphanTally{}
			sums[ot.stream] = s
		}
		s.files++
		compared[ot.stream+"/"+ot.name] = true
		var report []string
		for ev, in := range ot.events {
			s.events++
			in, completed := completeInput(in)
			got, err := weftPipelineDocument(n, in)
			if err != nil {
				t.Errorf("%s/%s event %d (rebuilt input): %v", ot.stream, ot.name, ev, err)
				continue
			}
			diffs, c := compareDocs(&ot.pipelineTest, ev, ot.expected[ev], got, mergeSkip(completed, ot.inputOnly[ev]))
			s.compared += c
			s.equal += c - len(diffs)
			for _, d := range diffs {
				if key, ok := knownDiff(&ot.pipelineTest, d); ok {
					used[key] = true
					s.known++
					continue
				}
				report = append(report, d.String())
			}
		}
		if len(report) > 0 {
			t.Errorf("%s/%s (input rebuilt from the expected documents): %d derived fields differ:\n\t%s", ot.stream, ot.name, len(report), strings.Join(report, "\n\t"))
		}
	}
	return sums
}

// mergeSkip returns the union of the fields not to compare.
func mergeSkip(a, b map[string]bool) map[string]bool {
	if len(a) == 0 {
		return b
	}
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// TestRebuildInput checks the Winlogbeat document rebuilt from an expected
// one: what Winlogbeat sends is kept and input-only, what the pipeline adds
// is dropped, moved event_data keys come back in Windows' spelling, and
// numbers Winlogbeat sends as numbers are numbers again.
func TestRebuildInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		want      string // expected document
		in        string // rebuilt input
		inputOnly []string
	}{
		{
			name: "4624 moved fields",
			want: `{"@timestamp":"2019-03-29T21:10:40.380Z","event":{"code":"4624","action":"logged-in","kind":"event"},
				"process":{"executable":"C:\\Windows\\System32\\winlogon.exe","name":"winlogon.exe","pid":448},
				"source":{"ip":"127.0.0.1","port":0,"domain":"VAGRANT"},"related":{"ip":["127.0.0.1"]},
				"winlog":{"channel":"Security","event_id":"4624","record_id":"1542","logon":{"type":"Interactive"},
					"event_data":{"LogonType":"2"}}}`,
			in: `{"@timestamp":"2019-03-29T21:10:40.380Z","event":{"code":"4624","kind":"event"},
				"winlog":{"channel":"Security","event_id":4624,"record_id":1542,
					"event_data":{"LogonType":"2","ProcessId":"0x1c0","ProcessName":"C:\\Windows\\System32\\winlogon.exe",
						"IpAddress":"127.0.0.1","IpPort":"0","WorkstationName":"VAGRANT"}}}`,
			inputOnly: []string{"@timestamp", "event.code", "event.kind", "winlog.channel", "winlog.event_id", "winlog.record_id",
				"winlog.event_data.LogonType", "winlog.event_data.ProcessId", "winlog.event_data.ProcessName",
				"winlog.event_data.IpAddress", "winlog.event_data.IpPort", "winlog.event_data.WorkstationName",
				"process.pid", "process.executable", "source.ip", "source.port", "source.domain"},
		},
		{
			name: "4768 derived descriptions and split lists",
			want: `{"event":{"code":"4768"},"winlog":{"event_data":{"TicketOptions":"0x40810010",
				"TicketOptionsDescription":["Forwardable"],"StatusDescription":"KDC_ERR_NONE","PrivilegeList":["SeA","SeB"],
				"OldSdDacl0":"x"}}}`,
			in:        `{"event":{"code":"4768"},"winlog":{"event_data":{"TicketOptions":"0x40810010","PrivilegeList":"SeA\n\t\t\tSeB"}}}`,
			inputOnly: []string{"event.code", "winlog.event_data.TicketOptions", "winlog.event_data.PrivilegeList"},
		},
		{
			name:      "a key the pipeline kept is not rebuilt",
			want:      `{"event":{"code":"4688"},"process":{"pid":4556},"winlog":{"event_data":{"NewProcessId":"0x11cc"}}}`,
			in:        `{"event":{"code":"4688"},"winlog":{"event_data":{"NewProcessId":"0x11cc"}}}`,
			inputOnly: []string{"event.code", "winlog.event_data.NewProcessId"},
		},
	}
	decode := func(t *testing.T, s string) map[string]any {
		t.Helper()
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, only := rebuildInput(decode(t, tt.want))
			if want := decode(t, tt.in); !reflect.DeepEqual(in, want) {
				t.Errorf("input:\n got %v\nwant %v", in, want)
			}
			if got := slices.Sorted(maps.Keys(only)); !slices.Equal(got, slices.Sorted(slices.Values(tt.inputOnly))) {
				t.Errorf("input-only:\n got %v\nwant %v", got, slices.Sorted(slices.Values(tt.inputOnly)))
			}
		})
	}
}
