package normalizer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/normalizer"
)

// elasticIntegrationsEnv names a checkout of github.com/elastic/integrations
// (or a mirror of its pipeline test folders). Its tests are Elastic's
// license, so they are read from there and never copied into this repo.
const elasticIntegrationsEnv = "WEFT_ELASTIC_INTEGRATIONS"

// elasticPipelineDirs are the data streams whose ingest pipelines weft
// follows, each with the `elastic-package test pipeline` files Elastic
// keeps for it: test-*.json (Winlogbeat's documents) and
// test-*.json-expected.json (what the pipeline makes of them).
var elasticPipelineDirs = []string{
	"packages/windows/data_stream/forwarded/_dev/test/pipeline",
	"packages/windows/data_stream/powershell/_dev/test/pipeline",
	"packages/windows/data_stream/powershell_operational/_dev/test/pipeline",
	"packages/windows/data_stream/sysmon_operational/_dev/test/pipeline",
	"packages/system/data_stream/security/_dev/test/pipeline",
	"packages/system/data_stream/system/_dev/test/pipeline",
}

// elasticSkippedFields are fields of Elastic's expected documents that
// weft does not produce, or produces differently, by design. They are left
// out of the comparison on both sides. A name ending in ".*" covers the
// object and everything under it.
var elasticSkippedFields = []struct{ field, why string }{
	{"event.ingested", "set by Elasticsearch at ingest time; weft has no Elasticsearch"},
	{"agent.*", "set by the Beat or Elastic Agent that shipped the event; weft has no agent"},
	{"log.file.*", "Filebeat's input metadata from the test's own recording, not part of the event"},
	{"input.*", "Filebeat's input metadata from the test's own recording, not part of the event"},
	{"host.*", "set by the shipping Beat from its own machine; weft derives host.* from the event's Computer (README: host.id)"},
	{"ecs.version", "the expected files were written under many package versions (1.x–8.x); weft sets the reference pipeline's version"},
	{"event.created", "Winlogbeat sets it to the time it read the event and the test inputs carry none; weft sets it to the event's TimeCreated"},
	{"winlog.level", "Winlogbeat's copy of log.level passed through from the recorded input; weft writes log.level"},
	{"winlog.outcome", "Winlogbeat's copy of event.outcome passed through from the recorded input; weft writes event.outcome"},
	{"winlog.time_created", "Winlogbeat's copy of TimeCreated passed through from the recorded input; weft writes @timestamp"},
	{"message", "rendered by Winlogbeat on Windows from the provider's message table; weft has no message tables (README: Not produced)"},
	{"winlog.api", "the Windows API Winlogbeat read the event with; weft reads no Windows API"},
	{"source.geo.*", "GeoIP: no database offline"},
	{"source.as.*", "GeoIP ASN: no database offline"},
	{"destination.geo.*", "GeoIP: no database offline"},
	{"destination.as.*", "GeoIP ASN: no database offline"},
}

// elasticCaseInsensitiveFields are compared without case, each for its reason.
var elasticCaseInsensitiveFields = []struct{ field, why string }{
	{"winlog.provider_guid", "Windows renders a provider's GUID in the case its manifest spells it; weft writes every GUID in one case so that an event read from EVTX, XML or Winlogbeat's JSON gives one document (README: One event, one document)"},
	{"winlog.activity_id", "a GUID, which weft writes in one case as it does the provider's (README: One event, one document); a few inputs carry it in upper case, passed on as written"},
}

// elasticKnownDiffs are differences between weft and Elastic's expected
// documents that are known and not yet (or never to be) removed, each with
// its reason. A key is "<data stream>/<test file>" (every difference in
// the file) or "<data stream>/<test file>#<field>" (".*" suffix: the field
// and everything under it). An entry that matches no difference fails the
// test, so the list only shrinks as weft gets closer.
var elasticKnownDiffs = map[string]string{
	// Version skew: weft follows the pipelines in
	// ../shared/reference/elastic-windows/, and read_file's stored
	// expected files were written by other versions of them.
	"forwarded/test-security-1100.json#winlog.channel":                                                                                                                           "version skew: the input is from a later commit that lower-cases the channel to test default.yml's case-insensitive routing; the expected file predates it, and no pipeline rewrites winlog.channel",
	"forwarded/test-security-4670-windowssrv2016.json#winlog.event_data.ObjectName":                                                                                              skewDash,
	"forwarded/test-security-4746-user.json#winlog.event_data.PrivilegeList":                                                                                                     skewDash,
	"forwarded/test-security-4746.json#winlog.event_data.PrivilegeList":                                                                                                          skewDash,
	"forwarded/test-security-4749.json#winlog.event_data.PrivilegeList,winlog.event_data.SidHistory":                                                                             skewDash,
	"forwarded/test-security-4750.json#winlog.event_data.PrivilegeList,winlog.event_data.SidHistory":                                                                             skewDash,
	"forwarded/test-security-4751.json#winlog.event_data.PrivilegeList":                                                                                                          skewDash,
	"forwarded/test-security-4746-user.json#user.target.domain":                                                                                                                  skewMemberDomain,
	"forwarded/test-security-4746.json#user.target.domain":                                                                                                                       skewMemberDomain,
	"forwarded/test-security-4751.json#user.target.domain":                                                                                                                       skewMemberDomain,
	"forwarded/test-security-4699-scheduled-task-deleted-with-xml.json#winlog.scheduled_task.actions[*].definition":                                                              skewTaskDefinition,
	"forwarded/test-security-4701-scheduled-task-disabled.json#winlog.scheduled_task.actions[*].definition":                                                                      skewTaskDefinition,
	"forwarded/test-security-5145.json#file.directory,file.name,file.path":                                                                                                       "version skew: the expected file is from a pipeline that splits RelativeTargetName into file.directory and file.name and joins file.path in a script; the reference sets file.name to RelativeTargetName, file.directory to ShareLocalPath and file.path with a {{…}} template (values escaped for JSON), as weft does",
	"forwarded/test-security-6272-nps-subject.json#user.*,related.user":                                                                                                          "version skew: the expected file is from a pipeline that copies 6272's subject to user.*; the reference's Copy Subject User script does not list 6272",
	"forwarded/test-security-adcs-actor-normalization.json#event.action,event.category,event.type,user.*,related.user":                                                           "version skew: the expected file is from a pipeline that names and categorizes 4868-4892 and copies their subject to user.*; the reference security_standard.yml has none of these event IDs",
	"security/test-4627.json#event.action,event.category,event.type,group.*,user.*,related.user,winlog.event_data.EventIdx,winlog.event_data.EventCountTotal":                    "version skew: the expected file is from a pipeline that maps 4627 (action, categories, group and users, EventIdx and EventCountTotal as longs); the reference security_standard.yml has no 4627",
	"security/test-4738.json#winlog.event_data.*":                                                                                                                                skewDash,
	"security/test-4713-windowssrv2016.json#tags":                                                                                                                                "the expected file was written with a test config whose fields: add the tag preserve_duplicate_custom_fields to every input; the stored test-common-config.yml predates it, and no pipeline sets it",
	"security/test-4664.json#event.action,event.category,event.type,file.path,user.*,related.user":                                                                               "version skew: the expected file is from a pipeline that maps 4664 (hard link: action, category, file.path, subject); the reference security_standard.yml has no 4664",
	"security/test-4664.json#tags":                                                                                                                                               skewConfigTag,
	"security/test-4675.json#event.action,event.category,event.type,group.*,user.*,related.user,winlog.computerObject.*,winlog.event_data.SidList,winlog.event_data.SidListDesc": "version skew: the expected file is from a pipeline that maps 4675 (action, group and users, computerObject) and splits SidList for it; the reference security_standard.yml has no 4675 and splits SidList only for 4670, 4817, 4907 and 4908",
	"security/test-4675.json#tags":                                                                                                                                               skewConfigTag,
	"security/test-4739-windowssrv2016.json#tags":                                                                                                                                skewConfigTag,
	"security/test-4793.json#event.action,event.category,event.type,group.*,user.*,related.user,winlog.computerObject.*,winlog.event_data.StatusDescription,winlog.logon.failure.status": "version skew: the expected file is from a pipeline that maps 4793 (action, subject and target, Status described); the reference security_standard.yml has no 4793",
	"security/test-4793.json#tags": skewConfigTag,
	"security/test-4716-windowssrv2016.json#winlog.event_data.DomainName,winlog.event_data.SidFilteringEnabled":          skewDash,
	"security/test-4704.json#event.action,event.category,event.type,user.*,related.user,winlog.event_data.PrivilegeList": "version skew: the expected file is from a pipeline that maps 4704 (action, subject and target, PrivilegeList split); the reference security_standard.yml has no 4704",
	// Orphans (expected files without their input; inputs rebuilt from them).
	"security/test-security-windows2012-4768.json-expected.json#winlog.event_data.TicketOptionsDescription":   skewTicketOptions,
	"security/test-security-windows2012-4771.json-expected.json#winlog.event_data.TicketOptionsDescription":   skewTicketOptions,
	"security/test-security-windows2012-4769.json-expected.json#winlog.event_data.TicketOptionsDescription":   skewTicketOptions,
	"security/test-security-windows2016-4738-account-changed.json-expected.json#winlog.event_data.NewUACList": "version skew: the expected file is from a pipeline that named NewUacValue's bits with userAccountControl's UF_ names (0x10 LOCKOUT, 0x200 NORMAL_ACCOUNT); the reference's Set User Account Control script names them with MS-SAMR's USER_ names (0x10 USER_NORMAL_ACCOUNT, 0x200 USER_DONT_EXPIRE_PASSWORD), in its params' HashMap order, as weft does",
	"security/test-security-windows2012r2-logon.json-expected.json#process.name":                              "version skew: the expected file predates security_default.yml's removal of \"-\" values from event_data, so its pipeline moved 4624's ProcessName \"-\" to process.executable and named the process \"-\"; the reference (and weft) drop the \"-\" first and set neither",
	"security/test-security-windows2019-4688-process-created.json-expected.json#process.args_count":           "version skew: the expected file predates standard.yml's process.args_count for 4688, which the reference (and weft) set",
	// Inputs recorded by old Beats, or trimmed.
	"security/test-4627.json#event.outcome": oldBeatOutcome,
	"security/test-4664.json#event.outcome": oldBeatOutcome,
	"security/test-4704.json#event.outcome": oldBeatOutcome,
	// weft's choices.
	"security/test-4664.json#winlog.event_data.TransactionId":                                          guidCase,
	"forwarded/test-security-5141.json#winlog.event_data.ObjectGUID,winlog.event_data.OpCorrelationID": guidCase,
	"forwarded/test-security-5137.json#winlog.event_data.ObjectGUID,winlog.event_data.OpCorrelationID": guidCase,
	"forwarded/test-security-4698-scheduled-task-malformed-xml.json#error.message":                     "weft reports a TaskContent that is not XML in error.message (README: Scheduled tasks); in Elastic the decode_xml processor runs in the Agent, before the pipeline this file tests, and the input holds no decode result",
	// PowerShell, PowerShell/Operational and Sysmon data streams.
	"powershell/test-events.json#event.category,event.type":             skewPSLists,
	"powershell_operational/test-events.json#event.category,event.type": skewPSLists,
	"powershell/test-events.json#tags":                                  shipperTags,
	"powershell_operational/test-events.json#tags":                      shipperTags,
	"powershell/test-events.json#event.dataset":                         "the input carries event.dataset, which Elastic Agent sets for the data stream it ships to; the pipeline does not, and weft sets it only for Sysmon",
	"powershell_operational/test-events.json#process.pid":               "version skew: the expected file predates powershell_operational.yml's copy of winlog.process.pid to process.pid, which the reference (and weft) make",
	"powershell_operational/test-events.json#powershell.file.script_block_hash,powershell.file.script_block_entropy_bits,powershell.file.script_block_entropy_normalized,powershell.file.script_block_surprisal_stdev,powershell.file.script_block_length,powershell.file.script_block_unique_symbols": "version skew: the expected file predates powershell_operational.yml's fingerprint and entropy script, which the reference (and weft) run on 4104's text",
	"powershell_operational/test-events.json#destination.user.*":                                                                          "version skew: the expected file is from a pipeline that found user.name and user.domain in 4103's ContextInfo before moving them to destination.user for a Connected User; the reference copies them from winlog.user.name/domain (Winlogbeat's SID translation, absent from this input), so it has no user to move",
	"sysmon_operational/test-image-loaded-failed-signature.json#dll.*,event.action,event.category,event.type,file.code_signature.trusted": "version skew: the expected file is from a sysmon_operational pipeline newer than the reference, which adds dll.*, the library category, load action, start type and code_signature.trusted to event 7",
	"sysmon_operational/test-image-loaded-failed-signature.json#event.dataset,event.module":                                               "weft's choice: it sets event.module sysmon and event.dataset windows.sysmon_operational, as Winlogbeat's sysmon module and Elastic Agent do when they ship (README: What you get); the test input, recorded without them, has neither",
	"forwarded/test-powershell-operational-events.json#tags":                                                                              shipperTags,
	"forwarded/test-powershell-operational-events.json#destination.user.*,user.domain,user.name,related.user":                             "version skew: the expected file is from a pipeline that splits 4103's ContextInfo User into user.domain and user.name (moved to destination.user for a Connected User); the reference takes them only from winlog.user.name/domain, absent from the input",
	"forwarded/test-powershell-operational-events.json#powershell.file.script_block_signature,powershell.file.script_block_entropy_bits,powershell.file.script_block_entropy_normalized,powershell.file.script_block_surprisal_sd,powershell.file.script_block_surprisal_stdev": "version skew: the expected file is from a pipeline that cut the signature out into script_block_signature and summed the entropy directly into script_block_surprisal_sd; the reference's script (which weft follows, same length and unique symbols) drops the signature, adds the normalized entropy and names the deviation script_block_surprisal_stdev, and its running sums differ in the last digits",
}

const (
	skewTicketOptions  = "version skew: the expected file is from a pipeline whose ticket-option params iterated in another order; the reference's Set Kerberos Ticket Options script lists the flags in its params' java.util.HashMap order (Forwardable, Renewable, Name-canonicalize, Renewable-ok), as weft does"
	skewPSLists        = "version skew: the expected file is from a PowerShell pipeline that set event.category and event.type to strings; the reference sets them to lists (and weft writes lists)"
	shipperTags        = "the input's tags come from the shipper's configuration (the forwarded data stream's \"forwarded\" tag), which weft's raw event does not carry; no pipeline sets them"
	guidCase           = "weft writes a GUID-looking EventData value in one canonical form, braced and lower-case, so that joins work whether the event came from EVTX, XML or JSON (README: One event, one document); the auditing provider writes these as upper-case strings, and Winlogbeat passes them on as written"
	skewConfigTag      = "the expected file was written with a test config whose fields: add the tag preserve_duplicate_custom_fields to every input; the stored test-common-config.yml predates it, and no pipeline sets it"
	oldBeatOutcome     = "the input was recorded by Winlogbeat 7.3.1, which did not set event.outcome; weft sets it from the audit keywords as Winlogbeat 8 does"
	skewDash           = "version skew: the expected file predates security_default.yml's removal of \"-\" values from event_data, which the reference (and weft) do"
	skewMemberDomain   = "version skew: the expected file predates the MemberName script's user.target.domain from the DN's fourth part, which the reference (and weft) set"
	skewTaskDefinition = "version skew: the expected file predates the action's definition string, which the reference security_scheduled_task.yml (and weft) write, as the newer 4698 expected file shows"
)

// elasticCompletedFields are the System fields Winlogbeat sends with every
// event but that some of Elastic's test inputs leave out (the pipelines do
// not read them). weft needs them (an event without them is reported in
// error.message), so the harness gives a trimmed input a stand-in value and
// does not compare the fields made from it.
var elasticCompletedFields = []struct {
	field    string // under winlog
	value    any
	compared []string // weft's fields made from it, not compared
}{
	{"computer_name", "elastic-pipeline-test.invalid", []string{"winlog.computer_name"}},
	{"record_id", json.Number("1"), []string{"winlog.record_id"}},
	{"time_created", "1970-01-01T00:00:01Z", []string{"@timestamp"}},
}

// completeInput returns in with the elasticCompletedFields it lacks, and
// the fields not to compare for it.
func completeInput(in map[string]any) (map[string]any, map[string]bool) {
	winlog, ok := in["winlog"].(map[string]any)
	if !ok {
		return in, nil
	}
	var skip map[string]bool
	for _, c := range elasticCompletedFields {
		if _, ok := winlog[c.field]; ok {
			continue
		}
		if c.field == "time_created" && in["@timestamp"] != nil {
			continue
		}
		if skip == nil {
			in = maps.Clone(in)
			winlog = maps.Clone(winlog)
			in["winlog"] = winlog
			skip = map[string]bool{}
		}
		winlog[c.field] = c.value
		for _, f := range c.compared {
			skip[f] = true
		}
	}
	// Winlogbeat sets event.kind and event.provider on every event: an
	// input without them gives no test of weft's.
	if ev, _ := in["event"].(map[string]any); ev != nil || in["event"] == nil {
		for _, f := range []string{"kind", "provider"} {
			if _, ok := ev[f]; !ok {
				if skip == nil {
					in = maps.Clone(in)
					winlog = maps.Clone(winlog)
					in["winlog"] = winlog
					skip = map[string]bool{}
				}
				skip["event."+f] = true
			}
		}
	}
	// Winlogbeat sets event.outcome from the audit keywords; an input
	// with the outcome but not the keywords gets them back.
	if _, ok := winlog["keywords"]; !ok {
		kw := map[any]string{"success": "Audit Success", "failure": "Audit Failure"}
		if ev, ok := in["event"].(map[string]any); ok && kw[ev["outcome"]] != "" {
			if skip == nil {
				in = maps.Clone(in)
				winlog = maps.Clone(winlog)
				in["winlog"] = winlog
				skip = map[string]bool{}
			}
			winlog["keywords"] = []any{kw[ev["outcome"]]}
			skip["winlog.keywords"] = true
		}
	}
	return in, skip
}

// pipelineTest is one test-*.json file of a data stream with its expected
// documents and configuration.
type pipelineTest struct {
	stream   string // data stream folder: "forwarded", "security"…
	name     string // file name: "test-security-4624.json"
	events   []map[string]any
	expected []map[string]any // nil: no -expected.json
	// dynamic are the config's dynamic_fields: values that change every
	// run (compared by presence only); numericKeyword are its
	// numeric_keyword_fields (a number equals its decimal string).
	dynamic, numericKeyword map[string]bool
}

// loadPipelineTests reads the test files of every data stream under root;
// streams whose folder is absent are left out. Expected files without an
// input are listed in orphans.
func loadPipelineTests(root string) (tests []pipelineTest, orphans []string, err error) {
	for _, dir := range elasticPipelineDirs {
		full := filepath.Join(root, filepath.FromSlash(dir))
		entries, err := os.ReadDir(full)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		stream := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(full))))
		common := pipelineConfig{}
		if b, err := os.ReadFile(filepath.Join(full, "test-common-config.yml")); err == nil {
			if err := yaml.Unmarshal(b, &common); err != nil {
				return nil, nil, fmt.Errorf("%s/test-common-config.yml: %w", dir, err)
			}
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasSuffix(name, ".json-expected.json") {
				if _, err := os.Stat(filepath.Join(full, strings.TrimSuffix(name, "-expected.json"))); err != nil {
					orphans = append(orphans, stream+"/"+name)
				}
				continue
			}
			if !strings.HasPrefix(name, "test-") || !strings.HasSuffix(name, ".json") {
				continue
			}
			pt := pipelineTest{stream: stream, name: name, dynamic: map[string]bool{}, numericKeyword: map[string]bool{}}
			var in struct{ Events []map[string]any }
			if err := readJSONFile(filepath.Join(full, name), &in); err != nil {
				return nil, nil, err
			}
			pt.events = in.Events
			var want struct{ Expected []map[string]any }
			switch err := readJSONFile(filepath.Join(full, name+"-expected.json"), &want); {
			case os.IsNotExist(err):
			case err != nil:
				return nil, nil, err
			default:
				pt.expected = want.Expected
				if pt.expected == nil {
					pt.expected = []map[string]any{}
				}
			}
			cfg := common
			if b, err := os.ReadFile(filepath.Join(full, strings.TrimSuffix(name, ".json")+"-config.yml")); err == nil {
				var own pipelineConfig
				if err := yaml.Unmarshal(b, &own); err != nil {
					return nil, nil, fmt.Errorf("%s/%s: config: %w", dir, name, err)
				}
				cfg.DynamicFields = append(slices.Clone(cfg.DynamicFields), own.DynamicFields...)
				cfg.NumericKeywordFields = append(slices.Clone(cfg.NumericKeywordFields), own.NumericKeywordFields...)
			}
			for _, f := range cfg.DynamicFields {
				pt.dynamic[f] = true
			}
			for _, f := range cfg.NumericKeywordFields {
				pt.numericKeyword[f] = true
			}
			tests = append(tests, pt)
		}
	}
	return tests, orphans, nil
}

// pipelineConfig is the part of elastic-package's test config that bears
// on the comparison.
type pipelineConfig struct {
	DynamicFields        []string       `yaml:"-"`
	NumericKeywordFields []string       `yaml:"numeric_keyword_fields"`
	Dynamic              map[string]any `yaml:"dynamic_fields"`
}

// UnmarshalYAML reads dynamic_fields, a map of field to pattern.
func (c *pipelineConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain pipelineConfig
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*c = pipelineConfig(p)
	for f := range c.Dynamic {
		c.DynamicFields = append(c.DynamicFields, f)
	}
	return nil
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// weftPipelineDocument is what weft's stage publishes for one of the
// test's Winlogbeat documents: FromWinlogbeat (weft normalize's NDJSON
// path), AppendMsgpack (the stage's writer), decoded as a consumer
// decodes it, and through JSON so numbers compare as Elastic's do.
func weftPipelineDocument(n *normalizer.Normalizer, in map[string]any) (map[string]any, error) {
	r, err := normalizer.FromWinlogbeat(in)
	if err != nil {
		return nil, err
	}
	// An error names the event's problems, which the document also
	// carries in error.message: the document is what is compared.
	wire, _ := n.AppendMsgpack([]byte{0x91}, r)
	var batch event.DocumentBatch
	if err := bus.Decode(wire, &batch); err != nil {
		return nil, err
	}
	if len(batch) != 1 {
		return nil, fmt.Errorf("%d documents", len(batch))
	}
	b, err := json.Marshal(batch[0])
	if err != nil {
		return nil, err
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return out, dec.Decode(&out)
}

// flattenDoc writes each leaf of v under its dotted name. Lists of scalars
// are leaves (compared in order, as Elasticsearch keeps them); lists holding
// objects are flattened per element, as name[i].
func flattenDoc(prefix string, v any, out map[string]any) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 && prefix != "" {
			out[prefix] = v
		}
		for k, x := range v {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flattenDoc(name, x, out)
		}
	case []any:
		for _, x := range v {
			if _, ok := x.(map[string]any); ok {
				for i, x := range v {
					flattenDoc(fmt.Sprintf("%s[%d]", prefix, i), x, out)
				}
				return
			}
		}
		out[prefix] = v
	default:
		out[prefix] = v
	}
}

// fieldMatches says whether field is pattern or, for "x.*", under x; "[*]"
// in pattern stands for any list index.
func fieldMatches(pattern, field string) bool {
	if strings.Contains(pattern, "[*]") {
		field = listIndex.ReplaceAllString(field, "[*]")
	}
	if p, ok := strings.CutSuffix(pattern, ".*"); ok {
		return field == p || strings.HasPrefix(field, p+".") || strings.HasPrefix(field, p+"[")
	}
	return field == pattern
}

var listIndex = regexp.MustCompile(`\[[0-9]+\]`)

func skippedField(field string) bool {
	for _, s := range elasticSkippedFields {
		if fieldMatches(s.field, field) {
			return true
		}
	}
	return false
}

// fieldDiff is one field on which weft and Elastic disagree.
type fieldDiff struct {
	event       int
	field, kind string // kind: missing, extra, different
	want, got   any
}

func (d fieldDiff) String() string {
	show := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	switch d.kind {
	case "missing":
		return fmt.Sprintf("event %d: %s missing, Elastic: %s", d.event, d.field, show(d.want))
	case "extra":
		return fmt.Sprintf("event %d: %s extra, weft: %s", d.event, d.field, show(d.got))
	}
	return fmt.Sprintf("event %d: %s different: Elastic %s, weft %s", d.event, d.field, show(d.want), show(d.got))
}

// compareDocs compares every field of want with got and returns the
// differences and the number of fields compared.
func compareDocs(pt *pipelineTest, ev int, want, got map[string]any, completed map[string]bool) (diffs []fieldDiff, compared int) {
	w, g := map[string]any{}, map[string]any{}
	flattenDoc("", want, w)
	flattenDoc("", got, g)
	names := make([]string, 0, len(w)+len(g))
	for k := range w {
		names = append(names, k)
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		if skippedField(k) || completed[k] {
			continue
		}
		compared++
		wv, inW := w[k]
		gv, inG := g[k]
		switch {
		case !inG:
			diffs = append(diffs, fieldDiff{ev, k, "missing", wv, nil})
		case !inW:
			diffs = append(diffs, fieldDiff{ev, k, "extra", nil, gv})
		case pt.dynamic[k]:
		case caseInsensitiveField(k) && strings.EqualFold(fmt.Sprint(wv), fmt.Sprint(gv)):
		case elasticDateFields[k] && sameInstant(wv, gv):
		case !sameValue(wv, gv, pt.numericKeyword[k]):
			diffs = append(diffs, fieldDiff{ev, k, "different", wv, gv})
		}
	}
	return diffs, compared
}

// elasticDateFields are dates compared as the instants Elasticsearch
// indexes (milliseconds): the test inputs spell them with any precision
// ("12.44Z", "26.393089Z"), and weft writes milliseconds
// ("12.440Z"), as Winlogbeat does.
var elasticDateFields = map[string]bool{"@timestamp": true}

func sameInstant(want, got any) bool {
	w, ok1 := want.(string)
	g, ok2 := got.(string)
	if !ok1 || !ok2 {
		return false
	}
	tw, err1 := time.Parse(time.RFC3339Nano, w)
	tg, err2 := time.Parse(time.RFC3339Nano, g)
	return err1 == nil && err2 == nil && tw.Truncate(time.Millisecond).Equal(tg.Truncate(time.Millisecond))
}

func caseInsensitiveField(field string) bool {
	for _, c := range elasticCaseInsensitiveFields {
		if fieldMatches(c.field, field) {
			return true
		}
	}
	return false
}

func sameValue(want, got any, numericKeyword bool) bool {
	if reflect.DeepEqual(want, got) {
		return true
	}
	if !numericKeyword {
		return false
	}
	str := func(v any) any {
		if n, ok := v.(json.Number); ok {
			return string(n)
		}
		if l, ok := v.([]any); ok {
			out := make([]any, len(l))
			for i, x := range l {
				if n, ok := x.(json.Number); ok {
					x = string(n)
				}
				out[i] = x
			}
			return out
		}
		return v
	}
	return reflect.DeepEqual(str(want), str(got))
}

// knownDiff returns the elasticKnownDiffs key covering d in the test.
func knownDiff(pt *pipelineTest, d fieldDiff) (string, bool) {
	file := pt.stream + "/" + pt.name
	if _, ok := elasticKnownDiffs[file]; ok {
		return file, true
	}
	for key := range elasticKnownDiffs {
		f, fields, ok := strings.Cut(key, "#")
		if !ok || f != file {
			continue
		}
		for _, field := range strings.Split(fields, ",") {
			if fieldMatches(field, d.field) {
				return key, true
			}
		}
	}
	return "", false
}

// TestElasticPipelineTests runs Elastic's own pipeline tests for the data
// streams weft follows: each test input document goes through weft's
// Winlogbeat path and stage writer, and every field of Elastic's expected
// document is compared with weft's (missing, extra, different), apart from
// elasticSkippedFields. A difference fails the test unless
// elasticKnownDiffs lists it with its reason.
//
//	WEFT_ELASTIC_INTEGRATIONS=/path/to/integrations go test ./normalizer -run TestElasticPipelineTests -v
func TestElasticPipelineTests(t *testing.T) {
	root := os.Getenv(elasticIntegrationsEnv)
	if root == "" {
		t.Skipf("%s is not set: point it at a checkout of github.com/elastic/integrations to run Elastic's pipeline tests", elasticIntegrationsEnv)
	}
	tests, orphans, err := loadPipelineTests(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) == 0 {
		t.Fatalf("%s=%s holds none of the pipeline test folders %v", elasticIntegrationsEnv, root, elasticPipelineDirs)
	}
	n := normalizer.New()
	used, compared := map[string]bool{}, map[string]bool{}
	type tally struct{ files, events, completed, compared, equal, known int }
	sums := map[string]*tally{}
	for i := range tests {
		pt := &tests[i]
		s := sums[pt.stream]
		if s == nil {
			s = &tally{}
			sums[pt.stream] = s
		}
		if pt.expected == nil {
			t.Logf("%s/%s: no -expected.json, not compared", pt.stream, pt.name)
			continue
		}
		s.files++
		compared[pt.stream+"/"+pt.name] = true
		if len(pt.expected) != len(pt.events) {
			t.Errorf("%s/%s: %d events, %d expected documents", pt.stream, pt.name, len(pt.events), len(pt.expected))
			continue
		}
		var report []string
		for ev, in := range pt.events {
			s.events++
			in, completed := completeInput(in)
			if completed != nil {
				s.completed++
			}
			got, err := weftPipelineDocument(n, in)
			if err != nil {
				t.Errorf("%s/%s event %d: %v", pt.stream, pt.name, ev, err)
				continue
			}
			diffs, compared := compareDocs(pt, ev, pt.expected[ev], got, completed)
			s.compared += compared
			s.equal += compared - len(diffs)
			for _, d := range diffs {
				if key, ok := knownDiff(pt, d); ok {
					used[key] = true
					s.known++
					continue
				}
				report = append(report, d.String())
			}
		}
		if len(report) > 0 {
			t.Errorf("%s/%s: %d fields differ from Elastic's expected documents:\n\t%s", pt.stream, pt.name, len(report), strings.Join(report, "\n\t"))
		}
	}
	// Expected files without their input: the input is rebuilt from
	// them and only what the pipeline derives is compared
	// (elastic_orphan_test.go).
	orphanTests, err := loadOrphanTests(root, orphans)
	if err != nil {
		t.Fatal(err)
	}
	orphanSums := runOrphanTests(t, n, orphanTests, used, compared)
	for key, why := range elasticKnownDiffs {
		file, _, _ := strings.Cut(key, "#")
		// A checkout without the file (another version of the
		// repository) says nothing of the entry.
		if !used[key] && compared[file] {
			t.Errorf("elasticKnownDiffs[%q] (%s) matches no difference: remove it", key, why)
		}
	}
	streams := make([]string, 0, len(sums))
	for k := range sums {
		streams = append(streams, k)
	}
	sort.Strings(streams)
	for _, k := range streams {
		s := sums[k]
		t.Logf("%s: %d files, %d events (%d trimmed inputs completed), %d fields compared, %d equal, %d known differences", k, s.files, s.events, s.completed, s.compared, s.equal, s.known)
	}
	for _, k := range slices.Sorted(maps.Keys(orphanSums)) {
		s := orphanSums[k]
		t.Logf("%s, inputs rebuilt from expected documents without their input: %d files, %d events, %d derived fields compared, %d equal, %d known differences", k, s.files, s.events, s.compared, s.equal, s.known)
	}
}
