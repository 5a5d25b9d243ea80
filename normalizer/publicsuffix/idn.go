package publicsuffix

import (
	"strings"
	"unicode/utf8"
)

// toUnicode is Java's IDN.toUnicode for an ASCII name, label by label: a
// label "xn--…" becomes the Unicode it encodes when it decodes and encodes
// back to itself (the ToUnicode of RFC 3490); any other label stays. Java
// also applies Nameprep to the decoded label before encoding it back,
// which this does not: a label whose decoding Nameprep would change (upper
// case, unnormalized text) is decoded here where Java keeps it. Such
// labels are not what DNS names are made of.
func toUnicode(name string) string {
	var b strings.Builder
	for i := 0; ; i++ {
		label, rest, more := strings.Cut(name, ".")
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(labelToUnicode(label))
		if !more {
			return b.String()
		}
		name = rest
	}
}

const acePrefix = "xn--"

func labelToUnicode(label string) string {
	if len(label) <= len(acePrefix) || !strings.EqualFold(label[:len(acePrefix)], acePrefix) {
		return label
	}
	decoded, ok := punycodeDecode(label[len(acePrefix):])
	if !ok || isASCII(decoded) || strings.ContainsRune(decoded, '.') {
		return label
	}
	if encoded, ok := punycodeEncode(decoded); !ok || len(acePrefix)+len(encoded) > 63 || !strings.EqualFold(acePrefix+encoded, label) {
		return label
	}
	return decoded
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Punycode (RFC 3492) parameters.
const (
	pcBase        = 36
	pcTMin        = 1
	pcTMax        = 26
	pcSkew        = 38
	pcDamp        = 700
	pcInitialBias = 72
	pcInitialN    = 128
	pcMaxInt      = 1<<31 - 1 // Java's decoder works in int
)

func pcAdapt(delta, numPoints int, first bool) int {
	if first {
		delta /= pcDamp
	} else {
		delta /= 2
	}
	delta += delta / numPoints
	k := 0
	for delta > ((pcBase-pcTMin)*pcTMax)/2 {
		delta /= pcBase - pcTMin
		k += pcBase
	}
	return k + (pcBase-pcTMin+1)*delta/(delta+pcSkew)
}

func pcThreshold(k, bias int) int {
	switch {
	case k <= bias:
		return pcTMin
	case k >= bias+pcTMax:
		return pcTMax
	}
	return k - bias
}

func pcDigit(c byte) (int, bool) {
	switch {
	case 'a' <= c && c <= 'z':
		return int(c - 'a'), true
	case 'A' <= c && c <= 'Z':
		return int(c - 'A'), true
	case '0' <= c && c <= '9':
		return int(c-'0') + 26, true
	}
	return 0, false
}

// punycodeDecode decodes the part of a label after "xn--".
func punycodeDecode(s string) (string, bool) {
	basic := strings.LastIndexByte(s, '-')
	var out []rune
	if basic > 0 {
		for i := 0; i < basic; i++ {
			if s[i] >= utf8.RuneSelf {
				return "", false
			}
			out = append(out, rune(s[i]))
		}
	}
	n, i, bias := pcInitialN, 0, pcInitialBias
	in := 0
	if basic > 0 {
		in = basic + 1
	}
	for in < len(s) {
		oldi, w := i, 1
		for k := pcBase; ; k += pcBase {
			if in >= len(s) {
				return "", false
			}
			digit, ok := pcDigit(s[in])
			in++
			if !ok || digit > (pcMaxInt-i)/w {
				return "", false
			}
			i += digit * w
			t := pcThreshold(k, bias)
			if digit < t {
				break
			}
			if w > pcMaxInt/(pcBase-t) {
				return "", false
			}
			w *= pcBase - t
		}
		count := len(out) + 1
		bias = pcAdapt(i-oldi, count, oldi == 0)
		if i/count > pcMaxInt-n {
			return "", false
		}
		n += i / count
		i %= count
		if n > utf8.MaxRune || (0xd800 <= n && n <= 0xdfff) {
			return "", false
		}
		out = append(out, 0)
		copy(out[i+1:], out[i:])
		out[i] = rune(n)
		i++
	}
	return string(out), true
}

// punycodeEncode encodes a label's code points, without "xn--".
func punycodeEncode(s string) (string, bool) {
	runes := []rune(s)
	var b strings.Builder
	for _, r := range runes {
		if r < pcInitialN {
			b.WriteRune(r)
		}
	}
	basic := b.Len()
	handled := basic
	if basic > 0 {
		b.WriteByte('-')
	}
	n, delta, bias := pcInitialN, 0, pcInitialBias
	for handled < len(runes) {
		m := pcMaxInt
		for _, r := range runes {
			if int(r) >= n && int(r) < m {
				m = int(r)
			}
		}
		if m-n > (pcMaxInt-delta)/(handled+1) {
			return "", false
		}
		delta += (m - n) * (handled + 1)
		n = m
		for _, r := range runes {
			if int(r) < n {
				delta++
				if delta == pcMaxInt {
					return "", false
				}
			}
			if int(r) != n {
				continue
			}
			q := delta
			for k := pcBase; ; k += pcBase {
				t := pcThreshold(k, bias)
				if q < t {
					break
				}
				b.WriteByte(pcDigitChar(t + (q-t)%(pcBase-t)))
				q = (q - t) / (pcBase - t)
			}
			b.WriteByte(pcDigitChar(q))
			bias = pcAdapt(delta, handled+1, handled == basic)
			delta = 0
			handled++
		}
		delta++
		n++
	}
	return b.String(), true
}

func pcDigitChar(d int) byte {
	if d < 26 {
		return byte('a' + d)
	}
	return byte('0' + d - 26)
}
