package normalizer

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/event"
)

// TestDecodeTaskXML checks the shape decode_xml (to_lower: true) gives the
// definition, which is what security_scheduled_task.yml reads.
func TestDecodeTaskXML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     map[string]any
	}{
		{
			name: "attributes, text and lower-cased local names",
			in:   `<?xml version="1.0" encoding="UTF-16"?><Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><Actions Context="Author"><Exec><Command>a.exe</Command></Exec></Actions></Task>`,
			want: map[string]any{"task": map[string]any{
				"version": "1.2", "xmlns": "http://schemas.microsoft.com/windows/2004/02/mit/task",
				"actions": map[string]any{"context": "Author", "exec": map[string]any{"command": "a.exe"}},
			}},
		},
		{
			name: "repeated names become a list in order; empty elements are empty strings",
			in:   "<Task>\r\n <Triggers><BootTrigger /><LogonTrigger><UserId>u1</UserId></LogonTrigger><LogonTrigger><UserId>u2</UserId></LogonTrigger><LogonTrigger/></Triggers></Task>",
			want: map[string]any{"task": map[string]any{"triggers": map[string]any{
				"boottrigger":  "",
				"logontrigger": []any{map[string]any{"userid": "u1"}, map[string]any{"userid": "u2"}, ""},
			}}},
		},
		{
			name: "text beside attributes is #text, trimmed; prefixes dropped",
			in:   `<t:Task xmlns:t="urn:x"><t:Principal t:id="A">  text  </t:Principal><X>&lt;&amp;</X></t:Task>`,
			want: map[string]any{"task": map[string]any{
				"t":         "urn:x",
				"principal": map[string]any{"id": "A", "#text": "text"},
				"x":         "<&",
			}},
		},
		{
			name: "only the last run of text is kept; an attribute replaces a child of its name",
			in:   `<Task><Exec Command="attr">lost<Command>child</Command><Command>child2</Command> kept <!-- c --> last </Exec><A>one<!-- c -->two</A></Task>`,
			want: map[string]any{"task": map[string]any{
				"exec": map[string]any{"command": "attr", "#text": "last"},
				"a":    "two",
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeTaskXML(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeTaskXMLRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"unclosed", "<Task><Actions>", "XML syntax error on line 1: unexpected EOF"},
		{"mismatched", "<Task><A></B></Task>", "element <A> closed by </B>"},
		{"not XML", "<<<", "syntax error"},
		{"too deep", strings.Repeat("<a>", maxTaskDepth+1) + strings.Repeat("</a>", maxTaskDepth+1), "nested deeper than 32"},
		{"too many", "<Task>" + strings.Repeat("<a/>", maxTaskNodes) + "</Task>", "more than 10000"},
		{"too large", "<Task>" + strings.Repeat(" ", maxTaskContentBytes) + "</Task>", "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeTaskXML(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

// TestNormalizeTaskScript covers the script's edge cases one by one.
func TestNormalizeTaskScript(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		xml  string
		want scheduledTaskFields
	}{
		{
			name: "no task root: the decoded map itself; Enabled neither true nor false",
			xml:  `<Triggers><IdleTrigger><Enabled>yes</Enabled><Repetition><Interval>PT1H</Interval><StopAtDurationEnd>TRUE</StopAtDurationEnd></Repetition></IdleTrigger></Triggers>`,
			want: scheduledTaskFields{triggers: []any{map[string]any{
				"type":       "idle",
				"repetition": map[string]any{"interval": "PT1H", "stop_at_duration_end": true},
				"definition": "v=1|type=idle|enabled=|interval=PT1H|duration=|stop_at_duration_end=true",
			}}},
		},
		{
			name: "scalar trigger with text skipped; empty principal and scalar action skipped",
			xml:  `<Task><Triggers><EventTrigger>junk</EventTrigger><CalendarTrigger><Enabled>0</Enabled></CalendarTrigger></Triggers><Principals><Principal/><Principal><Other>x</Other></Principal></Principals><Actions><Exec>text</Exec></Actions><Settings><Enabled>maybe</Enabled></Settings></Task>`,
			want: scheduledTaskFields{triggers: []any{map[string]any{
				"type": "calendar", "enabled": false,
				"definition": "v=1|type=calendar|enabled=false|interval=|duration=|stop_at_duration_end=",
			}}},
		},
		{
			name: "control characters escaped; no context; a repeated Command printed as a Java list",
			xml:  "<Task><RegistrationInfo><URI></URI></RegistrationInfo><Actions><Exec><Command>a</Command><Command>b</Command><Arguments>x&#9;y&#127;</Arguments></Exec></Actions></Task>",
			want: scheduledTaskFields{actions: []any{map[string]any{
				"type": "exec", "command": "[a, b]", "arguments": "x\ty\x7f",
				"definition": "v=1|type=exec|context=|command=[a, b]|arguments=x%09y%7F|working_directory=|class_id=",
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := decodeTaskXML(tt.xml)
			if err != nil {
				t.Fatal(err)
			}
			got := normalizeTask(d)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func taskEvent(id uint32, provider, name, content string) *event.Raw {
	return &event.Raw{
		EventID: id, Channel: "Security", Provider: provider,
		TimeCreated: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), RecordID: 9, Computer: "WKS",
		Data: []event.Field{{Name: "TaskName", Value: `\T`}, {Name: name, Value: content}},
	}
}

// TestScheduledTaskEvents checks which events run the script, that a bad
// definition is reported and the document still made, and that the
// msgpack the stage publishes is bus.Encode of the document.
func TestScheduledTaskEvents(t *testing.T) {
	t.Parallel()
	const task = `<Task><Actions Context="Author"><Exec><Command>c.exe</Command></Exec></Actions></Task>`
	tests := []struct {
		name       string
		raw        *event.Raw
		hasActions bool
		problem    string
	}{
		{"4698 TaskContent", taskEvent(4698, securityProvider, "TaskContent", task), true, ""},
		{"4701 TaskContent", taskEvent(4701, securityProvider, "TaskContent", task), true, ""},
		{"4702 TaskContentNew", taskEvent(4702, securityProvider, "TaskContentNew", task), true, ""},
		{"4702 reads only TaskContentNew", taskEvent(4702, securityProvider, "TaskContent", task), false, ""},
		{"other event ID", taskEvent(4697, securityProvider, "TaskContent", task), false, ""},
		{"other provider", taskEvent(4698, eventlogProvider, "TaskContent", task), false, ""},
		{"malformed", taskEvent(4698, securityProvider, "TaskContent", "<Task><Actions>"), false, "winlog.event_data.TaskContent: not a task definition: XML syntax error on line 1: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := New().Normalize(tt.raw)
			if tt.problem == "" && err != nil {
				t.Fatalf("unexpected problems: %v", err)
			}
			msgs, _ := doc.Get("error.message")
			if tt.problem != "" && !reflect.DeepEqual(msgs, []any{tt.problem}) {
				t.Fatalf("error.message = %v, want [%s]", msgs, tt.problem)
			}
			_, has := doc.Get("winlog.scheduled_task.actions")
			if has != tt.hasActions {
				t.Fatalf("winlog.scheduled_task.actions present = %v, want %v", has, tt.hasActions)
			}
			if name, _ := doc.Get("winlog.scheduled_task.name"); tt.raw.Provider == securityProvider && tt.raw.EventID != 4697 && name != `\T` {
				t.Errorf("winlog.scheduled_task.name = %v", name)
			}
			if _, ok := doc.Get("winlog._tmp"); ok {
				t.Error("winlog._tmp is in the document")
			}
			checkStageEncodes(t, New(), tt.raw, doc)
		})
	}
}

// FuzzScheduledTask feeds untrusted TaskContent to the scheduled-task
// events: every event must map without a fault, and the msgpack the stage
// publishes must be bus.Encode of the document Normalize returns.
func FuzzScheduledTask(f *testing.F) {
	f.Add(false, `<?xml version="1.0" encoding="UTF-16"?><Task version="1.2"><RegistrationInfo><URI>\u</URI></RegistrationInfo><Triggers><BootTrigger/><TimeTrigger><Repetition><Interval>PT1M</Interval></Repetition></TimeTrigger></Triggers><Principals><Principal id="A"><UserId>S-1-5-18</UserId></Principal></Principals><Settings><Hidden>1</Hidden></Settings><Actions Context="A"><Exec><Command>a|b=c%</Command></Exec><ComHandler><ClassId>{x}</ClassId></ComHandler></Actions></Task>`)
	f.Add(true, `<Task><Triggers><LogonTrigger>x</LogonTrigger><LogonTrigger><Enabled>no</Enabled></LogonTrigger></Triggers></Task>`)
	f.Add(false, `<Task><Actions><Exec><Command>a</Command><Command><b/></Command></Exec></Actions></Task>`)
	f.Add(true, "<Task><Actions>")
	f.Add(false, "")
	f.Fuzz(func(t *testing.T, updated bool, content string) {
		r := taskEvent(4698, securityProvider, "TaskContent", content)
		if updated {
			r = taskEvent(4702, securityProvider, "TaskContentNew", content)
		}
		fuzzStageAgrees(t, r)
	})
}

// BenchmarkScheduledTask normalizes a 4698 with a full definition beside
// the same event without TaskContent, for the script's cost as a ratio.
func BenchmarkScheduledTask(b *testing.B) {
	const task = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\r\n" +
		"<RegistrationInfo><Date>2024-03-05T14:22:28</Date><Author>CORP\\admin</Author><URI>\\Updater</URI></RegistrationInfo>\r\n" +
		"<Triggers><LogonTrigger><Enabled>true</Enabled><UserId>CORP\\alice</UserId></LogonTrigger><TimeTrigger><Repetition><Interval>PT15M</Interval><Duration>P1D</Duration></Repetition><StartBoundary>2024-03-05T15:00:00</StartBoundary></TimeTrigger></Triggers>\r\n" +
		"<Principals><Principal id=\"Author\"><UserId>S-1-5-18</UserId><LogonType>ServiceAccount</LogonType><RunLevel>HighestAvailable</RunLevel></Principal></Principals>\r\n" +
		"<Settings><MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy><Enabled>true</Enabled><Hidden>true</Hidden></Settings>\r\n" +
		"<Actions Context=\"Author\"><Exec><Command>C:\\Windows\\System32\\cmd.exe</Command><Arguments>/c whoami</Arguments></Exec></Actions></Task>"
	for _, bc := range []struct {
		name string
		r    *event.Raw
	}{
		{"with-definition", taskEvent(4698, securityProvider, "TaskContent", task)},
		{"without-definition", taskEvent(4698, securityProvider, "Other", task)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := New()
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = n.AppendMsgpack(buf[:0], bc.r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
