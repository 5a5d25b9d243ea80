package sinks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveSecret(t *testing.T) {
	// Not parallel: it sets environment variables.
	const secret = "s3cr3t-value"
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WEFT_TEST_SECRET", secret)
	t.Setenv("WEFT_TEST_BLANK", "  ")

	tests := []struct {
		name             string
		value, env, file string
		want             string
		wantErr          string
	}{
		{name: "none", want: ""},
		{name: "inline", value: secret, want: secret},
		{name: "env", env: "WEFT_TEST_SECRET", want: secret},
		{name: "file trims newline", file: file, want: secret},
		{name: "two sources", value: secret, env: "WEFT_TEST_SECRET", wantErr: "set only one of url, url_env, url_file"},
		{name: "env unset", env: "WEFT_TEST_UNSET_VARIABLE", wantErr: "url_env: environment variable WEFT_TEST_UNSET_VARIABLE is not set"},
		{name: "env blank", env: "WEFT_TEST_BLANK", wantErr: "WEFT_TEST_BLANK is not set or empty"},
		{name: "file missing", file: filepath.Join(dir, "nope"), wantErr: "url_file: open " + filepath.Join(dir, "nope")},
		{name: "file empty", file: empty, wantErr: "url_file: " + empty + " is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveSecret("url", tt.value, tt.env, tt.file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error reveals the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://hooks.slack.com/services/T000/B000/XXXXSECRET", "https://hooks.slack.com"},
		{"https://user:pass@example.com:8443/hook?token=abc", "https://example.com:8443"},
		{"http://[::1]:9000/x", "http://[::1]:9000"},
		{"not a url at all", "<redacted url>"},
		{"https://%zz/secret", "<redacted url>"},
		{"", "<redacted url>"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
