package listen

import (
	"net"
	"strconv"
	"testing"

	"github.com/rs/zerolog"
)

// TestAsConfigured checks that a listener is named by the address it was
// configured with and the port it was given, not by what the socket says
// (0.0.0.0 binds as "[::]"). Only loopback is bound; the wildcard cases
// give AsConfigured the address such a socket reports.
func TestAsConfigured(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		configured string
		bound      net.Addr
		want       string
	}{
		{"0.0.0.0:8080", &net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "0.0.0.0:8080"},
		{"0.0.0.0:0", &net.TCPAddr{IP: net.IPv6unspecified, Port: 40123}, "0.0.0.0:40123"},
		{":5140", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5140}, "127.0.0.1:5140"},
		{"5140", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5140}, "127.0.0.1:5140"},
		{"[::]:9000", &net.TCPAddr{IP: net.IPv6unspecified, Port: 9000}, "[::]:9000"},
		{"collector.corp.example:5044", &net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 5044}, "collector.corp.example:5044"},
	} {
		if got := AsConfigured(tc.configured, tc.bound); got != tc.want {
			t.Errorf("AsConfigured(%q, %v) = %q, want %q", tc.configured, tc.bound, got, tc.want)
		}
	}

	for _, tc := range []struct {
		listen, host string
	}{
		{"127.0.0.1:0", "127.0.0.1"},
		{"0", "127.0.0.1"},
		{"localhost:0", "localhost"},
	} {
		l, err := Open(KindHTTP, Config{Listen: tc.listen}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		want := KindHTTP + " " + net.JoinHostPort(tc.host, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
		if got := l.Name(); got != want {
			t.Errorf("listen %q: Name %q, want %q", tc.listen, got, want)
		}
		l.Close()
	}
}
