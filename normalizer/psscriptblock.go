package normalizer

import (
	"crypto/sha1"
	"encoding/base64"
	"math"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// scriptBlockHash is the powershell_operational pipeline's gsub of \s
// (Java's ASCII whitespace) out of the trimmed script block text followed
// by its fingerprint processor with the defaults: SHA-1 of the empty salt,
// a zero delimiter byte and the value's UTF-8, in standard base64. The
// hash then names a script whatever its layout.
func scriptBlockHash(text string) string {
	h := sha1.New()
	h.Write([]byte{0})
	buf := make([]byte, 0, len(text))
	for i := 0; i < len(text); i++ {
		if !isJavaSpace(text[i]) {
			buf = append(buf, text[i])
		}
	}
	h.Write(buf)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// signatureMarker starts the Authenticode block that signed scripts end
// with; the pipeline leaves it (and all after it) out of the statistics.
const signatureMarker = "# SIG # Begin signature block"

// scriptStats are the statistics the powershell_operational pipeline's
// Painless script computes over a script block: Shannon entropy of its
// UTF-16 code units after NFC normalisation, normalised against the
// entropy of a text of that length whose units all differ, the standard
// deviation of the units' surprisal, the length and the number of distinct
// units.
type scriptStats struct {
	entropyBits, entropyNormalized, surprisalStdev float64
	length, uniqueSymbols                          int64
}

// scriptScratch is the script's counting state, kept by the Normalizer so
// a script block costs no allocation once the buffers have grown.
type scriptScratch struct {
	counts []int32  // by UTF-16 code unit; zero between calls
	seen   []uint16 // the units, in order of first appearance
	units  []uint16
	nfc    []byte
	logs   []countLog // log(count/length) of the counts met in one script
}

// countLog memoizes javaLog(count/length) within one script: the units of
// a script share few distinct counts.
type countLog struct {
	count int32
	log   float64
}

// stripSignature is the pipeline's gsub of "(?s)# SIG # Begin signature
// block.+": the first marker and everything after it go, when at least one
// character follows the marker.
func stripSignature(s string) string {
	i := strings.Index(s, signatureMarker)
	if i < 0 || i+len(signatureMarker) == len(s) {
		return s
	}
	return s[:i]
}

// signatureOnly is the script's test for a script block that holds only
// part of a signature: its second line (the first may be cut mid-line) is
// "#", an optional space and 64 base64 characters, a trailing CR aside.
// Every test is on ASCII, so bytes stand for the script's UTF-16 units:
// a line of 64 ASCII bytes is 64 units, and one with other characters
// fails the base64 test in both.
func signatureOnly(s string) bool {
	first := strings.IndexByte(s, '\n')
	if first <= 0 || first+1 >= len(s) {
		return false
	}
	line := s[first+1:]
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if len(line) == 0 || line[0] != '#' {
		return false
	}
	line = line[1:]
	if len(line) > 0 && line[0] == ' ' {
		line = line[1:]
	}
	if len(line) != 64 {
		return false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// scriptBlockStats runs the pipeline's entropy script on the trimmed
// script block text; ok is false where the script sets nothing (an empty
// text once the signature is cut, or a signature fragment). The arithmetic
// is the script's, operation for operation and in its order (units in
// order of first appearance), each product converted to float64 so that
// no fused multiply-add changes a result Java computes in two roundings.
func (sc *scriptScratch) scriptBlockStats(text string) (st scriptStats, ok bool) {
	script := stripSignature(text)
	if script == "" || signatureOnly(script) {
		return st, false
	}
	sc.nfc = norm.NFC.AppendString(sc.nfc[:0], script)
	units := sc.units[:0]
	for b := sc.nfc; len(b) > 0; {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			units = append(units, uint16(r1), uint16(r2))
			continue
		}
		units = append(units, uint16(r))
	}
	sc.units = units
	length := len(units)
	if length == 0 {
		return st, false
	}
	if sc.counts == nil {
		sc.counts = make([]int32, 1<<16)
	}
	counts, seen := sc.counts, sc.seen[:0]
	for _, u := range units {
		if counts[u] == 0 {
			seen = append(seen, u)
		}
		counts[u]++
	}
	invLog2 := 1.0 / javaLog(2.0)
	var entropy, surprisalVar, pSum float64
	logs := sc.logs[:0]
	for _, u := range seen {
		p := float64(counts[u]) / float64(length)
		lp, known := 0.0, false
		for _, l := range logs {
			if l.count == counts[u] {
				lp, known = l.log, true
				break
			}
		}
		if !known {
			lp = javaLog(p)
			logs = append(logs, countLog{counts[u], lp})
		}
		l2p := float64(lp * invLog2)
		pSum += p
		tmp := entropy
		entropy = tmp + float64(float64(p/pSum)*(l2p-tmp))
		surprisalVar += float64(float64(p*(l2p-tmp)) * (l2p - entropy))
		counts[u] = 0
	}
	sc.seen, sc.logs = seen, logs
	surprisalVar = math.Max(0.0, surprisalVar)
	st.surprisalStdev = math.Sqrt(surprisalVar)
	st.entropyBits = -entropy
	if st.entropyBits == 0 {
		st.entropyBits = 0 // -0.0 == 0.0 in Java too: both become 0.0
	}
	if length > 1 {
		maxEntropy := float64(javaLog(float64(length)) * invLog2)
		st.entropyNormalized = math.Min(math.Max(st.entropyBits/maxEntropy, 0), 1)
	}
	st.length, st.uniqueSymbols = int64(length), int64(len(seen))
	return st, true
}

// javaLog is the natural logarithm correctly rounded (to nearest, barring
// cases closer to a tie than 2^-100), as Java's Math.log returns it for all
// but the rarest arguments. Go's math.Log is within one ulp and differs
// from the correctly rounded value for some 7% of the probabilities the
// entropy script takes logarithms of, which would change the last digit of
// the statistics. It works in double-double arithmetic: x = m·2^k with m in
// [√½, √2), log m = 2·atanh(s) with s = (m-1)/(m+1), summed as a series.
func javaLog(x float64) float64 {
	if !(x > 0) || math.IsInf(x, 1) || x < 0x1p-1022 {
		return math.Log(x) // zero, negatives, NaN, infinity, subnormals: not met here
	}
	m, k := math.Frexp(x)
	if m < math.Sqrt2/2 {
		m *= 2
		k--
	}
	f := m - 1 // exact (Sterbenz)
	s := ddDiv(dd{f, 0}, ddAdd(dd{2, 0}, dd{f, 0}))
	s2 := ddMul(s, s)
	sum, t := s, s
	for i := 3.0; ; i += 2 {
		t = ddMul(t, s2)
		term := ddDiv(t, dd{i, 0})
		sum = ddAdd(sum, term)
		if math.Abs(term.hi) < math.Abs(sum.hi)*0x1p-110 || term.hi == 0 {
			break
		}
	}
	r := ddAdd(sum, sum)
	if k != 0 {
		fk := float64(k)
		r = ddAdd(ddMul(dd{fk, 0}, dd{ln2Hi, ln2Lo}), r)
	}
	return r.hi + r.lo
}

// ln2Hi + ln2Lo is log 2 to 106 bits.
const (
	ln2Hi = 0x1.62e42fefa39efp-1
	ln2Lo = 0x1.abc9e3b39803fp-56
)

// dd is a double-double: the unevaluated sum hi + lo, |lo| ≤ ulp(hi)/2.
type dd struct{ hi, lo float64 }

func twoSum(a, b float64) dd {
	s := a + b
	bb := float64(s - a)
	return dd{s, float64(a-float64(s-bb)) + float64(b-bb)}
}

func quickTwoSum(a, b float64) dd {
	s := a + b
	return dd{s, float64(b - float64(s-a))}
}

func ddAdd(a, b dd) dd {
	s := twoSum(a.hi, b.hi)
	t := twoSum(a.lo, b.lo)
	s = quickTwoSum(s.hi, s.lo+t.hi)
	return quickTwoSum(s.hi, s.lo+t.lo)
}

func ddMul(a, b dd) dd {
	p := a.hi * b.hi
	e := math.FMA(a.hi, b.hi, -p)
	e += float64(a.hi*b.lo) + float64(a.lo*b.hi)
	return quickTwoSum(p, e)
}

func ddDiv(a, b dd) dd {
	q1 := a.hi / b.hi
	r := ddAdd(a, ddMul(b, dd{-q1, 0}))
	q2 := r.hi / b.hi
	r = ddAdd(r, ddMul(b, dd{-q2, 0}))
	q3 := r.hi / b.hi
	return ddAdd(quickTwoSum(q1, q2), dd{q3, 0})
}
