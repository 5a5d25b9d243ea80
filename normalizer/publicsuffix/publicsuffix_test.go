package publicsuffix

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/weft-dev/weft/normalizer/publicsuffix/internal/psl"
)

// TestSplit: what Elasticsearch's registered_domain processor writes, as
// its own tests state it (the first group) and as HttpClient's matcher and
// the processor's code give it for the list's other kinds of rule.
func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want Parts
		ok   bool
	}{
		// Elasticsearch's RegisteredDomainProcessorTests.
		{"www.google.com", Parts{"www.google.com", "google.com", "com", "www"}, true},
		{"google.com", Parts{"google.com", "google.com", "com", ""}, true},
		{"", Parts{}, false},
		{".", Parts{}, false},
		{"$", Parts{}, false},
		{"foo.bar.baz", Parts{}, false},
		{"www.books.amazon.co.uk", Parts{"www.books.amazon.co.uk", "amazon.co.uk", "co.uk", "www.books"}, true},
		{"com", Parts{"com", "", "com", ""}, true},
		{"example.com", Parts{"example.com", "example.com", "com", ""}, true},
		{"googleapis.com", Parts{"googleapis.com", "googleapis.com", "com", ""}, true},
		{"content-autofill.googleapis.com", Parts{"content-autofill.googleapis.com", "googleapis.com", "com", "content-autofill"}, true},
		{"global.ssl.fastly.net", Parts{"global.ssl.fastly.net", "global.ssl.fastly.net", "ssl.fastly.net", ""}, true},
		{"1.www.global.ssl.fastly.net", Parts{"1.www.global.ssl.fastly.net", "global.ssl.fastly.net", "ssl.fastly.net", "1.www"}, true},
		{"www.google.co.uk", Parts{"www.google.co.uk", "google.co.uk", "co.uk", "www"}, true},
		{"www.example.ac.uk", Parts{"www.example.ac.uk", "example.ac.uk", "ac.uk", "www"}, true},

		// A private rule is its own registered domain.
		{"octocat.github.io", Parts{"octocat.github.io", "github.io", "io", "octocat"}, true},
		// Wildcard (*.ck) and exception (!www.ck) rules.
		{"foo.bar.ck", Parts{"foo.bar.ck", "foo.bar.ck", "bar.ck", ""}, true},
		{"a.www.ck", Parts{"a.www.ck", "www.ck", "ck", "a"}, true},
		{"foo.kawasaki.jp", Parts{"foo.kawasaki.jp", "", "foo.kawasaki.jp", ""}, true},
		{"a.foo.kawasaki.jp", Parts{"a.foo.kawasaki.jp", "a.foo.kawasaki.jp", "foo.kawasaki.jp", ""}, true},
		{"www.city.kawasaki.jp", Parts{"www.city.kawasaki.jp", "city.kawasaki.jp", "kawasaki.jp", "www"}, true},
		// A public suffix, with a leading dot: matches() drops the dot.
		{"co.uk", Parts{"co.uk", "", "co.uk", ""}, true},
		{".com", Parts{".com", "", ".com", ""}, true},
		{".example.com", Parts{}, false},
		// The matcher lower-cases; the subdomain is searched for in the
		// name as given, so an upper-case name has none.
		{"WWW.Example.COM", Parts{"WWW.Example.COM", "example.com", "com", ""}, true},
		{"www.example.COM", Parts{"www.example.COM", "example.com", "com", ""}, true},
		{"WWW.example.com", Parts{"WWW.example.com", "example.com", "com", "WWW"}, true},
		// The last "." + registered domain in the name.
		{"example.com.example.com", Parts{"example.com.example.com", "example.com", "com", "example.com"}, true},
		// What DNS queries on a Windows network often are.
		{"wpad", Parts{}, false},
		{"dc01.corp.example", Parts{}, false},
		{"www.example.com.", Parts{}, false},
		{"login.microsoftonline.com", Parts{"login.microsoftonline.com", "microsoftonline.com", "com", "login"}, true},
		// Internationalized names: rules are Unicode, labels punycode.
		{"xn--80aswg.xn--p1ai", Parts{"xn--80aswg.xn--p1ai", "xn--80aswg.xn--p1ai", "xn--p1ai", ""}, true},
		{"www.xn--80aswg.xn--p1ai", Parts{"www.xn--80aswg.xn--p1ai", "xn--80aswg.xn--p1ai", "xn--p1ai", "www"}, true},
		{"www.example.中国", Parts{"www.example.中国", "example.中国", "中国", "www"}, true},
		{"xn--p1ai", Parts{"xn--p1ai", "", "xn--p1ai", ""}, true},
	}
	for _, tt := range tests {
		got, ok := Split(tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Split(%q) = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// sourceList is where Debian's publicsuffix package puts the list that
// list_gen.go was made from.
const sourceList = "/usr/share/publicsuffix/public_suffix_list.dat"

// TestTableHoldsTheList looks every rule of the source list up in the
// compiled table, when the source is on this machine and is the same list.
func TestTableHoldsTheList(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(sourceList)
	if err != nil {
		t.Skipf("no source list to check against: %v", err)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != listSHA256 {
		t.Skipf("%s is not the list list_gen.go was made from; go generate makes a table of it", sourceList)
	}
	entries, err := psl.Parse(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != ruleCount {
		t.Errorf("the list has %d rules, the table %d", len(entries), ruleCount)
	}
	listed := make(map[string]bool, len(entries))
	for _, e := range entries {
		listed[e.Key] = true
	}
	for _, e := range entries {
		if kind, ok := lookup("", e.Key); !ok || kind != e.Kind {
			t.Errorf("lookup(%q) = %q, %v; want %q", e.Key, kind, ok, e.Kind)
		}
		if other := e.Key + "x"; !listed[other] {
			if _, ok := lookup("", other); ok {
				t.Errorf("lookup(%q) found a rule the list does not have", other)
			}
		}
	}
}

func TestPunycode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ ace, unicode string }{
		{"p1ai", "рф"},
		{"80aswg", "сайт"},
		{"fiqs8s", "中国"},
		{"bcher-kva", "bücher"},
		{"mnchen-3ya", "münchen"},
		{"egbpdaj6bu4bxfgehfvwxn", "ليهمابتكلموشعربي؟"}, // RFC 3492 7.1 (A)
	} {
		if got, ok := punycodeDecode(tt.ace); !ok || got != tt.unicode {
			t.Errorf("punycodeDecode(%q) = %q, %v; want %q", tt.ace, got, ok, tt.unicode)
		}
		if got, ok := punycodeEncode(tt.unicode); !ok || got != tt.ace {
			t.Errorf("punycodeEncode(%q) = %q, %v; want %q", tt.unicode, got, ok, tt.ace)
		}
	}
	for _, bad := range []string{"9999999999a", "a-é", "zz"} {
		if got, ok := punycodeDecode(bad); ok {
			t.Errorf("punycodeDecode(%q) = %q, want an error", bad, got)
		}
	}
	// Labels that do not decode and encode back stay as they are.
	for _, label := range []string{"xn--", "xn--zz", "xn--abc-", "xn--p1ai-", "www"} {
		if got := labelToUnicode(label); got != label {
			t.Errorf("labelToUnicode(%q) = %q, want it unchanged", label, got)
		}
	}
	if got := toUnicode("www.XN--80ASWG.xn--p1ai."); got != "www.сайт.рф." {
		t.Errorf("toUnicode = %q", got)
	}
}

func FuzzPunycodeRoundTrip(f *testing.F) {
	for _, s := range []string{"bücher", "中国", "a-b", "ñ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		enc, ok := punycodeEncode(s)
		if !ok {
			return
		}
		if dec, ok := punycodeDecode(enc); !ok || dec != s {
			t.Errorf("punycodeDecode(punycodeEncode(%q) = %q) = %q, %v", s, enc, dec, ok)
		}
	})
}

func BenchmarkSplit(b *testing.B) {
	for b.Loop() {
		Split("login.live.com")
		Split("1.www.global.ssl.fastly.net")
		Split("wpad")
	}
}
