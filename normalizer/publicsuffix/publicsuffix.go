package publicsuffix

import (
	"strings"

	"github.com/weft-dev/weft/normalizer/publicsuffix/internal/psl"
)

// Parts are the fields the registered_domain processor writes for a name;
// an empty one is a field it does not write.
type Parts struct {
	Domain           string // the name itself
	RegisteredDomain string // the public suffix and one label before it
	TopLevelDomain   string // the public suffix ("effective TLD")
	Subdomain        string // what comes before the registered domain
}

// Split returns what the registered_domain processor writes for name. ok
// is false when the processor finds no domain information ("unable to set
// domain information for document"), which the processor's ignore_missing
// turns into writing nothing.
//
// The quirks are Elasticsearch's: the matcher lower-cases ASCII letters,
// so RegisteredDomain and TopLevelDomain are lower-case, but Domain and
// Subdomain are cut from name as given (a Subdomain is written only when
// name contains "." and the lower-cased registered domain, case and all);
// a name under a rule of the list's private section has that rule as its
// registered domain ("1.www.global.ssl.fastly.net" gives
// "global.ssl.fastly.net"), not the rule and one more label; and a name
// that is itself a public suffix gets Domain and TopLevelDomain only.
func Split(name string) (p Parts, ok bool) {
	root, found := domainRoot(name)
	if !found {
		if isPublicSuffix(name) {
			return Parts{Domain: name, TopLevelDomain: name}, true
		}
		return Parts{}, false
	}
	dot := strings.IndexByte(root, '.')
	if dot < 0 {
		// A name with no rule of the list at all.
		return Parts{}, false
	}
	if dot+1 == len(root) {
		// The processor's DomainInfo of four nulls: found, nothing to write.
		return Parts{}, true
	}
	p = Parts{Domain: name, RegisteredDomain: root, TopLevelDomain: root[dot+1:]}
	if i := lastIndexDotted(name, root); i > 0 {
		p.Subdomain = name[:i]
	}
	return p, true
}

// lastIndexDotted is Java's name.lastIndexOf("." + root), without joining
// the two.
func lastIndexDotted(name, root string) int {
	end := len(name)
	for {
		i := strings.LastIndex(name[:end], root)
		if i < 0 {
			return -1
		}
		if i > 0 && name[i-1] == '.' {
			return i - 1
		}
		if i == 0 {
			return -1
		}
		// Occurrences may overlap: look again for one starting before i.
		end = i + len(root) - 1
	}
}

// isPublicSuffix is PublicSuffixMatcher.matches: the name, less one
// leading dot, has no registrable part.
func isPublicSuffix(name string) bool {
	_, found := domainRoot(strings.TrimPrefix(name, "."))
	return !found
}

// domainRoot is PublicSuffixMatcher.getDomainRoot(name, null) of
// HttpClient 4.5.14, which Elasticsearch uses: found is false where it
// returns null. It walks the name's suffixes, longest first; an exception
// rule makes the suffix the root, a rule (or a wildcard rule on the next
// suffix) makes the previous suffix the root, except that a private rule
// makes the suffix itself the root.
func domainRoot(name string) (root string, found bool) {
	if strings.HasPrefix(name, ".") {
		return "", false
	}
	segment := lowerASCII(name)
	// Rules are written in Unicode; HttpClient looks a suffix up through
	// IDN.toUnicode, so labels in punycode are looked up decoded.
	key := segment
	if strings.Contains(segment, "xn--") {
		key = toUnicode(segment)
	}
	for {
		if _, ok := lookup("!", key); ok {
			return segment, true
		}
		if kind, ok := lookup("", key); ok {
			if kind == psl.Private {
				return segment, true
			}
			return root, found
		}
		dot := strings.IndexByte(segment, '.')
		if dot < 0 {
			return segment, true
		}
		nextKey := key[strings.IndexByte(key, '.')+1:]
		if kind, ok := lookup("*.", nextKey); ok {
			if kind == psl.Private {
				return segment, true
			}
			return root, found
		}
		root, found = segment, true
		segment, key = segment[dot+1:], nextKey
	}
}

// lookup finds the rule prefix+key in the table.
func lookup(prefix, key string) (kind byte, ok bool) {
	const mask = 1<<psl.TableBits - 1
	for i := psl.Hash(prefix, key) & mask; ; i = (i + 1) & mask {
		off := psl.Slot(table, i)
		if off == 0 {
			return 0, false
		}
		e := rules[off-1:]
		name := e[1:strings.IndexByte(e, '\n')]
		if len(name) == len(prefix)+len(key) && name[:len(prefix)] == prefix && name[len(prefix):] == key {
			return e[0], true
		}
	}
}

// lowerASCII is HttpClient's DnsUtils.normalize: ASCII letters lower-cased,
// anything else left alone.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
