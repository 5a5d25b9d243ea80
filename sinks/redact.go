package sinks

import "net/url"

// RedactURL returns only the scheme and host of a URL, for error messages
// and logs: webhook URLs carry their credentials in the path, query or
// user info (a Slack incoming-webhook URL is itself the secret).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "<redacted url>"
	}
	return u.Scheme + "://" + u.Host
}
