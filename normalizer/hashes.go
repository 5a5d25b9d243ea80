package normalizer

import (
	"cmp"
	"slices"
	"strings"
)

// parseHashes reproduces the pipeline's kv processor on Hashes
// (field_split ",", value_split "=") followed by its hash script: keys and
// values lower-cased, empty and all-zero hashes dropped. related lists the
// kept values in the order the script meets them, which is the iteration
// order of the java.util.HashMap the kv processor fills — not the order of
// the Sysmon field — so related.hash comes out as Elasticsearch stores it.
//
// ok is false when the kv processor would have stopped on a part without
// "="; like Elasticsearch it keeps the pairs read before that part. hashes
// is nil when kv produced nothing, and empty (but not nil) when it produced
// only empty hashes, in which case the pipeline still writes an empty
// process.hash object.
func parseHashes(s string) (hashes map[string]any, related []any, bad string, ok bool) {
	type pair struct {
		key    string
		value  string
		more   []string // later values of a repeated key
		bucket uint32
	}
	var pairsBuf [6]pair
	pairs := pairsBuf[:0]
	ok = true
	for _, part := range javaSplit(s, ',') {
		eq := strings.IndexByte(part, '=')
		if eq < 0 {
			ok, bad = false, part
			break
		}
		key, value := part[:eq], part[eq+1:]
		dup := false
		for i := range pairs {
			if pairs[i].key == key {
				// kv appends to an existing key, making a list.
				pairs[i].more = append(pairs[i].more, value)
				dup = true
				break
			}
		}
		if !dup {
			pairs = append(pairs, pair{key: key, value: value})
		}
	}
	if len(pairs) == 0 {
		return nil, nil, bad, ok
	}

	// java.util.HashMap iterates bucket by bucket; a bucket is the spread
	// hash of the key masked by the table size (16, doubling past 75% load),
	// and entries within a bucket keep insertion order.
	capacity := uint32(16)
	for float64(len(pairs)) > 0.75*float64(capacity) {
		capacity *= 2
	}
	for i := range pairs {
		h := uint32(javaStringHash(pairs[i].key))
		pairs[i].bucket = (h ^ h>>16) & (capacity - 1)
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(a.bucket, b.bucket) })

	hashes = make(map[string]any, len(pairs))
	for _, p := range pairs {
		value := p.value
		if len(p.more) > 0 {
			// The script calls toString on the list kv built.
			value = "[" + value + ", " + strings.Join(p.more, ", ") + "]"
		}
		value = strings.ToLower(value)
		if strings.Trim(value, "0") == "" {
			continue
		}
		if related == nil {
			related = make([]any, 0, len(pairs))
		}
		boxed := any(value)
		hashes[hashKey(p.key)] = boxed
		related = append(related, boxed)
	}
	return hashes, related, bad, ok
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
