package webhook

import (
	"errors"
	"strings"

	"github.com/weft-dev/weft/internal/confkey"
	"github.com/weft-dev/weft/sinks"
)

// Validate reports every problem New would stop on, each with its key
// (confkey): the URL missing, given twice or not http(s), a secret or
// header whose variable is unset or whose file cannot be read, a header
// weft sets itself, a negative timeout. It reads the variables and files
// the config names and connects to nothing.
func (c Config) Validate() error {
	var errs []error
	target, err := sinks.CheckSecret("url", c.URL, c.URLEnv, c.URLFile)
	switch {
	case err != nil:
		errs = append(errs, err)
	case target == "":
		errs = append(errs, confkey.Errorf("url", "is required (url, url_env or url_file)"))
	default:
		if err := checkURL(target); err != nil {
			errs = append(errs, confkey.Errorf(secretKey("url", c.URLEnv, c.URLFile), "%v", strings.TrimPrefix(err.Error(), "url ")))
		}
	}
	if _, err := sinks.CheckSecret("secret", c.Secret, c.SecretEnv, c.SecretFile); err != nil {
		errs = append(errs, err)
	}
	headerErrs := len(errs)
	for _, name := range sortedKeys(c.Headers) {
		if _, err := buildHeaders(map[string]string{name: c.Headers[name]}, nil); err != nil {
			errs = append(errs, keyed(name, err))
		}
	}
	for _, name := range sortedKeys(c.HeadersEnv) {
		if _, err := buildHeaders(nil, map[string]string{name: c.HeadersEnv[name]}); err != nil {
			errs = append(errs, keyed(name, err))
		}
	}
	if len(errs) == headerErrs {
		// Each header is fine alone; together one may come twice.
		if _, err := buildHeaders(c.Headers, c.HeadersEnv); err != nil {
			errs = append(errs, keyed("", err))
		}
	}
	errs = append(errs, c.HTTPOptions.Validate())
	return errors.Join(errs...)
}

// secretKey is the key a secret was given by.
func secretKey(key, env, file string) string {
	switch {
	case env != "":
		return key + "_env"
	case file != "":
		return key + "_file"
	}
	return key
}

// keyed turns buildHeaders' "headers: ..." about header name into a
// problem of headers.<name>.
func keyed(name string, err error) error {
	key, msg, ok := strings.Cut(err.Error(), ": ")
	if !ok {
		return err
	}
	return confkey.Errorf(confkey.Join(key, name), "%s", msg)
}
