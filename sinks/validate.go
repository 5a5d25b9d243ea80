package sinks

import (
	"crypto/x509"
	"errors"
	"os"
	"strings"

	"github.com/weft-dev/weft/internal/confkey"
)

// CheckSecret reports what ResolveSecret would fail on for the secret key
// (url, secret, ...): more than one of key, key_env and key_file set, an
// unset variable, an unreadable or empty file; each problem under its
// key. It returns the secret when it resolves.
func CheckSecret(key, value, env, file string) (string, error) {
	var set []string
	for _, k := range []struct{ key, v string }{{key, value}, {key + "_env", env}, {key + "_file", file}} {
		if k.v != "" {
			set = append(set, k.key)
		}
	}
	if len(set) > 1 {
		return "", confkey.Errorf(set[1], "%s is set too: give only one of %s, %s_env and %s_file", set[0], key, key, key)
	}
	switch {
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || strings.TrimSpace(v) == "" {
			return "", confkey.Errorf(key+"_env", "environment variable %s is not set or empty", env)
		}
		return strings.TrimSpace(v), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", confkey.Errorf(key+"_file", "%v", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", confkey.Errorf(key+"_file", "%s is empty", file)
		}
		return v, nil
	}
	return value, nil
}

// Validate reports every option that cannot work, each with its key: a
// negative value, an unreadable ca_file or one without a certificate.
func (o HTTPOptions) Validate() error {
	var errs []error
	for _, f := range []struct {
		key string
		v   int64
	}{
		{"timeout", int64(o.Timeout)}, {"attempts", int64(o.Attempts)}, {"backoff", int64(o.Backoff)},
		{"max_backoff", int64(o.MaxBackoff)}, {"max_retry_after", int64(o.MaxRetryAfter)},
	} {
		if f.v < 0 {
			errs = append(errs, confkey.Errorf(f.key, "must not be negative"))
		}
	}
	if o.CAFile != "" {
		errs = append(errs, CheckCAFile("ca_file", o.CAFile))
	}
	return errors.Join(errs...)
}

// CheckCAFile reports a CA bundle that cannot be read or holds no PEM
// certificate, under key.
func CheckCAFile(key, path string) error {
	pem, err := os.ReadFile(path)
	if err != nil {
		return confkey.Errorf(key, "%v", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return confkey.Errorf(key, "%s holds no PEM certificate", path)
	}
	return nil
}
