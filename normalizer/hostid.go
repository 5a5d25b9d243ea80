package normalizer

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// hostNamespace is the weft host-id namespace, itself the name-based UUID
// (version 5) of "https://github.com/weft-dev/weft/host.id" in the RFC 9562
// URL namespace: 0ac44fd3-84de-5978-87d4-77d15a381e72.
const hostNamespace = "\x0a\xc4\x4f\xd3\x84\xde\x59\x78\x87\xd4\x77\xd1\x5a\x38\x1e\x72"

// HostID derives host.id from an event's Computer: the name-based UUID
// (version 5, SHA-1) of the lower-cased computer name in the weft host-id
// namespace 0ac44fd3-84de-5978-87d4-77d15a381e72. EVTX files carry no agent
// id, so the name is the only stable key; the same computer always gets
// the same id, whichever collector read its events.
func HostID(computer string) string {
	h := sha1.New()
	h.Write([]byte(hostNamespace))
	h.Write([]byte(strings.ToLower(computer)))
	var sum [sha1.Size]byte
	u := h.Sum(sum[:0])[:16]
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], u[10:16])
	return string(out[:])
}
