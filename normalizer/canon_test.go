package normalizer

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestCanonical(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		// GUIDs: golang-evtx, braced upper case, Windows' own form.
		{"365ABB72-B17F-5CC8-0000-001082A51E00", "{365abb72-b17f-5cc8-0000-001082a51e00}"},
		{"{365ABB72-B17F-5CC8-0000-001082A51E00}", "{365abb72-b17f-5cc8-0000-001082a51e00}"},
		{"{365abb72-b17f-5cc8-0000-001082a51e00}", "{365abb72-b17f-5cc8-0000-001082a51e00}"},
		// Windows braces a GUID-typed value and an EVTX parser upper-cases
		// it, so a bare GUID in lower case is a string (ScriptBlockId).
		{"365abb72-b17f-5cc8-0000-001082a51e00", "365abb72-b17f-5cc8-0000-001082a51e00"},
		{"365ABB72-b17f-5CC8-0000-001082A51E00", "365ABB72-b17f-5CC8-0000-001082A51E00"},
		{"00000000-0000-0000-0000-000000000000", zeroGUID},
		{"{365abb72-b17f-5cc8-0000-001082a51e00} and more", "{365abb72-b17f-5cc8-0000-001082a51e00} and more"},
		{"365ABB72-B17F-5CC8-0000-001082A51E0G", "365ABB72-B17F-5CC8-0000-001082A51E0G"},
		// Hex integers: golang-evtx pads HexInt64 to 8 digits, HexInt32 to 4.
		{"0x000003e7", "0x3e7"},
		{"0x0000f4be", "0xf4be"},
		{"0x1FFFFF", "0x1fffff"},
		{"0x0000", "0x0"},
		{"0x3e7", "0x3e7"},
		{"0x", "0x"},
		{"0xZZ", "0xZZ"},
		{"0x1234567890abcdef0", "0x1234567890abcdef0"},
		// Timestamps: FILETIME (RFC 3339, any offset) and SYSTEMTIME.
		{"2015-12-10T17:56:53.515800800Z", "2015-12-10T17:56:53.5158008Z"},
		{"2015-12-10T18:56:53.5158008+01:00", "2015-12-10T17:56:53.5158008Z"},
		{"2015-12-10T7:5:3.51Z", "2015-12-10T07:05:03.0510000Z"},
		{"2015-2-30T7:5:3.51Z", "2015-2-30T7:5:3.51Z"},
		// Sysmon's UtcTime and ordinary text are left alone.
		{"2019-07-18 03:34:01.261", "2019-07-18 03:34:01.261"},
		{"1234", "1234"},
		{"deadbeef", "deadbeef"},
		{`C:\Windows\System32\cmd.exe`, `C:\Windows\System32\cmd.exe`},
		{"", ""},
	}
	for _, tt := range tests {
		if got := canonical(tt.in); got != tt.want {
			t.Errorf("canonical(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestToLong(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"80", 80, true},
		{"+80", 80, true},
		{"-5", -5, true},
		{"0x1F", 31, true},
		{"-0x1F", -31, true},
		{"0x8000000000000000", 0, false},
		{"0X1F", 0, false},
		{"0x", 0, false},
		{"0x-1", 0, false},
		{"1e3", 0, false},
		{"1_000", 0, false},
		{"", 0, false},
		{" 80", 0, false},
	}
	for _, tt := range tests {
		got, ok := toLong(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("toLong(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestToBoolAndIP(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][2]bool{"true": {true, true}, "FALSE": {false, true}, "1": {false, false}, "": {false, false}} {
		if b, ok := toBool(in); b != want[0] || ok != want[1] {
			t.Errorf("toBool(%q) = %v, %v", in, b, ok)
		}
	}
	for in, want := range map[string]bool{
		"10.0.0.1": true, "::1": true, "::ffff:1.2.3.4": true, "2606:4700::6810:84e5": true,
		"1.2.3.04": false, "1.2.3": false, "fe80::1%12": false, "host": false, "": false,
	} {
		if _, ok := parseIP(in); ok != want {
			t.Errorf("parseIP(%q) ok = %v, want %v", in, ok, want)
		}
	}
}

func TestParseSysmonTime(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"2024-03-05 14:22:31.468": "2024-03-05T14:22:31.468Z",
		"2024-02-29 23:59:59.999": "2024-02-29T23:59:59.999Z",
		"2023-02-29 00:00:00.000": "",
		"2024-03-05 24:00:00.000": "",
		"2024-03-05T14:22:31.468": "",
		"2024-03-05 14:22:31":     "",
		"2024-03-05 14:22:31.46x": "",
		"2000-02-29 00:00:00.000": "2000-02-29T00:00:00.000Z",
		"1900-02-29 00:00:00.000": "",
		"1969-12-31 23:59:59.999": "1969-12-31T23:59:59.999Z",
		"0000-02-29 12:00:00.000": "0000-02-29T12:00:00.000Z",
		"9999-12-31 23:59:59.999": "9999-12-31T23:59:59.999Z",
		"2024-04-31 00:00:00.000": "",
	}
	for in, want := range tests {
		got := ""
		if ms, ok := parseSysmonTime(in); ok {
			got = formatMillis(time.UnixMilli(ms))
		}
		if got != want {
			t.Errorf("parseSysmonTime(%q) = %q, want %q", in, got, want)
		}
	}
	// Every day from year 0 to 9999 in steps, against time.Date.
	for d := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 10000; d = d.AddDate(0, 0, 17) {
		in := fmt.Sprintf("%04d-%02d-%02d 13:14:15.678", d.Year(), d.Month(), d.Day())
		ms, ok := parseSysmonTime(in)
		if want := d.Add(13*time.Hour + 14*time.Minute + 15678*time.Millisecond).UnixMilli(); !ok || ms != want {
			t.Fatalf("parseSysmonTime(%q) = %d, %v; want %d", in, ms, ok, want)
		}
	}
}

func TestMustache(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"alice":     "alice",
		`a\b`:       `a\\b`,
		`say "hi"`:  `say \"hi\"`,
		"tab\there": `tab\there`,
		"\x01":      `\u0001`,
		"ünï":       "ünï",
	}
	for in, want := range tests {
		if got := mustache(in); got != want {
			t.Errorf("mustache(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJavaSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{`DOMAIN\user`, []string{"DOMAIN", "user"}},
		{`\user`, []string{"", "user"}},
		{`DOMAIN\`, []string{"DOMAIN"}},
		{`user`, []string{"user"}},
		{`\`, []string{}},
		{``, []string{""}},
		{`a\b\c\\`, []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		if got := javaSplit(tt.in, '\\'); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("javaSplit(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	spaces := []struct {
		in   string
		want []string
	}{
		{"type:  5 www.example.com", []string{"type:", "5", "www.example.com"}},
		{"type:  5", []string{"type:", "5"}},
		{"type:", []string{"type:"}},
		{" a\tb ", []string{"", "a", "b"}},
	}
	for _, tt := range spaces {
		if got := javaSplitSpace(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("javaSplitSpace(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSlotNames(t *testing.T) {
	t.Parallel()
	for s := slot(0); s < numSlots; s++ {
		if got := slotOf(s.name()); got != s {
			t.Errorf("slotOf(%q) = %d, want %d", s.name(), got, s)
		}
	}
	if sTargetProcessGUID >= 64 {
		t.Fatalf("the Sysmon pipeline's %d slots do not fit the presence mask", sTargetProcessGUID+1)
	}
	// numSlots fits a slot (uint8) or the constants would not compile.
	if slotOf("ParentUser") != numSlots {
		t.Error("ParentUser has a slot but the pipeline never reads it")
	}
}

func TestFormatMillis(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2024, 3, 5, 14, 22, 31, 476123400, time.UTC), "2024-03-05T14:22:31.476Z"},
		{time.Date(2024, 3, 5, 15, 22, 31, 999999999, time.FixedZone("CET", 3600)), "2024-03-05T14:22:31.999Z"},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "0001-01-01T00:00:00.000Z"},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "10000-01-01T00:00:00.000Z"},
	} {
		if got := formatMillis(tt.in); got != tt.want {
			t.Errorf("formatMillis(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHexClass(t *testing.T) {
	t.Parallel()
	for c := range 256 {
		b := byte(c)
		hex := '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
		upper := 'A' <= b && b <= 'F'
		if got := hexClass[b]&hexDigit != 0; got != hex {
			t.Errorf("hexClass[%q] hex = %v", b, got)
		}
		if got := hexClass[b]&upperHex != 0; got != upper {
			t.Errorf("hexClass[%q] upper = %v", b, got)
		}
	}
}

func TestHexWord(t *testing.T) {
	t.Parallel()
	check := func(b [8]byte) {
		hex, upper := true, false
		for _, c := range b {
			hex = hex && hexClass[c] != 0
			upper = upper || hexClass[c]&upperHex != 0
		}
		var w uint64
		for i := 7; i >= 0; i-- {
			w = w<<8 | uint64(b[i])
		}
		if gotHex, gotUpper := hexWord(w); gotHex != hex || (hex && gotUpper != upper) {
			t.Fatalf("hexWord(%q) = %v, %v; want %v, %v", b[:], gotHex, gotUpper, hex, upper)
		}
	}
	base := [8]byte{'0', '9', 'a', 'f', 'A', 'F', '5', 'c'}
	check(base)
	for i := range 8 {
		for c := range 256 {
			b := base
			b[i] = byte(c)
			check(b)
		}
	}
}

func TestNeedsEscape(t *testing.T) {
	t.Parallel()
	ref := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
				return true
			}
		}
		return false
	}
	base := []byte("CORP user.name-1 é ~ab")
	for n := 0; n <= len(base); n++ {
		for at := -1; at < n; at++ {
			for c := range 256 {
				b := append([]byte(nil), base[:n]...)
				if at >= 0 {
					b[at] = byte(c)
				}
				if got, want := needsEscape(string(b)), ref(string(b)); got != want {
					t.Fatalf("needsEscape(%q) = %v, want %v", b, got, want)
				}
				if at < 0 {
					break
				}
			}
		}
	}
}

func TestAppendUnixMilli(t *testing.T) {
	t.Parallel()
	// Every 37 days, 7 hours and 1,234 ms from year 0 to 9999, and the edges.
	check := func(tm time.Time) {
		want := tm.UTC().Format("2006-01-02T15:04:05.000Z")
		if got := string(appendUnixMilli(nil, tm.UnixMilli())); got != want {
			t.Fatalf("appendUnixMilli(%v) = %s, want %s", tm, got, want)
		}
	}
	for tm := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC); tm.Year() < 10000; tm = tm.Add(37*24*time.Hour + 7*time.Hour + 1234*time.Millisecond) {
		check(tm)
	}
	for _, tm := range []time.Time{
		time.Unix(0, 0), time.Unix(-1, 0), time.UnixMilli(-1), time.Date(1969, 12, 31, 23, 59, 59, 999e6, time.UTC),
		time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		check(tm)
	}
}
