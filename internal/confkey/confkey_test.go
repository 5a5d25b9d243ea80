package confkey

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"1048576", 1048576, ""},
		{"0", 0, ""},
		{"1MB", 1000000, ""},
		{"1MiB", 1 << 20, ""},
		{"512KiB", 512 << 10, ""},
		{"512 kib", 512 << 10, ""},
		{"1.5MiB", 3 << 19, ""},
		{"64B", 64, ""},
		{"2GiB", 2 << 30, ""},
		{"-1", -1, ""},
		{"1_000", 1000, ""},
		{"eight", 0, "is not a size"},
		{"1XB", 0, "is not a size"},
		{"MB", 0, "is not a size"},
		{"1.3B", 0, "not a whole number"},
		{"9000000TiB", 0, "too large"},
	} {
		got, err := ParseSize(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseSize(%q) = %d, %v; want an error saying %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"5s", 5 * time.Second, ""},
		{"1m30s", 90 * time.Second, ""},
		{"0", 0, ""},
		{"30", 0, `"30" has no unit: write it as 30s`},
		{"soon", 0, "is not a duration"},
		{"5 s", 0, "is not a duration"},
	} {
		got, err := ParseDuration(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseDuration(%q) = %v, %v; want an error saying %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestUnderAndList(t *testing.T) {
	t.Parallel()
	err := errors.Join(Errorf("url", "is required"), errors.Join(Errorf("[2]", "empty"), errors.New("plain")))
	got := List(Under("sinks[1]", err))
	want := []string{"sinks[1].url: is required", "sinks[1][2]: empty", "sinks[1]: plain"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].Error() != want[i] {
			t.Errorf("problem %d: %q, want %q", i, got[i].Error(), want[i])
		}
	}
	if Under("x", nil) != nil || List(nil) != nil {
		t.Error("no error should stay none")
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{{"url", "ulr", 1}, {"url", "url", 0}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"latenss", "lateness", 1}} {
		if got := EditDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	known := []string{"slack", "syslog", "jsonl", "webhook"}
	for in, want := range map[string]string{"slak": "slack", "sylog": "syslog", "ftp": "", "json": "jsonl", "WEBHOK": "webhook", "x": ""} {
		if got := Suggest(in, known); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
