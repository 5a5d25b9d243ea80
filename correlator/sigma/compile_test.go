package sigma

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/weft-dev/weft/correlator/eql"
	"github.com/weft-dev/weft/event"
)

// doc builds a document as the normalizer writes it with RawFields on.
func doc(channel, eventID string, kv ...any) event.Document {
	data := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		data[kv[i].(string)] = kv[i+1]
	}
	return event.Document{"weft": map[string]any{
		"event_data": data,
		"system":     map[string]any{"Channel": channel, "EventID": eventID, "Computer": "WS01"},
	}}
}

func sysmon1(kv ...any) event.Document { return doc(sysmonChannel, "1", kv...) }

// withSystem adds a System field to a document of doc's.
func withSystem(d event.Document, name, value string) event.Document {
	d["weft"].(map[string]any)["system"].(map[string]any)[name] = value
	return d
}

func compileRule(t *testing.T, src string, opts Options) (*eql.Program, error) {
	t.Helper()
	f, err := Parse([]byte(src))
	if err != nil {
		return nil, err
	}
	if len(f.Rules) != 1 {
		t.Fatalf("%d rules parsed", len(f.Rules))
	}
	r := f.Rules[0]
	for _, fl := range f.Filters {
		if err := fl.Apply(r); err != nil {
			return nil, err
		}
	}
	q, err := r.Query(opts)
	if err != nil {
		return nil, err
	}
	return eql.Compile(q)
}

const head = "title: t\nid: 1\nlogsource:\n  category: process_creation\n  product: windows\n"

// TestDetection: every part of the rules specification and every modifier,
// against documents that must and must not match.
func TestDetection(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name      string
		detection string
		match     []event.Document
		noMatch   []event.Document
	}{
		{"case-insensitive equality", "sel:\n  Image: 'C:\\Windows\\System32\\CMD.exe'\ncondition: sel",
			[]event.Document{sysmon1("Image", `c:\windows\system32\cmd.exe`)},
			[]event.Document{sysmon1("Image", `c:\windows\system32\cmd.exe2`), doc("Security", "1", "Image", `c:\windows\system32\cmd.exe`), doc(sysmonChannel, "2", "Image", `c:\windows\system32\cmd.exe`)}},
		{"wildcards", "sel:\n  Image: '*\\cm?.exe'\ncondition: sel",
			[]event.Document{sysmon1("Image", `C:\x\cmd.exe`)}, []event.Document{sysmon1("Image", `C:\x\cmdd.exe`)}},
		{"escaped wildcard", "sel:\n  CommandLine: 'a\\*b*'\ncondition: sel",
			[]event.Document{sysmon1("CommandLine", `A*Bcd`)}, []event.Document{sysmon1("CommandLine", `axbcd`)}},
		{"escaped backslash", "sel:\n  CommandLine: 'a\\\\*'\ncondition: sel",
			[]event.Document{sysmon1("CommandLine", `a\xyz`)}, []event.Document{sysmon1("CommandLine", `b\xyz`)}},
		{"trailing backslash before an added wildcard", "sel:\n  TargetObject|contains: '\\PowerShell\\'\ncondition: sel",
			[]event.Document{sysmon1("TargetObject", `HKU\x\PowerShell\ScriptBlockLogging`)}, []event.Document{sysmon1("TargetObject", `HKU\x\PowerShell*`)}},
		{"list is or", "sel:\n  Image|endswith:\n    - '\\a.exe'\n    - '\\b.exe'\ncondition: sel",
			[]event.Document{sysmon1("Image", `C:\A.EXE`), sysmon1("Image", `C:\b.exe`)}, []event.Document{sysmon1("Image", `C:\c.exe`)}},
		{"map is and", "sel:\n  Image|endswith: '\\a.exe'\n  CommandLine|contains: 'x'\ncondition: sel",
			[]event.Document{sysmon1("Image", `C:\a.exe`, "CommandLine", "yxy")}, []event.Document{sysmon1("Image", `C:\a.exe`, "CommandLine", "y")}},
		{"list of maps is or", "sel:\n  - Image: a\n  - CommandLine: b\ncondition: sel",
			[]event.Document{sysmon1("Image", "A"), sysmon1("CommandLine", "B")}, []event.Document{sysmon1("Image", "b")}},
		{"contains all", "sel:\n  CommandLine|contains|all:\n    - ' -a'\n    - ' -b'\ncondition: sel",
			[]event.Document{sysmon1("CommandLine", "x -b -a")}, []event.Document{sysmon1("CommandLine", "x -a")}},
		{"startswith", "sel:\n  CommandLine|startswith: 'ab'\ncondition: sel",
			[]event.Document{sysmon1("CommandLine", "ABc")}, []event.Document{sysmon1("CommandLine", "cab")}},
		{"cased", "sel:\n  CommandLine|cased: 'Ab'\ncondition: sel",
			[]event.Document{sysmon1("CommandLine", "Ab")}, []event.Document{sysmon1("CommandLine", "ab")}},
		{"windash", "sel:\n  CommandLine|windash|contains: ' -enc '\ncondition: sel",
			[]event.Document{sysmon1("CommandLine", "ps /enc x"), sysmon1("CommandLine", "ps –enc x"), sysmon1("CommandLine", "ps -ENC x"), sysmon1("CommandLine", "ps ―enc x")},
			[]event.Document{sysmon1("CommandLine", "ps +enc x")}},
		{"base64", "sel:\n  CommandLine|base64: 'hello'\ncondition: sel",
			[]event.Document{sysmon1("CommandLine", b64("hello"))}, []event.Document{sysmon1("CommandLine", "hello")}},
		{"base64offset contains", "sel:\n  CommandLine|base64offset|contains: 'http'\ncondition: sel",
			[]event.Document{sysmon1("CommandLine", b64("http://x")), sysmon1("CommandLine", b64("_http://x")), sysmon1("CommandLine", b64("__http://x"))},
			[]event.Document{sysmon1("CommandLine", b64("htp://x"))}},
		{"wide base64offset", "sel:\n  CommandLine|wide|base64offset|contains: 'ab'\ncondition: sel",
			[]event.Document{sysmon1("CommandLine", b64("a\x00b\x00")), sysmon1("CommandLine", "x"+b64("zza\x00b\x00c\x00"))}, []event.Document{sysmon1("CommandLine", b64("ab"))}},
		{"utf16le, utf16be, utf16", "sel1:\n  A|utf16le: 'a'\nsel2:\n  B|utf16be: 'a'\nsel3:\n  C|utf16: 'a'\ncondition: all of sel*",
			[]event.Document{sysmon1("A", "a\x00", "B", "\x00a", "C", "\xff\xfea\x00")}, []event.Document{sysmon1("A", "a", "B", "\x00a", "C", "\xff\xfea\x00")}},
		{"re", "sel:\n  CommandLine|re: 'a[0-9]+b'\ncondition: sel",
			[]event.Document{sysmon1("CommandLine", "xxa12bxx")}, []event.Document{sysmon1("CommandLine", "xxA12bxx")}},
		{"re flags", "sel:\n  CommandLine|re|i|s: '^a.b$'\ncondition: sel",
			[]event.Document{sysmon1("CommandLine", "A\nb")}, []event.Document{sysmon1("CommandLine", "A\nbc")}},
		{"re m", "sel:\n  CommandLine|re|m: '^b$'\ncondition: sel",
			[]event.Document{sysmon1("CommandLine", "a\nb\nc")}, []event.Document{sysmon1("CommandLine", "ab")}},
		{"cidr", "sel:\n  DestinationIp|cidr:\n    - 10.0.0.0/8\n    - 'fe80::/10'\ncondition: sel",
			[]event.Document{doc(sysmonChannel, "1", "DestinationIp", "10.1.2.3"), sysmon1("DestinationIp", "fe80::1")}, []event.Document{sysmon1("DestinationIp", "11.0.0.1")}},
		{"exists", "sel:\n  A|exists: true\nfilter:\n  B|exists: false\ncondition: sel and filter",
			[]event.Document{sysmon1("A", "")}, []event.Document{sysmon1("A", "x", "B", "y"), sysmon1("C", "x")}},
		{"null and empty", "sel:\n  A: null\n  B: ''\ncondition: sel",
			[]event.Document{sysmon1("B", ""), sysmon1("A", "", "B", "")}, []event.Document{sysmon1("A", "x", "B", ""), sysmon1("A", "")}},
		{"Correlation is read from the System block", "sel:\n  Correlation_ActivityID|startswith: '{a895'\ncondition: sel",
			[]event.Document{withSystem(sysmon1(), "Correlation_ActivityID", "{A895D499-2626-0001-2AD5-95A82626D901}")},
			[]event.Document{sysmon1("Correlation_ActivityID", "{a895d499-2626-0001-2ad5-95a82626d901}"), withSystem(sysmon1(), "Correlation_RelatedActivityID", "{a895d499-2626-0001-2ad5-95a82626d901}")}},
		{"numbers and comparisons", "sel:\n  EventID: 1\n  A|gt: 10\n  B|lte: 0x10\ncondition: sel",
			[]event.Document{sysmon1("A", "11", "B", "16")}, []event.Document{sysmon1("A", "10", "B", "1"), sysmon1("A", "11", "B", "17")}},
		{"neq", "sel:\n  A|neq:\n    - x\n    - y\ncondition: sel",
			[]event.Document{sysmon1("A", "z")}, []event.Document{sysmon1("A", "Y")}},
		{"fieldref", "sel:\n  A|fieldref: B\nsel2:\n  C|fieldref|endswith: D\ncondition: sel and sel2",
			[]event.Document{sysmon1("A", "X", "B", "x", "C", `C:\a\b.exe`, "D", `B.EXE`)}, []event.Document{sysmon1("A", "X", "B", "y", "C", "b", "D", "b")}},
		{"keywords", "keywords:\n  - 'evil'\n  - 'bad*thing'\ncondition: keywords",
			[]event.Document{sysmon1("A", "x", "B", "very EVIL"), sysmon1("C", "a bad long thing")}, []event.Document{sysmon1("A", "good")}},
		{"keyword with modifiers", "kw:\n  '|contains|all':\n    - foo\n    - bar\ncondition: kw",
			[]event.Document{sysmon1("A", "foo", "B", "bar")}, []event.Document{sysmon1("A", "foo")}},
		{"multi-valued field", "sel:\n  Data|contains: 'HostApplication=powershell'\ncondition: sel",
			[]event.Document{sysmon1("Data", []any{"Stopped", "HostApplication=powershell -x"})}, []event.Document{sysmon1("Data", []any{"a", "b"})}},
		{"not, parentheses, 1 of, all of", "selection_a:\n  A: 1\nselection_b:\n  B: 2\nfilter_x:\n  C: 3\ncondition: (1 of selection_* and not filter_x) or all of them",
			[]event.Document{sysmon1("A", "1"), sysmon1("B", "2"), sysmon1("A", "1", "B", "2", "C", "3")}, []event.Document{sysmon1("A", "1", "C", "3")}},
		{"them skips underscore", "a:\n  A: 1\n_b:\n  B: 2\ncondition: all of them",
			[]event.Document{sysmon1("A", "1")}, []event.Document{sysmon1("B", "2")}},
		{"several conditions are or", "a:\n  A: 1\nb:\n  B: 2\ncondition:\n  - a\n  - b",
			[]event.Document{sysmon1("A", "1"), sysmon1("B", "2")}, []event.Document{sysmon1("C", "2")}},
		{"system fields", "sel:\n  Computer: ws01\n  Provider_Name|exists: false\ncondition: sel",
			[]event.Document{sysmon1()}, nil},
		{"Security 4688 with its field names", "sel:\n  Image|endswith: '\\cmd.exe'\n  ParentImage|endswith: '\\mmc.exe'\ncondition: sel",
			[]event.Document{doc("Security", "4688", "NewProcessName", `C:\cmd.exe`, "ParentProcessName", `C:\mmc.exe`)},
			[]event.Document{doc("Security", "4688", "Image", `C:\cmd.exe`, "ParentImage", `C:\mmc.exe`)}},
		{"expand", "sel:\n  User|expand: '%admins%'\ncondition: sel",
			[]event.Document{sysmon1("User", "root"), sysmon1("User", "ADM")}, []event.Document{sysmon1("User", "bob")}},
	}
	opts := Options{Placeholders: map[string][]string{"admins": {"root", "adm"}}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := head + "detection:\n" + indent(tc.detection)
			p, err := compileRule(t, src, opts)
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range tc.match {
				if !p.Match(d) {
					t.Errorf("match[%d] %v: no match\nquery: %s", i, d, p.Query().Source)
				}
			}
			for i, d := range tc.noMatch {
				if d == nil {
					continue
				}
				if p.Match(d) {
					t.Errorf("noMatch[%d] %v: matches\nquery: %s", i, d, p.Query().Source)
				}
			}
		})
	}
}

func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestFilter: a global filter removes the matches of the rules it names.
func TestFilter(t *testing.T) {
	t.Parallel()
	src := head + "detection:\n  sel:\n    Image|endswith: '\\rar.exe'\n  condition: sel\n" + `---
title: Filter Administrator account
logsource:
    category: process_creation
    product: windows
filter:
    rules:
        - 1
    selection:
        User|startswith: 'adm_'
    condition: selection
`
	p, err := compileRule(t, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Match(sysmon1("Image", `C:\rar.exe`, "User", "bob")) {
		t.Error("filter removed a match it does not cover")
	}
	if p.Match(sysmon1("Image", `C:\rar.exe`, "User", "ADM_bob")) {
		t.Error("filter did not remove the match")
	}
}

// TestUnsupported: what weft cannot run says what it is.
func TestUnsupported(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{head + "detection:\n  sel:\n    A|minute: 1\n  condition: sel\n", "modifier minute"},
		{head + "detection:\n  sel:\n    A|bogus: 1\n  condition: sel\n", `modifier "bogus"`},
		{head + "detection:\n  sel:\n    A|expand: '%nope%'\n  condition: sel\n", "placeholder %nope%"},
		{"title: t\nid: 1\nlogsource:\n  category: file_access\n  product: windows\ndetection:\n  sel:\n    A: 1\n  condition: sel\n", "log source windows/file_access"},
		{"title: t\nid: 1\nlogsource:\n  product: linux\n  service: auth\ndetection:\n  sel:\n    A: 1\n  condition: sel\n", "log source linux/auth"},
		{head + "detection:\n  sel:\n    A|re: '(?<=x)a'\n  condition: sel\n", "regular expression"},
	}
	for _, tc := range tests {
		_, err := compileRule(t, tc.src, Options{})
		var ue *UnsupportedError
		var le *LogSourceError
		if err == nil || (!errors.As(err, &ue) && !errors.As(err, &le)) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want an unsupported %s", tc.src, err, tc.want)
		}
	}
}

// TestBadRules: malformed rules are errors that say where.
func TestBadRules(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{"title: t\nlogsource: {}\n", "detection is missing"},
		{head + "detection:\n  sel:\n    A: 1\n", "no condition"},
		{head + "detection:\n  sel:\n    A: 1\n  condition: sel and\n", "ends too early"},
		{head + "detection:\n  sel:\n    A: 1\n  condition: nope\n", `search "nope"`},
		{head + "detection:\n  sel:\n    A: 1\n  condition: (sel\n", "missing )"},
		{head + "detection:\n  sel:\n    A: 1\n  condition: 1 of x*\n", "no search matches"},
		{head + "detection:\n  sel:\n    A: 1\n  condition: sel | count() > 5\n", "correlation rule"},
		{head + "detection:\n  sel:\n    A|contains|startswith: 1\n  condition: sel\n", "exclude each other"},
		{head + "detection:\n  sel:\n    A:\n      b: 1\n  condition: sel\n", "values must be"},
		{"- a\n- b\n", "mapping"},
		{"title: [\n", "yaml"},
	}
	for _, tc := range tests {
		_, err := compileRule(t, tc.src, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.src, err, tc.want)
		}
	}
}
