package normalizer

import (
	"strconv"
	"strings"
	"time"
)

// EVTX parsers and Windows' own XML rendering spell typed values
// differently: golang-evtx writes a GUID as 365ABB72-B17F-5CC8-0000-001082A51E00,
// a HexInt64 as 0x000003e7 and a SYSTEMTIME without zero padding, where
// Windows writes {365abb72-b17f-5cc8-0000-001082a51e00}, 0x3e7 and an ISO
// timestamp. canonical rewrites an EventData value into one form whatever
// the source, so that joins on ProcessGuid, LogonId and the like work
// across collectors. Text that merely contains such a value is left alone.
func canonical(v string) string {
	if len(v) == 0 {
		return v
	}
	switch c := v[0]; {
	case c == '{' || isHex(c):
		if g, ok := canonicalGUID(v); ok {
			return g
		}
		if c == '0' && len(v) > 2 && v[1] == 'x' {
			if h, ok := canonicalHex(v); ok {
				return h
			}
		}
		if len(v) >= 15 && isDigit(c) {
			if t, ok := canonicalTime(v); ok {
				return t
			}
		}
	}
	return v
}

// canonicalGUID accepts 8-4-4-4-12 hex digits, bare or in braces, in any
// case, and returns Windows' rendering: braces and lower case.
func canonicalGUID(v string) (string, bool) {
	orig := v
	braced := len(v) == 38 && v[0] == '{' && v[37] == '}'
	if braced {
		v = v[1:37]
	} else if len(v) != 36 {
		return "", false
	}
	lower := braced
	for i := 0; i < 36; i++ {
		c := v[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
			continue
		}
		if !isHex(c) {
			return "", false
		}
		if c >= 'A' && c <= 'F' {
			lower = false
		}
	}
	if lower {
		return orig, true
	}
	var b [38]byte
	b[0], b[37] = '{', '}'
	for i := 0; i < 36; i++ {
		c := v[i]
		if c >= 'A' && c <= 'F' {
			c += 'a' - 'A'
		}
		b[i+1] = c
	}
	return string(b[:]), true
}

// canonicalHex turns 0x000003E7 into 0x3e7: the prefix, lower-case digits,
// no leading zeros.
func canonicalHex(v string) (string, bool) {
	digits := v[2:]
	if len(digits) == 0 || len(digits) > 16 {
		return "", false
	}
	changed := false
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if !isHex(c) {
			return "", false
		}
		if c >= 'A' && c <= 'F' {
			changed = true
		}
	}
	trimmed := strings.TrimLeft(digits, "0")
	if trimmed == "" {
		trimmed = "0"
	}
	if !changed && len(trimmed) == len(digits) {
		return v, true
	}
	return "0x" + strings.ToLower(trimmed), true
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
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
