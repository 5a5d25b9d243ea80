package normalizer

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// toLong converts as Elasticsearch's convert processor does for type long:
// decimal with an optional sign, or hexadecimal after 0x / -0x.
func toLong(s string) (int64, bool) {
	// Most values are a few decimal digits.
	if len(s) > 0 && len(s) <= 18 {
		n := int64(0)
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !isDigit(c) {
				n = -1
				break
			}
			n = n*10 + int64(c-'0')
		}
		if n >= 0 {
			return n, true
		}
	}
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "-0x") {
		neg := s[0] == '-'
		digits := s[2:]
		if neg {
			digits = s[3:]
		}
		// Java's Long.decode takes no second sign after the prefix.
		if digits == "" || digits[0] == '+' || digits[0] == '-' {
			return 0, false
		}
		u, err := strconv.ParseUint(digits, 16, 64)
		if err != nil {
			return 0, false
		}
		if neg {
			if u > 1<<63 {
				return 0, false
			}
			return -int64(u), true
		}
		if u > 1<<63-1 {
			return 0, false
		}
		return int64(u), true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// toBool converts as Elasticsearch's convert processor does for type
// boolean: "true" or "false" in any case, nothing else.
func toBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// parseIP accepts what Elasticsearch's type ip accepts: dotted-quad IPv4
// and IPv6 (with an embedded IPv4 tail) without a zone.
func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// parseSysmonTime reads Sysmon's UtcTime ("2006-01-02 15:04:05.000", UTC),
// the pipeline's date format yyyy-MM-dd HH:mm:ss.SSS, as milliseconds since
// 1970 (proleptic Gregorian calendar, as time.Date).
func parseSysmonTime(s string) (int64, bool) {
	if len(s) != 23 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' || s[19] != '.' {
		return 0, false
	}
	num := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			c := s[i]
			if !isDigit(c) {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec, milli := num(11, 13), num(14, 16), num(17, 19), num(20, 23)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 59 || milli < 0 || day > daysIn(year, month) {
		return 0, false
	}
	secs := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec)
	return secs*1000 + int64(milli), true
}

// daysSinceEpoch is the number of days from 1970-01-01 to a date of the
// proleptic Gregorian calendar (H. Hinnant's days_from_civil).
func daysSinceEpoch(year, month, day int) int64 {
	y := int64(year)
	if month <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	m := int64(month)
	if m > 2 {
		m -= 3
	} else {
		m += 9
	}
	doy := (153*m+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// formatMillis renders a time as Elasticsearch's date processor and Beats
// both store it: UTC, millisecond precision (truncated), 'Z'.
func formatMillis(t time.Time) string {
	var b [32]byte
	return string(appendMillis(b[:0], t))
}

// appendMillis is formatMillis appending to b.
func appendMillis(b []byte, t time.Time) []byte { return appendUnixMilli(b, t.UnixMilli()) }

// appendUnixMilli is appendMillis for a time in milliseconds since 1970,
// by calendar arithmetic (H. Hinnant's civil_from_days) rather than
// through time.Time.
func appendUnixMilli(b []byte, ms int64) []byte {
	days, msOfDay := ms/86400000, ms%86400000
	if msOfDay < 0 {
		days, msOfDay = days-1, msOfDay+86400000
	}
	z := days + 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	month := mp + 3
	if month > 12 {
		month -= 12
	}
	year := yoe + era*400
	if month <= 2 {
		year++
	}
	if year < 0 || year > 9999 {
		// Outside four digits the layout decides the form; rare enough.
		return time.UnixMilli(ms).UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	}
	d := [24]byte{4: '-', 7: '-', 10: 'T', 13: ':', 16: ':', 19: '.', 23: 'Z'}
	digits := func(at, n, width int) {
		for i := at + width - 1; i >= at; i-- {
			d[i] = byte('0' + n%10)
			n /= 10
		}
	}
	digits(0, int(year), 4)
	digits(5, int(month), 2)
	digits(8, int(day), 2)
	digits(11, int(msOfDay/3600000), 2)
	digits(14, int(msOfDay/60000%60), 2)
	digits(17, int(msOfDay/1000%60), 2)
	digits(20, int(msOfDay%1000), 3)
	return append(b, d[:]...)
}

// mustache renders a value through an ingest template written with double
// braces ({{field}}). Elasticsearch's templates escape such values for JSON,
// so a backslash or quote comes out escaped; the pipeline's templates do
// that to user names, and so must we.
func mustache(s string) string {
	if !needsEscape(s) {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
				continue
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// needsEscape reports whether s holds a control character, a quote or a
// backslash, eight bytes at a time.
func needsEscape(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(x uint64) uint64 { return (x - ones) &^ x & highs }
	for len(s) >= 8 {
		x := binary.LittleEndian.Uint64([]byte(s[:8]))
		// Bytes below 0x20 (those without the high bit, minus 0x20, borrow
		// into it), quotes and backslashes.
		control := (x - 0x20*ones) &^ x & highs
		if control|zero(x^('"'*ones))|zero(x^('\\'*ones)) != 0 {
			return true
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return true
		}
	}
	return false
}

// javaSplit splits like Java's String.split with limit 0 on a one-character
// separator: a leading empty part is kept, trailing empty parts are dropped,
// and text without the separator comes back whole.
func javaSplit(s string, sep byte) []string {
	if strings.IndexByte(s, sep) < 0 {
		return []string{s}
	}
	parts := strings.Split(s, string(sep))
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// javaSplitSpace splits on runs of Java's \s (space, \t, \n, \x0B, \f, \r)
// with Java's limit-0 rules.
func javaSplitSpace(s string) []string {
	isSpace := func(c byte) bool {
		return c == ' ' || c == '\t' || c == '\n' || c == '\x0b' || c == '\f' || c == '\r'
	}
	var parts []string
	start := 0
	for i := 0; i < len(s); {
		if !isSpace(s[i]) {
			i++
			continue
		}
		parts = append(parts, s[start:i])
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		start = i
	}
	parts = append(parts, s[start:])
	if len(parts) == 1 {
		return parts
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// javaStringHash is Java's String.hashCode over UTF-16 code units.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}
