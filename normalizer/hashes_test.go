package normalizer

import (
	"reflect"
	"testing"
)

func TestParseHashes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		hashes  map[string]any
		related []any
		bad     string
	}{
		{
			// related follows java.util.HashMap order: SHA256, SHA1, MD5, IMPHASH.
			in:      "SHA1=AA11,MD5=BB22,SHA256=CC33,IMPHASH=DD44",
			hashes:  map[string]any{"sha1": "aa11", "md5": "bb22", "sha256": "cc33", "imphash": "dd44"},
			related: []any{"cc33", "aa11", "bb22", "dd44"},
		},
		{
			in:      "MD5=199E1CF5B2250BD515ECCCF4CA686301,IMPHASH=D90D8C7812AEC8DA0FA173AFA1293AB2",
			hashes:  map[string]any{"md5": "199e1cf5b2250bd515ecccf4ca686301", "imphash": "d90d8c7812aec8da0fa173afa1293ab2"},
			related: []any{"199e1cf5b2250bd515ecccf4ca686301", "d90d8c7812aec8da0fa173afa1293ab2"},
		},
		{
			// Empty and all-zero hashes are dropped; a trailing comma is nothing.
			in:      "SHA1=0000000000,MD5=AB,IMPHASH=,",
			hashes:  map[string]any{"md5": "ab"},
			related: []any{"ab"},
		},
		{
			// Only empty hashes: an empty (not absent) map.
			in:     "IMPHASH=00000000000000000000000000000000",
			hashes: map[string]any{},
		},
		{
			in:      "SHA1=AB,SHA1=CD",
			hashes:  map[string]any{"sha1": "[ab, cd]"},
			related: []any{"[ab, cd]"},
		},
		{
			// kv stops at a part without "=" and keeps what it read.
			in:      "SHA1=AB,MD5,SHA256=CD",
			hashes:  map[string]any{"sha1": "ab"},
			related: []any{"ab"},
			bad:     "MD5",
		},
		{in: "SHA1", bad: "SHA1"},
		{in: ",SHA1=AB", bad: ""},
		{in: ","},
	}
	for _, tt := range tests {
		pairs, rel, produced, bad, ok := parseHashes(tt.in, nil, nil)
		var hashes map[string]any
		if produced {
			hashes = map[string]any{}
		}
		for _, p := range pairs {
			hashes[p.key] = p.value.String()
		}
		var related []any
		for _, r := range rel {
			related = append(related, r.String())
		}
		if !reflect.DeepEqual(hashes, tt.hashes) || !reflect.DeepEqual(related, tt.related) {
			t.Errorf("parseHashes(%q) = %v, %q; want %v, %q", tt.in, hashes, related, tt.hashes, tt.related)
		}
		wantOK := tt.bad == "" && tt.in != ",SHA1=AB"
		if ok != wantOK || bad != tt.bad {
			t.Errorf("parseHashes(%q): bad %q ok %v, want %q %v", tt.in, bad, ok, tt.bad, wantOK)
		}
	}
}

func TestJavaStringHash(t *testing.T) {
	t.Parallel()
	// Values of Java's "…".hashCode().
	tests := map[string]int32{"": 0, "a": 97, "SHA1": 2543909, "hello": 99162322, "polygenelubricants": -2147483648}
	for s, want := range tests {
		if got := javaStringHash(s); got != want {
			t.Errorf("javaStringHash(%q) = %d, want %d", s, got, want)
		}
	}
	for _, k := range []string{"SHA1", "MD5", "SHA256", "IMPHASH", "sha1", "SHA384"} {
		if got, want := hashKeyCode(k), javaStringHash(k); got != want {
			t.Errorf("hashKeyCode(%q) = %d, javaStringHash %d", k, got, want)
		}
	}
}
