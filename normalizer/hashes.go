package normalizer

import (
	"cmp"
	"slices"
	"strings"
)

// hashPair is one entry of the hashes object.
type hashPair struct{ key, value string }

// parseHashes reproduces the pipeline's kv processor on Hashes
// (field_split ",", value_split "=") followed by its hash script: keys and
// values lower-cased, empty and all-zero hashes dropped. It appends the
// kept hashes to pairs and their values to related, in the order the
// script meets them, which is the iteration order of the java.util.HashMap
// the kv processor fills — not the order of the Sysmon field — so
// related.hash comes out as Elasticsearch stores it.
//
// ok is false when the kv processor would have stopped on a part without
// "="; like Elasticsearch it keeps the pairs read before that part.
// produced is false when kv produced nothing; when it produced only empty
// hashes, pairs gains nothing but the pipeline still writes an empty
// process.hash object.
func parseHashes(s string, pairs []hashPair, related []string) (outPairs []hashPair, outRelated []string, produced bool, bad string, ok bool) {
	type kv struct {
		key, value string
		more       []string // later values of a repeated key
		bucket     uint32
	}
	var kvsBuf [8]kv
	kvs := kvsBuf[:0]
	ok = true
	// Sysmon writes hashes in upper case: lower-casing the whole field at
	// once costs one allocation instead of one per hash. The offsets of
	// the lower-cased text match the original's only for ASCII text.
	low, ascii := asciiLower(s)
	// Java's split drops trailing empty parts: a run of separators at the
	// end splits off nothing, but without any separator the text is one part.
	end, more := len(s), true
	if strings.IndexByte(s, ',') >= 0 {
		end = len(strings.TrimRight(s, ","))
		more = end > 0
	}
	for pos := 0; more; {
		part := s[pos:end]
		next := end
		if i := strings.IndexByte(part, ','); i >= 0 {
			part, next = part[:i], pos+i+1
		} else {
			more = false
		}
		eq := strings.IndexByte(part, '=')
		if eq < 0 {
			ok, bad = false, part
			break
		}
		key, value := part[:eq], part[eq+1:]
		if ascii {
			value = low[pos+eq+1 : pos+len(part)]
		}
		pos = next
		dup := false
		for i := range kvs {
			if kvs[i].key == key {
				// kv appends to an existing key, making a list.
				kvs[i].more = append(kvs[i].more, value)
				dup = true
				break
			}
		}
		if !dup {
			kvs = append(kvs, kv{key: key, value: value})
		}
	}
	if len(kvs) == 0 {
		return pairs, related, false, bad, ok
	}

	// java.util.HashMap iterates bucket by bucket; a bucket is the spread
	// hash of the key masked by the table size (16, doubling past 75% load),
	// and entries within a bucket keep insertion order.
	capacity := uint32(16)
	for float64(len(kvs)) > 0.75*float64(capacity) {
		capacity *= 2
	}
	for i := range kvs {
		h := uint32(javaStringHash(kvs[i].key))
		kvs[i].bucket = (h ^ h>>16) & (capacity - 1)
	}
	slices.SortStableFunc(kvs, func(a, b kv) int { return cmp.Compare(a.bucket, b.bucket) })

	for _, p := range kvs {
		value := p.value
		if len(p.more) > 0 {
			// The script calls toString on the list kv built.
			value = "[" + value + ", " + strings.Join(p.more, ", ") + "]"
		}
		if len(p.more) > 0 || !ascii {
			value = strings.ToLower(value)
		}
		if strings.Trim(value, "0") == "" {
			continue
		}
		related = append(related, value)
		k := hashKey(p.key)
		dup := false
		for i := range pairs {
			// Keys equal but for case meet in one entry; the last value wins.
			if pairs[i].key == k {
				pairs[i].value, dup = value, true
				break
			}
		}
		if !dup {
			pairs = append(pairs, hashPair{key: k, value: value})
		}
	}
	return pairs, related, true, bad, ok
}

// hashKey lower-cases a Hashes key, without allocating for Sysmon's own.
func hashKey(k string) string {
	switch k {
	case "SHA1":
		return "sha1"
	case "MD5":
		return "md5"
	case "SHA256":
		return "sha256"
	case "IMPHASH":
		return "imphash"
	}
	return strings.ToLower(k)
}

// asciiLower lower-cases s when it is ASCII (ok true); without an upper-case
// letter it returns s itself.
func asciiLower(s string) (lower string, ok bool) {
	first := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return "", false
		}
		if first < 0 && 'A' <= c && c <= 'Z' {
			first = i
		}
	}
	if first < 0 {
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:first])
	for i := first; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String(), true
}
