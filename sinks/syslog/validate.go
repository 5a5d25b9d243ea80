package syslog

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"

	"github.com/weft-dev/weft/internal/confkey"
	"github.com/weft-dev/weft/sinks"
)

// Validate reports every problem New would stop on, each with its key
// (confkey): the network not udp, tcp or tls, TLS keys without tls, the
// address missing or not host:port, the format, facility, hostname,
// sd_id and max_size, and TLS files that cannot be read. It connects to
// nothing.
func (c Config) Validate() error {
	var errs []error
	network, stream := c.Network, false
	switch network {
	case "":
		network = "udp"
	case "udp", "udp4", "udp6":
	case "tcp", "tcp4", "tcp6", "tls":
		stream = true
	default:
		msg := "%q is not udp, tcp or tls (or udp4, udp6, tcp4, tcp6)"
		if best := confkey.Suggest(network, []string{"udp", "tcp", "tls"}); best != "" {
			msg = "%q is not udp, tcp or tls (did you mean " + best + "?)"
		}
		errs = append(errs, confkey.Errorf("network", msg, c.Network))
		network = ""
	}
	if network != "tls" && network != "" {
		for _, k := range []struct{ key, v string }{{"ca_file", c.CAFile}, {"server_name", c.ServerName}, {"cert_file", c.CertFile}, {"key_file", c.KeyFile}} {
			if k.v != "" {
				errs = append(errs, confkey.Errorf(k.key, "applies to network tls only, not %s", network))
			}
		}
	}
	if c.Address == "" {
		errs = append(errs, confkey.Errorf("address", "is required: the receiver's host:port"))
	} else if _, _, err := net.SplitHostPort(c.Address); err != nil {
		if _, _, err := net.SplitHostPort(net.JoinHostPort(c.Address, defaultPort)); err != nil || strings.Contains(c.Address, "]") {
			errs = append(errs, confkey.Errorf("address", "%q is not host:port", c.Address))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, confkey.Errorf("timeout", "must not be negative"))
	}
	switch c.Format {
	case "", "rfc5424", "rfc3164":
	default:
		errs = append(errs, confkey.Errorf("format", "%q is not rfc5424 or rfc3164", c.Format))
	}
	if c.Facility != "" {
		if _, err := parseFacility(c.Facility); err != nil {
			errs = append(errs, confkey.Errorf("facility", "%q is not a facility name (kern … local7) or number 0-23", c.Facility))
		}
	}
	if c.Hostname != "" && headerField(c.Hostname, maxHostname) != c.Hostname {
		errs = append(errs, confkey.Errorf("hostname", "%q must be 1-255 printable ASCII characters", c.Hostname))
	}
	if c.SDID != "" {
		if err := checkSDID(c.SDID); err != nil {
			errs = append(errs, confkey.Errorf("sd_id", "%s", strings.TrimPrefix(err.Error(), "sd_id ")))
		}
	}
	limit := maxTCPSize
	if !stream {
		limit = maxUDPPayload
	}
	if c.MaxSize != 0 && network != "" && (c.MaxSize < 480 || c.MaxSize > limit) {
		errs = append(errs, confkey.Errorf("max_size", "%d is outside 480-%d for %s", c.MaxSize, limit, network))
	}
	if network == "tls" {
		if c.CAFile != "" {
			errs = append(errs, sinks.CheckCAFile("ca_file", c.CAFile))
		}
		switch {
		case (c.CertFile == "") != (c.KeyFile == ""):
			errs = append(errs, confkey.Errorf("cert_file", "cert_file and key_file go together"))
		case c.CertFile != "":
			if _, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile); err != nil {
				errs = append(errs, confkey.Errorf("cert_file", "%v", err))
			}
		}
	}
	if len(errs) == 0 {
		// What only building tells: whether the largest alert fits
		// max_size with this hostname.
		if _, err := build(c); err != nil {
			key := ""
			if strings.HasPrefix(err.Error(), "max_size ") {
				key = "max_size"
			}
			errs = append(errs, &confkey.Error{Key: key, Msg: strings.TrimPrefix(err.Error(), key+" ")})
		}
	}
	return errors.Join(errs...)
}
