package normalizer

import (
	"reflect"
	"strings"
	"testing"
)

func TestCommandLineToArgv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cmd  string
		want []string
	}{
		{`a b c`, []string{"a", "b", "c"}},
		{"  a \t  b  ", []string{"a", "b"}},
		{`"C:\Program Files\App\app.exe" -k netsvcs`, []string{`C:\Program Files\App\app.exe`, "-k", "netsvcs"}},
		// Backslashes not followed by a quote are literal.
		{`C:\Windows\system32\svchost.exe \\server\share\ a\`, []string{`C:\Windows\system32\svchost.exe`, `\\server\share\`, `a\`}},
		// 2n backslashes and a quote: n backslashes, the quote toggles quoting.
		{`a\\"b c"`, []string{`a\b c`}},
		// 2n+1 backslashes and a quote: n backslashes and a literal quote.
		{`"a\"b"`, []string{`a"b`}},
		{`a\\\"b`, []string{`a\"b`}},
		{`powershell -c "echo \"hi there\""`, []string{"powershell", "-c", `echo "hi there"`}},
		// A doubled quote inside quotes is a literal quote and ends quoting,
		// so the next quote opens it again.
		{`"a""b" c`, []string{`a"b c`}},
		{`"a""b c"`, []string{`a"b`, `c`}},
		// Quoting can start and stop within one argument.
		{`"a"b"c d"`, []string{"abc d"}},
		{`"" x ""`, []string{"", "x", ""}},
		{`"unterminated arg`, []string{"unterminated arg"}},
		{`"ends in slashes\\"`, []string{`ends in slashes\`}},
		{"   ", []string{}},
		{"", []string{}},
		{`naïve "ünïcode arg"`, []string{"naïve", "ünïcode arg"}},
	}
	for _, tt := range tests {
		if got := commandLineToArgv([]string{}, tt.cmd); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("commandLineToArgv(%q) = %q, want %q", tt.cmd, got, tt.want)
		}
	}
}

// referenceArgv is a literal transcription of the pipeline's painless
// script, character by character with a string builder; commandLineToArgv
// avoids copies and must agree with it on every input.
func referenceArgv(cmd string) []string {
	args := []string{}
	for len(cmd) > 0 {
		if cmd[0] == ' ' || cmd[0] == '\t' {
			cmd = cmd[1:]
			continue
		}
		var b []byte
		inQuote, nSlash := false, 0
		slashes := func(n int) {
			for ; n > 0; n-- {
				b = append(b, '\\')
			}
		}
		rest := ""
		done := false
		for ; len(cmd) > 0 && !done; cmd = cmd[1:] {
			c := cmd[0]
			switch {
			case c == ' ' || c == '\t':
				if !inQuote {
					slashes(nSlash)
					nSlash = 0
					rest, done = cmd[1:], true
					continue
				}
			case c == '"':
				slashes(nSlash / 2)
				if nSlash%2 == 0 {
					if inQuote && len(cmd) > 1 && cmd[1] == '"' {
						b = append(b, c)
						cmd = cmd[1:]
					}
					inQuote = !inQuote
				} else {
					b = append(b, c)
				}
				nSlash = 0
				continue
			case c == '\\':
				nSlash++
				continue
			}
			slashes(nSlash)
			nSlash = 0
			b = append(b, c)
		}
		if done {
			// The loop advanced cmd once more after the separator.
			cmd = rest
		} else {
			slashes(nSlash)
		}
		args = append(args, string(b))
	}
	return args
}

func FuzzCommandLineToArgv(f *testing.F) {
	for _, s := range []string{`a "b c" d`, `a\\"b`, `"a""b"`, `x\\\"y z\`, "\t\"\"\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		if got, want := commandLineToArgv([]string{}, cmd), referenceArgv(cmd); !reflect.DeepEqual(got, want) {
			t.Errorf("commandLineToArgv(%q) = %q, reference %q", cmd, got, want)
		}
	})
}

// TestCommandLineMatchesReference runs the comparison on every string of up
// to seven characters over the alphabet that matters.
func TestCommandLineMatchesReference(t *testing.T) {
	t.Parallel()
	const alphabet = "a \t\"\\"
	var gen func(prefix string, depth int)
	gen = func(prefix string, depth int) {
		if got, want := commandLineToArgv([]string{}, prefix), referenceArgv(prefix); !reflect.DeepEqual(got, want) {
			t.Fatalf("commandLineToArgv(%q) = %q, reference %q", prefix, got, want)
		}
		if depth == 0 {
			return
		}
		for i := 0; i < len(alphabet); i++ {
			gen(prefix+alphabet[i:i+1], depth-1)
		}
	}
	gen("", 7)
}

func TestIndexArgEnd(t *testing.T) {
	t.Parallel()
	// Every position of every stop byte, among bytes that are near them
	// (0x00, 0x80-0xff, bytes one off a stop) in strings of up to 40 bytes.
	fill := "\x00\x1f!#\x08\x0a\x80\xa0\xffabc"
	for n := 0; n <= 40; n++ {
		base := []byte(strings.Repeat(fill, 5)[:n])
		if got, want := indexArgEnd(string(base)), strings.IndexAny(string(base), " \t\""); got != want {
			t.Fatalf("indexArgEnd(%q) = %d, want %d", base, got, want)
		}
		for at := 0; at < n; at++ {
			for _, stop := range []byte{' ', '\t', '"'} {
				b := append([]byte(nil), base...)
				b[at] = stop
				if got, want := indexArgEnd(string(b)), strings.IndexAny(string(b), " \t\""); got != want {
					t.Fatalf("indexArgEnd(%q) = %d, want %d", b, got, want)
				}
			}
		}
	}
}
