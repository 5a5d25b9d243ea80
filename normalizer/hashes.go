package normalizer

import "strings"

// hashPair is one entry of the hashes object.
type hashPair struct {
	key   string
	value text
}

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
func parseHashes(s string, pairs []hashPair, related []text) (outPairs []hashPair, outRelated []text, produced bool, bad string, ok bool) {
	type kv struct {
		key, value string
		more       []string // later values of a repeated key
		bucket     uint32
	}
	var kvsBuf [8]kv
	kvs := kvsBuf[:0]
	ok = true
	// Sysmon writes hashes in upper case. An ASCII value is kept as it is
	// and written lower-case (lowerForm), which costs no allocation.
	ascii := isASCII(s)
	// Java's split drops trailing empty parts: a run of separators at the
	// end splits off nothing, but without any separator the text is one part.
	end, more := len(s), true
	if strings.IndexByte(s, ',') >= 0 {
		end = len(strings.TrimRight(s, ","))
		more = end > 0
	}
	for pos := 0; more; {
		part := s[pos:end]
		if i := strings.IndexByte(part, ','); i >= 0 {
			part, pos = part[:i], pos+i+1
		} else {
			more = false
		}
		eq := strings.IndexByte(part, '=')
		if eq < 0 {
			ok, bad = false, part
			break
		}
		key, value := part[:eq], part[eq+1:]
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
			// Set in place: a struct built and then copied in stalls.
			if len(kvs) == cap(kvs) {
				kvs = append(kvs, kv{})
			} else {
				kvs = kvs[:len(kvs)+1]
			}
			e := &kvs[len(kvs)-1]
			e.key, e.value, e.more = key, value, nil
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
		h := uint32(hashKeyCode(kvs[i].key))
		kvs[i].bucket = (h ^ h>>16) & (capacity - 1)
	}
	// Insertion sort of indexes, stable: a handful of hashes.
	var orderBuf [8]int
	order := orderBuf[:0]
	for i := range kvs {
		j := len(order)
		order = append(order, i)
		for j > 0 && kvs[order[j-1]].bucket > kvs[i].bucket {
			order[j] = order[j-1]
			j--
		}
		order[j] = i
	}

	for _, i := range order {
		p := &kvs[i]
		var value text
		switch {
		case len(p.more) > 0:
			// The script calls toString on the list kv built.
			value = plain(strings.ToLower("[" + p.value + ", " + strings.Join(p.more, ", ") + "]"))
		case ascii:
			value = text{s: p.value, form: lowerForm}
		default:
			value = plain(strings.ToLower(p.value))
		}
		if allZeros(value.s) {
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
			if len(pairs) == cap(pairs) {
				pairs = append(pairs, hashPair{})
			} else {
				pairs = pairs[:len(pairs)+1]
			}
			e := &pairs[len(pairs)-1]
			e.key, e.value = k, value
		}
	}
	return pairs, related, true, bad, ok
}

// allZeros reports whether s is empty or only zeros, as the script's
// hashIsEmpty (^0*$) does.
func allZeros(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
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

// hashKeyCode is javaStringHash of a Hashes key, without computing it for
// Sysmon's own (TestJavaStringHash checks the constants).
func hashKeyCode(k string) int32 {
	switch k {
	case "SHA1":
		return 2543909
	case "MD5":
		return 76158
	case "SHA256":
		return -1850268089
	case "IMPHASH":
		return -1651171654
	}
	return javaStringHash(k)
}
