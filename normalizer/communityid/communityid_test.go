package communityid

import (
	"net/netip"
	"testing"
)

// Vectors from the specification's baseline (baseline_deflt.json and
// baseline_seed1.json); for ICMP the ports are type and code.
var baseline = []struct {
	proto        uint8
	saddr, daddr string
	sport, dport uint16
	seed0, seed1 string
}{
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 135, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 135, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
	{58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4="},
	{58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8="},
	{58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
	{58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
	{58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8="},
	{58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc="},
	{1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
	{1, "192.168.0.1", "192.168.0.89", 0, 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
	{1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20="},
	{6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
	{6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
	{132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
	{132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
	{6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	{6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	{17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
	{17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
	{46, "10.1.12.1", "10.1.12.2", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
	{46, "10.1.12.2", "10.1.12.1", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
	// Ports given for a protocol without ports do not enter the hash.
	{46, "10.1.12.2", "10.1.12.1", 1234, 80, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
	// An IPv4-mapped IPv6 address hashes as the IPv4 address.
	{6, "::ffff:128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
}

func TestIDBaseline(t *testing.T) {
	t.Parallel()
	for _, v := range baseline {
		f := Flow{
			Source:          netip.MustParseAddr(v.saddr),
			Destination:     netip.MustParseAddr(v.daddr),
			Protocol:        v.proto,
			SourcePort:      v.sport,
			DestinationPort: v.dport,
		}
		if got := ID(f, 0); got != v.seed0 {
			t.Errorf("ID(%d %s:%d -> %s:%d, seed 0) = %s, want %s", v.proto, v.saddr, v.sport, v.daddr, v.dport, got, v.seed0)
		}
		if got := ID(f, 1); got != v.seed1 {
			t.Errorf("ID(%d %s:%d -> %s:%d, seed 1) = %s, want %s", v.proto, v.saddr, v.sport, v.daddr, v.dport, got, v.seed1)
		}
		var buf [Len]byte
		if got := AppendID(append(buf[:0], "x"...), f, 0); string(got) != "x"+v.seed0 {
			t.Errorf("AppendID(%d %s:%d -> %s:%d) = %s, want x%s", v.proto, v.saddr, v.sport, v.daddr, v.dport, got, v.seed0)
		}
		if len(v.seed0) != Len {
			t.Errorf("%s is not Len (%d) long", v.seed0, Len)
		}
	}
}

func TestProtocolNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want uint8
		ok   bool
	}{
		{"tcp", 6, true},
		{"TCP", 6, true},
		{"udp", 17, true},
		{"ipv6-icmp", 58, true},
		{"icmpv6", 58, true},
		{"Sctp", 132, true},
		{"46", 46, true},
		{"254", 254, true},
		{"255", 0, false},
		{"-1", 0, false},
		{"", 0, false},
		{"quic", 0, false},
	}
	for _, tt := range tests {
		got, ok := ProtocolNumber(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ProtocolNumber(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func BenchmarkID(b *testing.B) {
	f := Flow{
		Source:          netip.MustParseAddr("10.20.30.40"),
		Destination:     netip.MustParseAddr("10.20.30.7"),
		Protocol:        TCP,
		SourcePort:      49687,
		DestinationPort: 50122,
	}
	b.ReportAllocs()
	for b.Loop() {
		ID(f, 0)
	}
}
