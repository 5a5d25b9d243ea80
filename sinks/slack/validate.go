package slack

import (
	"errors"
	"net/url"

	"github.com/weft-dev/weft/internal/confkey"
	"github.com/weft-dev/weft/sinks"
)

// Validate reports every problem New would stop on, each with its key
// (confkey): the webhook URL missing, given twice, unset in its variable
// or not https, a negative timeout, an unreadable ca_file. It reads the
// variable or file the URL comes from and connects to nothing.
func (c Config) Validate() error {
	var errs []error
	target, err := sinks.CheckSecret("url", c.URL, c.URLEnv, c.URLFile)
	key := "url"
	switch {
	case c.URLEnv != "":
		key = "url_env"
	case c.URLFile != "":
		key = "url_file"
	}
	switch {
	case err != nil:
		errs = append(errs, err)
	case target == "":
		errs = append(errs, confkey.Errorf("url", "is required (url, url_env or url_file)"))
	default:
		u, err := url.Parse(target)
		switch {
		case err != nil:
			errs = append(errs, confkey.Errorf(key, "is not a valid URL"))
		case u.Scheme != "https" || u.Host == "":
			errs = append(errs, confkey.Errorf(key, "must be an https URL (Slack's incoming webhook), got %s", sinks.RedactURL(target)))
		}
	}
	errs = append(errs, c.HTTPOptions.Validate())
	return errors.Join(errs...)
}
