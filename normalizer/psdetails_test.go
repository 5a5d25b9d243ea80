package normalizer

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/event"
)

// The pipelines' patterns in RE2, with Java's '.' (no \n \r U+0085 U+2028
// U+2029) and \s (ASCII whitespace) spelled out; RE2 prefers submatches
// as a backtracking matcher does, so these are an oracle for the hand
// parser.
const (
	javaDot   = `[^\n\r\x{85}\x{2028}\x{2029}]`
	javaSpace = `[ \t\n\x0B\f\r]`
)

var (
	detailOracle     = regexp.MustCompile(`^([^(]+)\(([^)]+)\):` + javaSpace + `*(` + javaDot + `+)?$`)
	detailOracle800  = regexp.MustCompile(`^([^:(]+)\(([^)]+)\):` + javaSpace + `*(` + javaDot + `+)?$`)
	parameterOracle  = regexp.MustCompile(`^name=(` + javaDot + `+);` + javaSpace + `*value=(` + javaDot + `+)$`)
	errNoBindingPart = "ParameterBinding"
)

// oracleDetail is parseRawDetail by the oracle patterns; ok false is the
// script's failure.
func oracleDetail(raw string, colonless bool) (map[string]any, bool) {
	re := detailOracle
	if colonless {
		re = detailOracle800
	}
	m := re.FindStringSubmatchIndex(raw)
	if m == nil {
		return map[string]any{"value": raw}, true
	}
	var value any
	if m[6] >= 0 {
		value = raw[m[6]:m[7]]
	}
	typ, related := raw[m[2]:m[3]], raw[m[4]:m[5]]
	if typ != errNoBindingPart {
		return map[string]any{"type": typ, "related_command": related, "value": value}, true
	}
	if value == nil {
		return nil, false
	}
	pm := parameterOracle.FindStringSubmatch(value.(string))
	if pm == nil {
		return nil, false
	}
	return map[string]any{"type": typ, "related_command": related, "name": pm[1], "value": pm[2]}, true
}

func TestParseInvocationDetail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		raw       string
		colonless bool
		want      map[string]any
		fails     bool
	}{
		{name: "invocation", raw: `CommandInvocation(Get-Process): "Get-Process"`,
			want: map[string]any{"type": "CommandInvocation", "related_command": "Get-Process", "value": `"Get-Process"`}},
		{name: "binding", raw: `ParameterBinding(Invoke-WebRequest): name="Uri"; value="http://198.51.100.7/"`,
			want: map[string]any{"type": "ParameterBinding", "related_command": "Invoke-WebRequest", "name": `"Uri"`, "value": `"http://198.51.100.7/"`}},
		{name: "binding name runs to the last ;value=", raw: `ParameterBinding(Out-Default): name="a; value=b"; value="c"`,
			want: map[string]any{"type": "ParameterBinding", "related_command": "Out-Default", "name": `"a; value=b"`, "value": `"c"`}},
		{name: "error", raw: `NonTerminatingError(Get-Item): "Cannot find path 'C:\x' because it does not exist."`,
			want: map[string]any{"type": "NonTerminatingError", "related_command": "Get-Item", "value": `"Cannot find path 'C:\x' because it does not exist."`}},
		{name: "nothing after the colon is null", raw: "CommandInvocation(Get-Date):  \t",
			want: map[string]any{"type": "CommandInvocation", "related_command": "Get-Date", "value": nil}},
		{name: "carriage return is no '.'", raw: "CommandInvocation(Get-Date): \"Get-Date\"\r",
			want: map[string]any{"value": "CommandInvocation(Get-Date): \"Get-Date\"\r"}},
		{name: "U+2028 is no '.'", raw: "CommandInvocation(Get-Date): a\u2028b",
			want: map[string]any{"value": "CommandInvocation(Get-Date): a\u2028b"}},
		{name: "no type", raw: `(Get-Date): x`, want: map[string]any{"value": `(Get-Date): x`}},
		{name: "empty command", raw: `CommandInvocation(): x`, want: map[string]any{"value": `CommandInvocation(): x`}},
		{name: "no colon", raw: `CommandInvocation(Get-Date) x`, want: map[string]any{"value": `CommandInvocation(Get-Date) x`}},
		{name: "plain text", raw: `Context:`, want: map[string]any{"value": `Context:`}},
		{name: "4103 type may hold a colon", raw: `Host: CommandInvocation(Get-Date): x`,
			want: map[string]any{"type": "Host: CommandInvocation", "related_command": "Get-Date", "value": "x"}},
		{name: "800 type may not", raw: `Host: CommandInvocation(Get-Date): x`, colonless: true,
			want: map[string]any{"value": `Host: CommandInvocation(Get-Date): x`}},
		{name: "command holds a parenthesis", raw: `CommandInvocation(a(b): x`,
			want: map[string]any{"type": "CommandInvocation", "related_command": "a(b", "value": "x"}},
		{name: "binding without value fails", raw: `ParameterBinding(Get-Date): `, fails: true},
		{name: "binding not name=value fails", raw: `ParameterBinding(Get-Date): Uri=x`, fails: true},
		{name: "binding with empty value fails", raw: `ParameterBinding(Get-Date): name=a; value=`, fails: true},
		{name: "binding with empty name fails", raw: `ParameterBinding(Get-Date): name=; value=b`, fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseInvocationDetail(tt.raw, tt.colonless)
			if tt.fails {
				if err == nil {
					t.Fatalf("got %v, want the script's failure", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
			if want, ok := oracleDetail(tt.raw, tt.colonless); !ok || !reflect.DeepEqual(got, want) {
				t.Errorf("oracle: %#v (ok %v), table: %#v", want, ok, got)
			}
		})
	}
}

func TestJavaSplitNewline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"a\nb\n\n", []string{"a", "b"}},
		{"\na\r\n\nb", []string{"", "a\r", "", "b"}},
		{"\n\n", nil},
	}
	for _, tt := range tests {
		if got := javaSplitNewline(tt.in); !reflect.DeepEqual(got, tt.want) && (len(got) != 0 || len(tt.want) != 0) {
			t.Errorf("javaSplitNewline(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestInvocationDetailsFailure: a ParameterBinding line the script cannot
// read ends the pipeline, as its on_failure does: event.kind
// pipeline_error, the problem reported, and Payload left in event_data
// because the cleanup never ran.
func TestInvocationDetailsFailure(t *testing.T) {
	t.Parallel()
	r := &event.Raw{
		Provider: "Microsoft-Windows-PowerShell", EventID: 4103, TimeCreated: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		RecordID: 9, Channel: "Microsoft-Windows-PowerShell/Operational", Computer: "WKS", ProcessID: 42,
		Data: []event.Field{
			{Name: "ContextInfo", Value: "        Command Name = Get-Date\n        Shell ID = Microsoft.PowerShell\n"},
			{Name: "Payload", Value: "CommandInvocation(Get-Date): \"Get-Date\"\nParameterBinding(Get-Date): Format"},
		},
	}
	doc, err := New().Normalize(r)
	if err == nil || !strings.Contains(err.Error(), "ParameterBinding") {
		t.Fatalf("err = %v, want the failing ParameterBinding line", err)
	}
	if kind := doc["event"].(map[string]any)["kind"]; kind != "pipeline_error" {
		t.Errorf("event.kind = %v, want pipeline_error", kind)
	}
	ed := doc["winlog"].(map[string]any)["event_data"].(map[string]any)
	if _, ok := ed["Payload"]; !ok {
		t.Errorf("event_data lost Payload: %v", ed)
	}
	if ps, ok := doc["powershell"].(map[string]any); ok {
		if cmd, ok := ps["command"].(map[string]any); ok && cmd["invocation_details"] != nil {
			t.Errorf("invocation_details set on failure: %v", cmd["invocation_details"])
		}
	}
}

// FuzzInvocationDetail compares the hand parser with the oracle patterns
// on any line, for both pipelines' detail patterns.
func FuzzInvocationDetail(f *testing.F) {
	for _, s := range []string{
		`CommandInvocation(Get-Process): "Get-Process"`,
		`ParameterBinding(Invoke-WebRequest): name="Uri"; value="http://198.51.100.7/"`,
		`ParameterBinding(x): name=a;value=b;  value=c`,
		"NonTerminatingError(a(b)): \t x\r",
		"Host: T(c):\u0085",
		`ParameterBinding(x):name=;value=`,
		"\xff(\xfe):\xfd",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, colonless := range []bool{false, true} {
			got, err := parseInvocationDetail(raw, colonless)
			want, ok := oracleDetail(raw, colonless)
			if (err == nil) != ok {
				t.Fatalf("%q (800 %v): err %v, oracle ok %v", raw, colonless, err, ok)
			}
			if ok && !reflect.DeepEqual(got, want) {
				t.Fatalf("%q (800 %v): got %#v, oracle %#v", raw, colonless, got, want)
			}
		}
	})
}
