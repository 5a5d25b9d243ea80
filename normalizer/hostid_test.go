package normalizer

import (
	"crypto/sha1"
	"testing"
)

func TestHostID(t *testing.T) {
	t.Parallel()
	// Expected values from Python's uuid.uuid5(namespace, name).
	tests := map[string]string{
		"WS01.corp.example.com": "3351a79b-a36d-52f7-aaa2-1dd8a24b74ec",
		"ws01.corp.example.com": "3351a79b-a36d-52f7-aaa2-1dd8a24b74ec",
		"DC01":                  "0920ce90-05a9-5404-a419-7cc7e9dfe31f",
		"":                      "db8044b2-f6f2-5235-bd22-dc407403eeb7",
	}
	for in, want := range tests {
		if got := HostID(in); got != want {
			t.Errorf("HostID(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestHostNamespace checks the documented derivation of the namespace:
// the version 5 UUID of its URL in the RFC 9562 URL namespace.
func TestHostNamespace(t *testing.T) {
	t.Parallel()
	urlNamespace := []byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	sum := sha1.Sum(append(urlNamespace, "https://github.com/weft-dev/weft/host.id"...))
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	if string(u) != hostNamespace {
		t.Errorf("hostNamespace = %x, want %x", hostNamespace, u)
	}
}
