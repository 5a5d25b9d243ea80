package normalizer

import (
	"encoding/binary"
	"strconv"
	"strings"
	"time"
)

// EVTX parsers and Windows' own XML rendering spell typed values
// differently: golang-evtx writes a GUID as 365ABB72-B17F-5CC8-0000-001082A51E00,
// a HexInt64 as 0x000003e7 and a SYSTEMTIME without zero padding, where
// Windows writes {365abb72-b17f-5cc8-0000-001082a51e00}, 0x3e7 and an ISO
// timestamp. canonicalText puts an EventData value in one form whatever
// the source, so that joins on ProcessGuid, LogonId and the like work
// across collectors. Text that merely contains such a value is left alone.
// GUIDs and hex integers keep their bytes and only say how they are
// written (text); a timestamp, rare in EventData, is rewritten at once.
func canonicalText(v string) text {
	if t, ok := guidOrHex(v); ok {
		return t
	}
	return timeOrPlain(v)
}

// timeOrPlain is canonicalText for a value that is neither a GUID nor a
// hex integer.
func timeOrPlain(v string) text {
	if len(v) >= 15 && isDigit(v[0]) {
		if t, ok := canonicalTime(v); ok {
			return plain(t)
		}
	}
	return plain(v)
}

// guidOrHex is canonicalText for a GUID or a hex integer; ok is false for
// any other value.
func guidOrHex(v string) (text, bool) {
	if len(v) < 3 {
		return text{}, false
	}
	if c := v[0]; c == '{' || isHex(c) {
		if f, ok := guidFormOf(v); ok {
			if c != '{' && hasLowerHex(v) {
				// Windows renders a GUID-typed value in braces and an
				// EVTX parser in upper case without them, so a bare GUID
				// with a lower-case digit is a string insertion
				// (PowerShell's ScriptBlockId and RunspaceId, AD FS's
				// activity id), kept as written, as Winlogbeat keeps it.
				return plain(v), true
			}
			return text{s: v, form: f}, true
		}
		if c == '0' && v[1] == 'x' {
			if f, ok := hexFormOf(v); ok {
				return text{s: v, form: f}, true
			}
		}
	}
	return text{}, false
}

// hasLowerHex says whether v holds one of the letters a-f.
func hasLowerHex(v string) bool {
	for i := 0; i < len(v); i++ {
		if 'a' <= v[i] && v[i] <= 'f' {
			return true
		}
	}
	return false
}

// canonical is canonicalText written out.
func canonical(v string) string { return canonicalText(v).String() }

// canonicalGUID accepts 8-4-4-4-12 hex digits, bare or in braces, in any
// case, and returns Windows' rendering: braces and lower case.
func canonicalGUID(v string) (string, bool) {
	f, ok := guidFormOf(v)
	if !ok {
		return "", false
	}
	return text{s: v, form: f}.String(), true
}

// guidOrAsIs is canonicalGUID, or v itself when v is no GUID.
func guidOrAsIs(v string) string {
	if g, ok := canonicalGUID(v); ok {
		return g
	}
	return v
}

// guidFormOf says whether v is a GUID and whether it is already in
// Windows' form (asIs) or must be written so (guidForm).
func guidFormOf(v string) (form, bool) {
	braced := len(v) == 38 && v[0] == '{' && v[37] == '}'
	if braced {
		v = v[1:37]
	} else if len(v) != 36 {
		return asIs, false
	}
	if v[8] != '-' || v[13] != '-' || v[18] != '-' || v[23] != '-' {
		return asIs, false
	}
	// The 32 digits, eight at a time: 0-7, 9-12 and 14-17, 19-22 and
	// 24-27, 28-35.
	words := [4]uint64{
		le64(v[0:8]),
		uint64(le32(v[9:13])) | uint64(le32(v[14:18]))<<32,
		uint64(le32(v[19:23])) | uint64(le32(v[24:28]))<<32,
		le64(v[28:36]),
	}
	upper := false
	for _, w := range words {
		hex, up := hexWord(w)
		if !hex {
			return asIs, false
		}
		upper = upper || up
	}
	if braced && !upper {
		return asIs, true
	}
	return guidForm, true
}

func le64(s string) uint64 { return binary.LittleEndian.Uint64([]byte(s)) }
func le32(s string) uint32 { return binary.LittleEndian.Uint32([]byte(s)) }

// hexWord reports whether the eight bytes of w are all hex digits, and
// whether any is an upper-case one (A-F).
func hexWord(w uint64) (hex, upper bool) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// inRange has the high bit of each byte of x (all below 0x80) that is
	// in lo..hi.
	inRange := func(x uint64, lo, hi byte) uint64 {
		return (x + (0x80-uint64(lo))*ones) &^ (x + (0x80-uint64(hi)-1)*ones) & highs
	}
	if w&highs != 0 {
		return false, false
	}
	digits := inRange(w, '0', '9')
	letters := inRange(w|0x2020202020202020, 'a', 'f')
	return digits|letters == highs, inRange(w, 'A', 'F') != 0
}

// hexClass classifies bytes for guidFormOf: hexDigit for 0-9, a-f and
// A-F, with upperHex for A-F.
const (
	hexDigit = 1
	upperHex = 2
	hexClass = "" +
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00\x00" + // 0-9
		"\x00\x03\x03\x03\x03\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // A-F
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x00\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // a-f
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
)

// hexFormOf says whether v (which starts with 0x) is a hex integer and
// whether it is already written 0x3e7 (asIs) or must be, from 0x000003E7
// (hexForm): the prefix, lower-case digits, no leading zeros.
func hexFormOf(v string) (form, bool) {
	digits := v[2:]
	if len(digits) == 0 || len(digits) > 16 {
		return asIs, false
	}
	changed := len(digits) > 1 && digits[0] == '0'
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if !isHex(c) {
			return asIs, false
		}
		if c >= 'A' && c <= 'F' {
			changed = true
		}
	}
	if changed {
		return hexForm, true
	}
	return asIs, true
}

// canonicalTimeLayout is how Windows renders a FILETIME: UTC with its full
// 100 ns precision.
const canonicalTimeLayout = "2006-01-02T15:04:05.0000000Z"

// canonicalTime rewrites timestamps with a 'T' separator — RFC 3339 with
// any offset and precision, or golang-evtx's unpadded SYSTEMTIME
// ("2015-12-10T7:5:3.51Z") — in canonicalTimeLayout. Sysmon's own UtcTime
// ("2015-12-10 07:05:03.510") has a space and is not touched.
func canonicalTime(v string) (string, bool) {
	if v[4] != '-' || strings.IndexByte(v, 'T') < 0 {
		return "", false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		var ok bool
		if t, ok = parseSysTime(v); !ok {
			return "", false
		}
	}
	s := t.UTC().Format(canonicalTimeLayout)
	return s, true
}

// parseSysTime reads golang-evtx's rendering of a SYSTEMTIME:
// year-month-dayThour:minute:second.millisecondsZ, each without padding.
func parseSysTime(v string) (time.Time, bool) {
	if !strings.HasSuffix(v, "Z") {
		return time.Time{}, false
	}
	var n [7]int
	rest := v[:len(v)-1]
	seps := "--T::."
	for i := range n {
		end := len(rest)
		if i < len(seps) {
			end = strings.IndexByte(rest, seps[i])
			if end < 0 {
				return time.Time{}, false
			}
		}
		x, err := strconv.Atoi(rest[:end])
		if err != nil || x < 0 {
			return time.Time{}, false
		}
		n[i] = x
		if end < len(rest) {
			rest = rest[end+1:]
		} else {
			rest = ""
		}
	}
	if n[1] < 1 || n[1] > 12 || n[2] < 1 || n[2] > daysIn(n[0], n[1]) || n[3] > 23 || n[4] > 59 || n[5] > 59 || n[6] > 999 {
		return time.Time{}, false
	}
	return time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], n[6]*int(time.Millisecond), time.UTC), true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func isHex(c byte) bool { return hexClass[c] != 0 }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
