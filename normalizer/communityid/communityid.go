package communityid

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// IANA protocol numbers that change how a flow is hashed.
const (
	ICMP   = 1
	TCP    = 6
	UDP    = 17
	ICMPv6 = 58
	SCTP   = 132
)

// Flow is one direction of a flow as it was observed. For ICMP and ICMPv6,
// SourcePort carries the ICMP type and DestinationPort the ICMP code, as in
// the specification's tuple notation.
type Flow struct {
	Source, Destination         netip.Addr
	Protocol                    uint8
	SourcePort, DestinationPort uint16
}

// Len is the length of a Community ID.
const Len = len("1:") + 28

// ID returns the flow's Community ID ("1:" followed by the base64 of the
// SHA-1 digest) for the given seed. Both directions of a flow give the same
// id. IPv4-mapped IPv6 addresses hash as the IPv4 address they carry, as
// Elasticsearch's processor does (Java turns them into IPv4 addresses).
func ID(f Flow, seed uint16) string {
	var out [Len]byte
	return string(AppendID(out[:0], f, seed))
}

// AppendID appends the flow's Community ID, as ID returns it, to dst.
func AppendID(out []byte, f Flow, seed uint16) []byte {
	src, dst := f.Source.Unmap(), f.Destination.Unmap()
	sport, dport := f.SourcePort, f.DestinationPort
	ports := hasPorts(f.Protocol)
	if !ports {
		sport, dport = 0, 0
	}

	keep := less(src, dst) || (src == dst && sport < dport)
	if f.Protocol == ICMP || f.Protocol == ICMPv6 {
		// The type of a reply maps back to the type of its request, so
		// both directions hash alike; unpaired types are one-way and keep
		// their order.
		if eq, ok := icmpCounterpart(f.Protocol == ICMPv6, sport); ok {
			dport = eq
			keep = less(src, dst) || (src == dst && sport < dport)
		} else {
			keep = true
		}
	}
	if !keep {
		src, dst = dst, src
		sport, dport = dport, sport
	}

	// seed(2) + two addresses (up to 16 each) + proto(1) + pad(1) + ports(4)
	var buf [2 + 16 + 16 + 2 + 4]byte
	b := binary.BigEndian.AppendUint16(buf[:0], seed)
	b = appendAddr(b, src)
	b = appendAddr(b, dst)
	b = append(b, f.Protocol, 0)
	if ports {
		b = binary.BigEndian.AppendUint16(b, sport)
		b = binary.BigEndian.AppendUint16(b, dport)
	}
	sum := sha1.Sum(b)
	return base64.StdEncoding.AppendEncode(append(out, "1:"...), sum[:])
}

// ProtocolNumber resolves a transport name (tcp, udp, icmp, ipv6-icmp, …,
// any case) or a decimal protocol number the way Elasticsearch's
// community_id processor does; ok is false for anything else.
func ProtocolNumber(transport string) (proto uint8, ok bool) {
	switch lowerASCII(transport) {
	case "icmp":
		return ICMP, true
	case "igmp":
		return 2, true
	case "tcp":
		return TCP, true
	case "udp":
		return UDP, true
	case "gre":
		return 47, true
	case "ipv6-icmp", "icmpv6":
		return ICMPv6, true
	case "eigrp":
		return 88, true
	case "ospf":
		return 89, true
	case "pim":
		return 103, true
	case "sctp":
		return SCTP, true
	}
	n, ok := parseSmallInt(transport)
	// 255 is reserved: Elasticsearch rejects it, and so do we.
	if !ok || n > 254 {
		return 0, false
	}
	return uint8(n), true
}

func hasPorts(proto uint8) bool {
	switch proto {
	case TCP, UDP, SCTP, ICMP, ICMPv6:
		return true
	}
	return false
}

func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return append(b, v[:]...)
	}
	v := a.As16()
	return append(b, v[:]...)
}

// less orders addresses numerically, as Elasticsearch compares them as
// unsigned big integers; for two addresses of one family that is the
// byte order the specification asks for.
func less(a, b netip.Addr) bool {
	x, y := a.As16(), b.As16()
	if a.Is4() {
		x = [16]byte{12: x[12], 13: x[13], 14: x[14], 15: x[15]}
	}
	if b.Is4() {
		y = [16]byte{12: y[12], 13: y[13], 14: y[14], 15: y[15]}
	}
	for i := range x {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return false
}

// icmpCounterpart is the specification's table of ICMP message types that
// come in request/reply pairs.
func icmpCounterpart(v6 bool, typ uint16) (uint16, bool) {
	if v6 {
		switch typ {
		case 128:
			return 129, true
		case 129:
			return 128, true
		case 133:
			return 134, true
		case 134:
			return 133, true
		case 135:
			return 136, true
		case 136:
			return 135, true
		case 130:
			return 131, true
		case 131:
			return 130, true
		case 139:
			return 140, true
		case 140:
			return 139, true
		case 144:
			return 145, true
		case 145:
			return 144, true
		}
		return 0, false
	}
	switch typ {
	case 8:
		return 0, true
	case 0:
		return 8, true
	case 13:
		return 14, true
	case 14:
		return 13, true
	case 15:
		return 16, true
	case 16:
		return 15, true
	case 10:
		// A router advertisement is often unsolicited, so the reference
		// implementation (after Zeek) treats it as one-way.
		return 9, true
	case 17:
		return 18, true
	case 18:
		return 17, true
	}
	return 0, false
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func parseSmallInt(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
