package normalizer

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/event"
)

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestFromWinlogbeat(t *testing.T) {
	t.Parallel()
	const full = `{"@timestamp":"2024-03-05T14:22:31.002Z","log":{"level":"information"},
		"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","computer_name":"WS01.corp.example.com",
		"event_id":"3","record_id":48212,"provider_name":"Microsoft-Windows-Sysmon",
		"provider_guid":"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}","version":5,"opcode":"Info",
		"task":"Network connection detected (rule: NetworkConnect)",
		"process":{"pid":3012,"thread":{"id":4188}},"user":{"identifier":"S-1-5-18","name":"SYSTEM"},
		"event_data":{"SourcePort":"49687","Initiated":"false","ProcessId":"5120","Odd":12,"Nested":{"a":1}}}}`
	want := &event.Raw{
		Provider:     "Microsoft-Windows-Sysmon",
		ProviderGUID: "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
		EventID:      3,
		Version:      5,
		Level:        4,
		Task:         3,
		Opcode:       0,
		TimeCreated:  time.Date(2024, 3, 5, 14, 22, 31, 2000000, time.UTC),
		RecordID:     48212,
		ProcessID:    3012,
		ThreadID:     4188,
		Channel:      "Microsoft-Windows-Sysmon/Operational",
		Computer:     "WS01.corp.example.com",
		UserSID:      "S-1-5-18",
		Data: []event.Field{
			{Name: "Initiated", Value: "false"}, {Name: "Nested", Value: `{"a":1}`}, {Name: "Odd", Value: "12"},
			{Name: "ProcessId", Value: "5120"}, {Name: "SourcePort", Value: "49687"},
		},
		Origin: event.Origin{Kind: SourceWinlogbeat},
	}
	got, err := FromWinlogbeat(decodeJSON(t, full))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FromWinlogbeat =\n%+v\nwant\n%+v", got, want)
	}

	// Without UseNumber numbers are float64; winlog.time_created wins over
	// @timestamp; user_data stands in for event_data; names that are not
	// standard give numbers that render to nothing.
	var doc map[string]any
	if err := json.Unmarshal([]byte(`{"@timestamp":"2024-01-01T00:00:00Z","winlog":{
		"channel":"Security","computer_name":"DC01","event_id":4624,"record_id":"7",
		"time_created":"2024-03-05T15:22:31.5+01:00","opcode":"Custom","level":"Fancy",
		"user_data":{"Param":"x"}}}`), &doc); err != nil {
		t.Fatal(err)
	}
	got, err = FromWinlogbeat(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got.EventID != 4624 || got.RecordID != 7 || !got.TimeCreated.Equal(time.Date(2024, 3, 5, 14, 22, 31, 5e8, time.UTC)) ||
		!reflect.DeepEqual(got.Data, []event.Field{{Name: "Param", Value: "x"}}) {
		t.Errorf("got %+v", got)
	}
	d, _ := Normalize(got)
	for _, f := range []string{"winlog.opcode", "log.level"} {
		if v, ok := d.Get(f); ok {
			t.Errorf("%s = %v, want it absent for a name that is not standard", f, v)
		}
	}
}

// TestFromWinlogbeatRendered: what Winlogbeat renders and the pipelines
// keep comes back in the document: event.original (include_xml),
// Windows PowerShell's category as winlog.task and event.action, and the
// Classic keyword; an unknown category name gives no task.
func TestFromWinlogbeatRendered(t *testing.T) {
	t.Parallel()
	const xml = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='PowerShell'/><EventID Qualifiers='0'>800</EventID></System></Event>"
	tests := []struct {
		task, original string
		want           map[string]any // field: value, nil for absent
	}{
		{"Pipeline Execution Details", xml, map[string]any{
			"winlog.task": "Pipeline Execution Details", "event.action": "Pipeline Execution Details",
			"event.original": xml, "winlog.keywords": []any{"Classic"},
		}},
		{"Provider Lifecycle", "", map[string]any{
			"winlog.task": "Provider Lifecycle", "event.action": "Provider Lifecycle", "event.original": nil,
		}},
		{"Made Up", "", map[string]any{"winlog.task": nil, "event.action": nil}},
	}
	for _, tt := range tests {
		doc := map[string]any{
			"@timestamp": "2020-05-15T08:33:26.393Z",
			"winlog": map[string]any{
				"channel": "Windows PowerShell", "computer_name": "vagrant", "event_id": "800",
				"record_id": json.Number("1846"), "provider_name": "PowerShell", "task": tt.task,
				"keywords":   []any{"Classic"},
				"event_data": map[string]any{"param2": "\tDetailSequence=1\n\tSequenceNumber=141"},
			},
		}
		if tt.original != "" {
			doc["event"] = map[string]any{"original": tt.original}
		}
		r, err := FromWinlogbeat(doc)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := Normalize(r)
		for f, want := range tt.want {
			got, ok := d.Get(f)
			if want == nil {
				if ok {
					t.Errorf("%s: %s = %v, want it absent", tt.task, f, got)
				}
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %s = %#v, want %#v", tt.task, f, got, want)
			}
		}
	}
}

func TestFromWinlogbeatRejects(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ doc, err string }{
		{`{"message":"x"}`, "no winlog object"},
		{`{"winlog":{"computer_name":"A","event_id":1,"record_id":1}}`, "winlog.channel"},
		{`{"winlog":{"channel":"C","event_id":1}}`, "winlog.computer_name"},
		{`{"winlog":{"channel":"C","computer_name":"A","event_id":"x1"}}`, "winlog.event_id"},
		{`{"winlog":{"channel":"C","computer_name":"A","event_id":-1}}`, "winlog.event_id"},
		{`{"winlog":{"channel":"C","computer_name":"A","event_id":1,"record_id":1.5}}`, "winlog.record_id"},
		{`{"winlog":{"channel":"C","computer_name":"A","event_id":1,"record_id":1,"version":300}}`, "winlog.version"},
		{`{"winlog":{"channel":"C","computer_name":"A","event_id":1,"record_id":1,"process":{"pid":"p"}}}`, "winlog.process.pid"},
		{`{"@timestamp":"yesterday","winlog":{"channel":"C","computer_name":"A","event_id":1,"record_id":1}}`, "yesterday"},
	} {
		var doc map[string]any
		if err := json.Unmarshal([]byte(tt.doc), &doc); err != nil {
			t.Fatal(err)
		}
		r, err := FromWinlogbeat(doc)
		if err == nil || !strings.Contains(err.Error(), tt.err) || r != nil {
			t.Errorf("FromWinlogbeat(%s) = %v, %v; want an error about %s", tt.doc, r, err, tt.err)
		}
	}
}
